/**
 * The output columns of a model, read from its compiled query without a database, so that a test
 * naming a column the model does not have fails compile at the test's line instead of at run time.
 *
 * Best effort by design: it reads the outermost SELECT list (after any WITH), and a column is
 * named by `AS name` or by a trailing column reference (`e.user_id` → user_id). When any item's
 * name cannot be known that way (`*`, an unaliased expression), the answer is undefined and the
 * check is left to the database, which names the test's file:line when the query fails.
 */
import { codeOnly, unquoteIdentifier } from '../../shared/sql-scan.ts';

const WORD = /[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*"/y;

/** Column names of the query `body` (a view's SQL after its CREATE head), or undefined. */
export function outputColumns(body: string): string[] | undefined {
  const code = codeOnly(body);
  const selectAt = topLevelKeyword(code, 'SELECT', 0);
  if (selectAt === -1) return undefined;
  let start = selectAt + 'SELECT'.length;
  const distinct = /^\s+DISTINCT\b/i.exec(code.slice(start));
  if (distinct) {
    start += distinct[0].length;
    const on = /^\s+ON\s*\(/i.exec(code.slice(start));
    if (on) start = closingParen(code, start + on[0].length - 1) + 1;
  }
  const fromAt = topLevelKeyword(code, 'FROM', start);
  const list = code.slice(start, fromAt === -1 ? firstTopLevelClause(code, start) : fromAt);
  const names: string[] = [];
  for (const item of splitTopLevel(list, ',')) {
    const name = itemName(item.trim());
    if (name === undefined) return undefined;
    names.push(name);
  }
  return names.length ? names : undefined;
}

function itemName(item: string): string | undefined {
  const alias = /\bAS\s+([A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*")\s*$/i.exec(item);
  if (alias) return unquoteIdentifier(alias[1]!);
  // A bare column reference, possibly qualified: its last part names the column.
  const reference = /^(?:(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*")\s*\.\s*)*([A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*")$/.exec(item);
  if (reference && !/^\*$/.test(reference[1]!)) return unquoteIdentifier(reference[1]!);
  return undefined;
}

/** Offset of `keyword` at parenthesis depth 0 from `from`, or -1. */
function topLevelKeyword(code: string, keyword: string, from: number): number {
  let depth = 0;
  for (let index = from; index < code.length; index++) {
    const char = code[index]!;
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '"') {
      index = code.indexOf('"', index + 1);
      if (index === -1) return -1;
    } else if (depth === 0 && /[A-Za-z_]/.test(char) && !/[A-Za-z0-9_$.]/.test(code[index - 1] ?? ' ')) {
      WORD.lastIndex = index;
      const word = WORD.exec(code)![0];
      if (word.toUpperCase() === keyword) return index;
      index += word.length - 1;
    }
  }
  return -1;
}

/** Where a SELECT without FROM ends: its first top-level WHERE/GROUP/ORDER/LIMIT/UNION…, or the end. */
function firstTopLevelClause(code: string, from: number): number {
  let end = code.length;
  for (const keyword of ['WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'UNION', 'EXCEPT', 'INTERSECT']) {
    const at = topLevelKeyword(code, keyword, from);
    if (at !== -1 && at < end) end = at;
  }
  return end;
}

function closingParen(code: string, open: number): number {
  let depth = 0;
  for (let index = open; index < code.length; index++) {
    if (code[index] === '(') depth++;
    else if (code[index] === ')' && --depth === 0) return index;
  }
  return code.length;
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char === '"') quoted = !quoted;
    if (quoted) continue;
    if (char === '(' || char === '[') depth++;
    else if (char === ')' || char === ']') depth--;
    else if (char === separator && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
