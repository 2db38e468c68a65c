/**
 * A SQL tokenizer for the statements the local server inspects: enough of PostgreSQL's lexical rules
 * (quoted identifiers, '' and E'' strings, dollar quoting, nested block comments, parameters) that a
 * statement can be split, recognised by its keywords, and have parts of its source text reused
 * verbatim. Offsets point into the original text.
 */
import { blockCommentEnd } from '../../shared/sql-scan.ts';

export type TokenType = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'operator' | 'punct';

export interface Token {
  type: TokenType;
  /** Words lower-cased, quoted identifiers unquoted, strings unescaped; operators and punctuation as written. */
  value: string;
  start: number;
  end: number;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const length = sql.length;
  while (index < length) {
    const char = sql[index]!;
    if (char === ' ' || char === '\n' || char === '\t' || char === '\r' || char === '\f') {
      index++;
      continue;
    }
    if (char === '-' && sql[index + 1] === '-') {
      const newline = sql.indexOf('\n', index);
      index = newline === -1 ? length : newline + 1;
      continue;
    }
    if (char === '/' && sql[index + 1] === '*') {
      index = skipBlockComment(sql, index);
      continue;
    }
    const start = index;
    if ((char === 'E' || char === 'e') && sql[index + 1] === "'") {
      const { value, end } = readEscapedString(sql, index + 1);
      tokens.push({ type: 'string', value, start, end });
      index = end;
      continue;
    }
    if (WORD_START.test(char)) {
      index++;
      while (index < length && WORD_PART.test(sql[index]!)) index++;
      tokens.push({ type: 'word', value: sql.slice(start, index).toLowerCase(), start, end: index });
      continue;
    }
    if (char === '"') {
      const { value, end } = readQuoted(sql, index, '"');
      if (value === '') throw new SqlSyntaxError('zero-length delimited identifier', start);
      tokens.push({ type: 'quoted', value, start, end });
      index = end;
      continue;
    }
    if (char === "'") {
      const { value, end } = readQuoted(sql, index, "'");
      tokens.push({ type: 'string', value, start, end });
      index = end;
      continue;
    }
    if (char === '$') {
      const param = /^\$(\d+)/.exec(sql.slice(index, index + 12));
      if (param) {
        index += param[0].length;
        tokens.push({ type: 'param', value: param[0], start, end: index });
        continue;
      }
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(index, index + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], index + tag[0].length);
        if (close === -1) throw new SqlSyntaxError('unterminated dollar-quoted string', start);
        tokens.push({ type: 'string', value: sql.slice(index + tag[0].length, close), start, end: close + tag[0].length });
        index = close + tag[0].length;
        continue;
      }
    }
    if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(sql[index + 1] ?? ''))) {
      const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(index))!;
      index += number[0].length;
      tokens.push({ type: 'number', value: number[0], start, end: index });
      continue;
    }
    if ('(),;[].:'.includes(char)) {
      // `::` is a cast operator, not two colons.
      if (char === ':' && sql[index + 1] === ':') {
        tokens.push({ type: 'operator', value: '::', start, end: index + 2 });
        index += 2;
        continue;
      }
      tokens.push({ type: 'punct', value: char, start, end: index + 1 });
      index++;
      continue;
    }
    if (OPERATOR_CHARS.includes(char)) {
      index++;
      while (index < length && OPERATOR_CHARS.includes(sql[index]!) && !sql.startsWith('--', index) && !sql.startsWith('/*', index)) {
        index++;
      }
      tokens.push({ type: 'operator', value: sql.slice(start, index), start, end: index });
      continue;
    }
    throw new SqlSyntaxError(`unexpected character ${JSON.stringify(char)}`, start);
  }
  return tokens;
}

function skipBlockComment(sql: string, start: number): number {
  const end = blockCommentEnd(sql, start);
  if (end === undefined) throw new SqlSyntaxError('unterminated /* comment', start);
  return end;
}

function readQuoted(sql: string, start: number, quote: string): { value: string; end: number } {
  let value = '';
  let index = start + 1;
  for (;;) {
    const next = sql.indexOf(quote, index);
    if (next === -1) {
      throw new SqlSyntaxError(quote === '"' ? 'unterminated quoted identifier' : 'unterminated quoted string', start);
    }
    value += sql.slice(index, next);
    if (sql[next + 1] === quote) {
      value += quote;
      index = next + 2;
      continue;
    }
    return { value, end: next + 1 };
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function readEscapedString(sql: string, quoteIndex: number): { value: string; end: number } {
  let value = '';
  let index = quoteIndex + 1;
  while (index < sql.length) {
    const char = sql[index]!;
    if (char === "'") {
      if (sql[index + 1] === "'") {
        value += "'";
        index += 2;
        continue;
      }
      return { value, end: index + 1 };
    }
    if (char === '\\') {
      const next = sql[index + 1] ?? '';
      const unicode = /^(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{1,2})|([0-7]{1,3}))/.exec(sql.slice(index + 1, index + 10));
      if (unicode) {
        const code = parseInt(unicode[1] ?? unicode[2] ?? unicode[3] ?? unicode[4]!, unicode[4] ? 8 : 16);
        value += String.fromCodePoint(code);
        index += 1 + unicode[0].length;
        continue;
      }
      value += SIMPLE_ESCAPES[next] ?? next;
      index += 2;
      continue;
    }
    value += char;
    index++;
  }
  throw new SqlSyntaxError('unterminated quoted string', quoteIndex);
}

/** The statements of a query string: each one's tokens and source span (without the `;`). */
export interface StatementSpan {
  tokens: Token[];
  start: number;
  end: number;
}

export function splitStatements(sql: string, tokens: Token[] = tokenize(sql)): StatementSpan[] {
  const statements: StatementSpan[] = [];
  let current: Token[] = [];
  for (const token of tokens) {
    if (token.type === 'punct' && token.value === ';') {
      if (current.length > 0) statements.push(span(current));
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) statements.push(span(current));
  return statements;
}

function span(tokens: Token[]): StatementSpan {
  return { tokens, start: tokens[0]!.start, end: tokens[tokens.length - 1]!.end };
}

/** A string as a standard SQL literal ('' doubled), safe with standard_conforming_strings on. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A replacement of part of a statement's source text. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** The statement's text with `edits` (non-overlapping, any order) applied. */
export function applyEdits(statement: StatementSpan, sql: string, edits: readonly TextEdit[]): string {
  let out = '';
  let at = statement.start;
  // An insertion sorts before a replacement that starts where it does (`(` then `ARRAY`).
  for (const edit of [...edits].sort((a, b) => a.start - b.start || a.end - b.end)) {
    out += sql.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + sql.slice(at, statement.end);
}
