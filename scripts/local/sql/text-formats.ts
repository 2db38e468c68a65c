/**
 * Values in Materialize's text format where it differs from PostgreSQL's (DESIGN.md, "Text formats"):
 *
 * - jsonb: compact (no spaces), object keys sorted bytewise (PostgreSQL sorts shorter keys first),
 *   numbers as Materialize's numeric prints them (`1.0` → `1`, `2.50` → `2.5`).
 * - numeric: every trailing zero trimmed, whatever the scale (`1.50` → `1.5`, `2.00` → `2`).
 * - interval: months spelled out (`1 month`, `2 months`), where PostgreSQL writes `mon`/`mons`.
 * - map (hstore here): `{a=>1,b=>"two words"}` — braces, keys sorted bytewise, an element quoted
 *   only when it must be (empty, blank, special characters, or the word NULL), NULL bare.
 *
 * Both take PostgreSQL's output text and never reparse numbers into doubles, so nothing is lost.
 */

/** PostgreSQL's jsonb output → Materialize's. One pass; objects re-sorted only when out of order. */
export function materializeJsonText(text: string): string {
  const cursor = { index: 0 };
  return formatValue(text, cursor);
}

const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

function skipSpace(text: string, cursor: { index: number }): void {
  let index = cursor.index;
  for (let char = text.charCodeAt(index); char === SPACE || char === 10 || char === 9 || char === 13; char = text.charCodeAt(++index));
  cursor.index = index;
}

function formatValue(text: string, cursor: { index: number }): string {
  skipSpace(text, cursor);
  const char = text.charCodeAt(cursor.index);
  if (char === OPEN_BRACE) return formatObject(text, cursor);
  if (char === OPEN_BRACKET) {
    cursor.index++;
    skipSpace(text, cursor);
    if (text.charCodeAt(cursor.index) === CLOSE_BRACKET) {
      cursor.index++;
      return '[]';
    }
    let out = '[';
    for (;;) {
      out += formatValue(text, cursor);
      skipSpace(text, cursor);
      if (text.charCodeAt(cursor.index++) === CLOSE_BRACKET) return `${out}]`;
      out += ',';
    }
  }
  if (char === QUOTE) return readString(text, cursor);
  const start = cursor.index;
  let index = start;
  for (let next = text.charCodeAt(index); index < text.length && next !== COMMA && next !== CLOSE_BRACKET && next !== CLOSE_BRACE && next !== SPACE; next = text.charCodeAt(++index));
  cursor.index = index;
  const token = text.slice(start, index);
  return token.indexOf('.') === -1 ? token : normalizeNumber(token);
}

function formatObject(text: string, cursor: { index: number }): string {
  cursor.index++;
  skipSpace(text, cursor);
  if (text.charCodeAt(cursor.index) === CLOSE_BRACE) {
    cursor.index++;
    return '{}';
  }
  const keys: string[] = [];
  const values: string[] = [];
  let sorted = true;
  for (;;) {
    skipSpace(text, cursor);
    const key = readString(text, cursor);
    skipSpace(text, cursor);
    cursor.index++; // ':'
    values.push(formatValue(text, cursor));
    if (keys.length > 0 && compareKeys(keys[keys.length - 1]!, key) > 0) sorted = false;
    keys.push(key);
    skipSpace(text, cursor);
    if (text.charCodeAt(cursor.index++) === CLOSE_BRACE) break;
  }
  let out = '{';
  if (sorted) {
    for (let index = 0; index < keys.length; index++) out += `${index > 0 ? ',' : ''}${keys[index]}:${values[index]}`;
    return `${out}}`;
  }
  const order = keys.map((_, index) => index).sort((a, b) => compareKeys(keys[a]!, keys[b]!));
  for (let position = 0; position < order.length; position++) {
    const index = order[position]!;
    out += `${position > 0 ? ',' : ''}${keys[index]}:${values[index]}`;
  }
  return `${out}}`;
}

/** A string token, quotes and escapes kept as they are (both sides escape alike). */
function readString(text: string, cursor: { index: number }): string {
  const start = cursor.index;
  let index = start + 1;
  for (;;) {
    const next = text.indexOf('"', index);
    if (next === -1) {
      index = text.length;
      break;
    }
    // Count the backslashes before the quote: an odd number escapes it.
    let slashes = 0;
    for (let back = next - 1; text.charCodeAt(back) === 92; back--) slashes++;
    index = next + 1;
    if (slashes % 2 === 0) break;
  }
  cursor.index = index;
  return text.slice(start, index);
}

/** Keys as written (quoted, escaped) compared by their decoded UTF-8 bytes, without copying them. */
function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length) - 1;
  for (let index = 1; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left === right) {
      if (left === 92) return compareBytewise(JSON.parse(a) as string, JSON.parse(b) as string);
      continue;
    }
    if (left === 92 || right === 92) return compareBytewise(JSON.parse(a) as string, JSON.parse(b) as string);
    // The closing quote sorts before any character: a key that is a prefix of another comes first.
    if (left === QUOTE && index === a.length - 1) return -1;
    if (right === QUOTE && index === b.length - 1) return 1;
    if (left < 0xd800 && right < 0xd800) return left - right;
    return a.codePointAt(index)! - b.codePointAt(index)!;
  }
  return a.length - b.length;
}

/** `1.0` → `1`, `-2.50` → `-2.5`, `0.000` → `0`; integers and exponents as they are. */
export function normalizeNumber(token: string): string {
  if (!token.includes('.') || /[eE]/.test(token)) return token;
  const trimmed = token.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

/** Order of the UTF-8 bytes: code points compared in order (UTF-16 units would misplace astral ones). */
export function compareBytewise(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left === right) continue;
    // Below the surrogates UTF-16 units order like UTF-8 bytes; from there, compare code points.
    if (left < 0xd800 && right < 0xd800) return left - right;
    return a.codePointAt(index)! - b.codePointAt(index)!;
  }
  return a.length - b.length;
}

/** hstore's output (`"a"=>"1", "b"=>NULL`) → Materialize's map text (`{a=>1,b=>NULL}`). */
export function materializeMapText(text: string): string {
  const pairs: Array<[string, string | null]> = [];
  let index = 0;
  // A quoted hstore element from `index` (at its opening quote), unescaped.
  const quoted = (): string => {
    const start = index + 1;
    let end = start;
    let escaped = false;
    for (;;) {
      end = text.indexOf('"', end);
      if (end === -1) end = text.length;
      let slashes = 0;
      for (let back = end - 1; text.charCodeAt(back) === 92; back--) slashes++;
      if (slashes % 2 === 0 || end >= text.length) break;
      escaped = true;
      end++;
    }
    index = end + 1;
    const raw = text.slice(start, end);
    return escaped || raw.indexOf('\\') !== -1 ? raw.replace(/\\(.)/g, '$1') : raw;
  };
  while (index < text.length) {
    const char = text.charCodeAt(index);
    if (char === 32 || char === 44) {
      index++;
      continue;
    }
    const key = quoted();
    index += 2; // =>
    if (text.startsWith('NULL', index)) {
      pairs.push([key, null]);
      index += 4;
    } else {
      pairs.push([key, quoted()]);
    }
  }
  pairs.sort(([a], [b]) => compareBytewise(a, b));
  let out = '{';
  for (let position = 0; position < pairs.length; position++) {
    const [key, value] = pairs[position]!;
    out += `${position > 0 ? ',' : ''}${mapElement(key)}=>${value === null ? 'NULL' : mapElement(value)}`;
  }
  return `${out}}`;
}

const NEEDS_QUOTES = /[\s{}",\\=>]/;

/** Quoted only when needed, as Materialize's map and list output does. */
function mapElement(text: string): string {
  const needsQuotes = text === '' || NEEDS_QUOTES.test(text) || (text.length === 4 && text.toUpperCase() === 'NULL');
  return needsQuotes ? `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"` : text;
}

/** PostgreSQL's interval output (IntervalStyle postgres) → Materialize's: `mon`/`mons` → `month`/`months`. */
export function materializeIntervalText(text: string): string {
  return text.replace(/(\d) mons?\b/g, (match, digit: string) => `${digit} ${match.endsWith('mons') ? 'months' : 'month'}`);
}
