/**
 * Just enough SQL lexing to reason about a model body without a database: blank out string
 * literals, dollar-quoted strings and comments (keeping offsets and newlines), so that searches
 * for keywords and semicolons only see code. Quoted identifiers are kept: names live there.
 */

const SPECIAL = /--|\/\*|['"$]/g;

/** `sql` with every comment and string literal replaced by spaces (newlines kept). */
export function codeOnly(sql: string): string {
  let output = '';
  let copiedUpTo = 0;
  SPECIAL.lastIndex = 0;
  for (let match = SPECIAL.exec(sql); match; match = SPECIAL.exec(sql)) {
    const start = match.index;
    let end: number;
    let keep = false;
    switch (match[0]) {
      case '--': {
        const newline = sql.indexOf('\n', start);
        end = newline === -1 ? sql.length : newline;
        break;
      }
      case '/*':
        end = skipBlockComment(sql, start);
        break;
      case "'":
        end = skipQuoted(sql, start, "'");
        break;
      case '"':
        // Quoted identifier: kept verbatim, skipped as a unit so quotes inside cannot confuse us.
        end = skipQuoted(sql, start, '"');
        keep = true;
        break;
      default: {
        // `$tag$ … $tag$`, but not a `$1` parameter nor a `$` inside an identifier.
        const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64));
        if (!tag || /[A-Za-z0-9_]/.test(sql[start - 1] ?? '')) {
          end = start + 1;
          keep = true;
        } else {
          const close = sql.indexOf(tag[0], start + tag[0].length);
          end = close === -1 ? sql.length : close + tag[0].length;
        }
      }
    }
    output += sql.slice(copiedUpTo, start) + (keep ? sql.slice(start, end) : blank(sql.slice(start, end)));
    copiedUpTo = end;
    SPECIAL.lastIndex = end;
  }
  return output + sql.slice(copiedUpTo);
}

function skipBlockComment(sql: string, start: number): number {
  return blockCommentEnd(sql, start) ?? sql.length;
}

/** Offset just past the block comment starting at `start`, or undefined if it is unterminated. */
export function blockCommentEnd(sql: string, start: number): number | undefined {
  // PostgreSQL block comments nest.
  let depth = 0;
  let index = start;
  while (index < sql.length) {
    if (sql.startsWith('/*', index)) {
      depth++;
      index += 2;
    } else if (sql.startsWith('*/', index)) {
      depth--;
      index += 2;
      if (depth === 0) return index;
    } else {
      index++;
    }
  }
  return undefined;
}

function skipQuoted(sql: string, start: number, quote: string): number {
  let index = start + 1;
  while (index < sql.length) {
    if (sql[index] === quote) {
      if (sql[index + 1] === quote) {
        index += 2;
        continue;
      }
      return index + 1;
    }
    index++;
  }
  return sql.length;
}

/** Spaces of the same length, newlines kept (so offsets and line numbers stay valid). */
function blank(text: string): string {
  if (!text.includes('\n')) return ' '.repeat(text.length);
  return text
    .split('\n')
    .map((line) => ' '.repeat(line.length))
    .join('\n');
}

/**
 * `sql` from its first character of code on: leading whitespace and comments skipped. Cheaper
 * than `codeOnly` when only the first keyword matters.
 */
export function leadingCode(sql: string): string {
  let index = 0;
  for (;;) {
    while (index < sql.length && /\s/.test(sql[index]!)) index++;
    if (sql.startsWith('--', index)) {
      const newline = sql.indexOf('\n', index);
      if (newline === -1) return '';
      index = newline + 1;
    } else if (sql.startsWith('/*', index)) {
      index = skipBlockComment(sql, index);
    } else {
      return sql.slice(index);
    }
  }
}

const NAME_PART = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED_NAME = String.raw`${NAME_PART}(?:\s*\.\s*${NAME_PART})*`;
const OBJECT_REFERENCE = new RegExp(String.raw`\b(SECRET|CONNECTION)\s+(${QUALIFIED_NAME})`, 'gi');

/** Names of secrets and connections a body uses (`SECRET x`, `CONNECTION x`), unqualified. */
export function referencedSecretsAndConnections(code: string): { secrets: string[]; connections: string[] } {
  const secrets: string[] = [];
  const connections: string[] = [];
  for (const match of code.matchAll(OBJECT_REFERENCE)) {
    const parts = match[2]!.split(/\s*\.\s*/);
    const last = unquoteIdentifier(parts[parts.length - 1]!);
    (match[1]!.toUpperCase() === 'SECRET' ? secrets : connections).push(last);
  }
  return { secrets, connections };
}

export function unquoteIdentifier(part: string): string {
  return part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase();
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Offset of the first `;` in code that is followed by more code, or -1. */
export function statementSeparator(code: string): number {
  const trimmed = code.trimEnd().replace(/;\s*$/, '');
  return trimmed.indexOf(';');
}
