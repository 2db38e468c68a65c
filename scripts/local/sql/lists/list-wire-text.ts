/**
 * A list of lists as Materialize writes it to a client, from the text PostgreSQL writes for its
 * carrier (README.md: an array of one-field rows). `SELECT LIST[[1], [2, 3]]` leaves PGlite as
 * `{"(\"{1}\")","(\"{2,3}\")"}`; Materialize writes `{{1},{2,3}}`. A cast to text already gives
 * Materialize's form (mz_local.list_text); this is for a column sent as it is, by the wire, which
 * knows the column's type (the carriers' OIDs and layers: CARRIER_OIDS_SQL).
 *
 * Elements are written as Materialize writes a list's elements: bare NULL for a NULL, quotes
 * around an element that is empty, holds a brace, quote, comma, backslash or white space, or is
 * the word NULL (so `null` is bare, where PostgreSQL's array text quotes it).
 */

/** The carriers' array OIDs and their layers (`mz_local.int4_l1[]` carries `int list list`: 2). */
export const CARRIER_OIDS_SQL = `SELECT a.oid::int AS oid, right(e.typname, 1)::int + 1 AS layers
  FROM pg_type e JOIN pg_type a ON a.oid = e.typarray
  WHERE e.typnamespace = 'mz_local'::regnamespace AND e.typtype = 'c' AND e.typname ~ '_l[0-9]$'`;

/** A cursor over PostgreSQL's text of an array or a row. */
interface Cursor {
  readonly text: string;
  at: number;
}

/** One element of an array's text (or a row's field): its value, or null for an unquoted NULL (or an empty field). */
function readItem(cursor: Cursor, ends: string, nullWord: boolean): string | null {
  const { text } = cursor;
  if (text[cursor.at] === '"') {
    let value = '';
    cursor.at++;
    // A backslash escapes the next character (arrays and rows); a doubled quote is one (rows).
    while (cursor.at < text.length) {
      const char = text[cursor.at]!;
      if (char === '"' && text[cursor.at + 1] !== '"') break;
      if (char === '\\' || char === '"') cursor.at++;
      value += text[cursor.at++] ?? '';
    }
    cursor.at++;
    return value;
  }
  const start = cursor.at;
  while (cursor.at < text.length && !ends.includes(text[cursor.at]!)) cursor.at++;
  const value = text.slice(start, cursor.at);
  if (nullWord ? value === 'NULL' : value === '') return null;
  return value;
}

/** The elements of an array's text `{a,"b c",NULL}` (one dimension). */
function arrayItems(text: string): Array<string | null> {
  const cursor: Cursor = { text, at: 1 };
  const items: Array<string | null> = [];
  if (text[1] === '}') return items;
  for (;;) {
    items.push(readItem(cursor, ',}', true));
    if (text[cursor.at++] !== ',') return items;
  }
}

/** The one field of a row's text `("{1,2}")`, or null when it is NULL (`()`). */
function rowField(text: string): string | null {
  return readItem({ text, at: 1 }, ')', false);
}

/** An element of a one-layer list as Materialize quotes it. */
function listElement(value: string | null): string {
  if (value === null) return 'NULL';
  if (value === '' || value === 'NULL' || /[{}",\\\s]/.test(value)) return `"${value.replace(/["\\]/g, '\\$&')}"`;
  return value;
}

/** `text`, PostgreSQL's text of a list with `layers` layers (2 or more: an array of rows), in Materialize's form. */
export function materializeLayeredListText(text: string, layers: number): string {
  const items = arrayItems(text);
  if (layers <= 1) return `{${items.map(listElement).join(',')}}`;
  return `{${items
    .map((item) => {
      const inner = item === null ? null : rowField(item);
      return inner === null ? 'NULL' : materializeLayeredListText(inner, layers - 1);
    })
    .join(',')}}`;
}
