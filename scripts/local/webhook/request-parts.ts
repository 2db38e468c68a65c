/**
 * Turning an HTTP request into what a webhook source stores, with Materialize's rules
 * (MaterializeInc/materialize src/environmentd/src/http/webhook.rs, and DESIGN.md):
 * - header names lower-cased; a value that is not visible ASCII is left out (http's to_str);
 *   a name that appears twice is an error (401);
 * - TEXT must be UTF-8; JSON is a stream of JSON values, one row each; JSON ARRAY expands each
 *   top-level array one level; BYTES is stored as received.
 */
import { isUtf8 } from 'node:buffer';
import type { BodyFormat } from '../sql/mz-statements.ts';

export class RequestPartError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const VISIBLE_ASCII = /^[\t\x20-\x7e]*$/;

/** Request headers as Materialize sees them. `rawHeaders` alternates names and values. */
export function collectHeaders(rawHeaders: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const value = rawHeaders[index + 1]!;
    if (!VISIBLE_ASCII.test(value)) continue;
    const name = rawHeaders[index]!.toLowerCase();
    if (headers.has(name)) {
      throw new RequestPartError(401, `headers of request were invalid: ${name} provided more than once`);
    }
    headers.set(name, value);
  }
  return headers;
}

/** The headers column's content: every header, or only the allowed / not blocked ones. */
export function filterHeaders(
  headers: Map<string, string>,
  filter: { allow: string[]; block: string[] },
): Map<string, string> {
  if (filter.allow.length === 0 && filter.block.length === 0) return headers;
  const filtered = new Map<string, string>();
  for (const [name, value] of headers) {
    if (filter.block.length > 0 && filter.block.includes(name)) continue;
    if (filter.allow.length > 0 && !filter.allow.includes(name)) continue;
    filtered.set(name, value);
  }
  return filtered;
}

/** hstore's text input form: "key"=>"value", with `"` and `\` escaped. */
export function hstoreLiteral(headers: Map<string, string>): string {
  const parts: string[] = [];
  for (const [name, value] of headers) parts.push(`${hstoreQuote(name)}=>${hstoreQuote(value)}`);
  return parts.join(',');
}

function hstoreQuote(text: string): string {
  return `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

export type BodyRows =
  | {
      kind: 'json';
      /** A JSON array text holding one element per row; null when that is the body itself. */
      arrayText: string | null;
      count: number;
    }
  | { kind: 'text'; text: string }
  | { kind: 'bytes' };

/** The rows a body becomes under a BODY FORMAT, or a 400 with Materialize's wording. */
export function bodyRows(body: Buffer, format: BodyFormat): BodyRows {
  if (format === 'bytes') return { kind: 'bytes' };
  if (!isUtf8(body)) {
    const type = format === 'text' ? 'String' : 'Jsonb';
    throw new RequestPartError(400, `failed to deserialize body as ${type}: invalid utf-8 sequence`);
  }
  const text = body.toString('utf8');
  if (format === 'text') return { kind: 'text', text };
  return jsonRows(text, format === 'json_array');
}

function jsonRows(text: string, expandArrays: boolean): BodyRows {
  // The common case, one JSON document: validated by the fast native parser.
  let single: unknown;
  let singleOk = false;
  try {
    single = JSON.parse(text);
    singleOk = true;
  } catch {
    // Maybe a stream of several values (NDJSON), or invalid.
  }
  if (singleOk) {
    if (expandArrays && Array.isArray(single)) return { kind: 'json', arrayText: null, count: single.length };
    return { kind: 'json', arrayText: `[${text}]`, count: 1 };
  }
  const values = splitJsonStream(text);
  const rows: string[] = [];
  let count = 0;
  for (const value of values) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.text);
    } catch (error) {
      throw new RequestPartError(400, `failed to deserialize body as Jsonb: ${jsonErrorAt(text, value.start, error)}`);
    }
    if (expandArrays && Array.isArray(parsed)) {
      if (parsed.length > 0) rows.push(value.text.trim().slice(1, -1));
      count += parsed.length;
    } else {
      rows.push(value.text);
      count += 1;
    }
  }
  return { kind: 'json', arrayText: `[${rows.join(',')}]`, count };
}

function jsonErrorAt(text: string, start: number, error: unknown): string {
  const before = text.slice(0, start);
  const line = before.split('\n').length;
  const column = start - before.lastIndexOf('\n');
  return `${(error as Error).message} (value starting at line ${line} column ${column})`;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/**
 * Splits a stream of concatenated JSON values into each value's text. Only finds boundaries;
 * JSON.parse validates each piece afterwards.
 */
export function splitJsonStream(text: string): Array<{ text: string; start: number }> {
  const values: Array<{ text: string; start: number }> = [];
  let index = 0;
  while (index < text.length) {
    while (index < text.length && WHITESPACE.has(text[index]!)) index++;
    if (index >= text.length) break;
    const start = index;
    const first = text[index]!;
    if (first === '{' || first === '[') {
      let depth = 0;
      let inString = false;
      for (; index < text.length; index++) {
        const char = text[index]!;
        if (inString) {
          if (char === '\\') index++;
          else if (char === '"') inString = false;
          continue;
        }
        if (char === '"') inString = true;
        else if (char === '{' || char === '[') depth++;
        else if (char === '}' || char === ']') {
          depth--;
          if (depth === 0) {
            index++;
            break;
          }
        }
      }
    } else if (first === '"') {
      for (index++; index < text.length; index++) {
        const char = text[index]!;
        if (char === '\\') index++;
        else if (char === '"') {
          index++;
          break;
        }
      }
    } else {
      // A number or a literal runs to the next whitespace or structural character.
      while (index < text.length && !WHITESPACE.has(text[index]!) && !'{["'.includes(text[index]!)) index++;
      if (index === start) index++;
    }
    values.push({ text: text.slice(start, index), start });
  }
  return values;
}
