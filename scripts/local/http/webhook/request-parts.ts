/**
 * Turning an HTTP request into what a webhook source stores, with Materialize's rules
 * (MaterializeInc/materialize src/environmentd/src/http/webhook.rs, and DESIGN.md):
 * - header names lower-cased; a value that is not visible ASCII is left out (http's to_str);
 *   a name that appears twice is an error (401);
 * - TEXT must be UTF-8; JSON is a stream of JSON values, one row each; JSON ARRAY expands each
 *   top-level array one level; BYTES is stored as received.
 */
import { isUtf8 } from 'node:buffer';
import type { BodyFormat } from '../../sql/mz-statements.ts';
import { JsonScanError, scanJsonStream, type JsonValueSpan } from '../../sql/json-scan.ts';
import { badBodyReason } from './rejection-reasons.ts';

export class RequestPartError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The same in words for the console's request log (rejection-reasons.ts). */
    readonly reason: string = message,
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
      throw new RequestPartError(401, `headers of request were invalid: ${name} provided more than once`, `header '${name}' sent more than once: send each header once`);
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
      /**
       * The body is one JSON document: true when its rows are that document wrapped in an array,
       * false when the document is the array of rows. Undefined for a stream of documents.
       */
      wrap?: boolean;
    }
  | { kind: 'text'; text: string }
  | { kind: 'bytes' };

/** The rows a body becomes under a BODY FORMAT, or a 400 with Materialize's wording. */
export function bodyRows(body: Buffer, format: BodyFormat): BodyRows {
  if (format === 'bytes') return { kind: 'bytes' };
  if (!isUtf8(body)) {
    const type = format === 'text' ? 'String' : 'Jsonb';
    throw new RequestPartError(400, `failed to deserialize body as ${type}: invalid utf-8 sequence`, 'body is not valid UTF-8: send text as UTF-8, or use BODY FORMAT BYTES');
  }
  const text = body.toString('utf8');
  if (format === 'text') return { kind: 'text', text };
  return jsonRows(text, format === 'json_array');
}

/**
 * JSON and JSON ARRAY bodies: validated (and measured) by scanJsonStream, as Materialize's
 * serde_json would read them, before any of it reaches the engine.
 */
function jsonRows(text: string, expandArrays: boolean): BodyRows {
  let values: JsonValueSpan[];
  try {
    values = scanJsonStream(text);
  } catch (error) {
    if (error instanceof JsonScanError) {
      const message = `failed to deserialize body as Jsonb: ${error.message}`;
      throw new RequestPartError(400, message, badBodyReason(message, error.byteOffset));
    }
    throw error;
  }
  // The common case, one document: the body itself is the array of rows (or becomes one).
  if (values.length === 1) {
    const [value] = values;
    if (expandArrays && value!.arrayElements >= 0) return { kind: 'json', arrayText: value!.start === 0 && value!.end === text.length ? null : text.slice(value!.start, value!.end), count: value!.arrayElements, wrap: false };
    return { kind: 'json', arrayText: `[${text.slice(value!.start, value!.end)}]`, count: 1, wrap: true };
  }
  const rows: string[] = [];
  let count = 0;
  for (const value of values) {
    const valueText = text.slice(value.start, value.end);
    if (expandArrays && value.arrayElements >= 0) {
      if (value.arrayElements > 0) rows.push(valueText.slice(1, -1));
      count += value.arrayElements;
    } else {
      rows.push(valueText);
      count += 1;
    }
  }
  return { kind: 'json', arrayText: `[${rows.join(',')}]`, count };
}
