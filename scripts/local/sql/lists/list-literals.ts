/**
 * Materialize's text of a list of lists, `'{{1},{2,3}}'::int list list`, as the text PostgreSQL
 * reads for its carrier (README.md: an array of one-field rows, `{"(\"{1}\")","(\"{2,3}\")"}`).
 * Read here, from the literal, because the carrier's own input function reads rows, not lists.
 * The elements stay text: PostgreSQL reads each as the element type (and refuses a bad one).
 *
 * The list text (doc/user/content/sql/types/list.md, "Text to list casts"): braces around
 * comma-separated elements, white space around an element ignored, an element in double quotes
 * or with backslash escapes taken as written, an unquoted NULL (any case) is NULL.
 */

/** A parsed list: its elements (a string, NULL, or an inner list). */
type ListItem = string | null | ListItem[];

class ListTextError extends Error {}

function parseList(text: string, cursor: { at: number }): ListItem[] {
  const items: ListItem[] = [];
  const skipSpace = () => {
    while (/\s/.test(text[cursor.at] ?? '')) cursor.at++;
  };
  skipSpace();
  if (text[cursor.at] !== '{') throw new ListTextError();
  cursor.at++;
  skipSpace();
  if (text[cursor.at] === '}') {
    cursor.at++;
    return items;
  }
  for (;;) {
    skipSpace();
    if (text[cursor.at] === '{') items.push(parseList(text, cursor));
    else items.push(parseElement(text, cursor));
    skipSpace();
    const next = text[cursor.at++];
    if (next === '}') return items;
    if (next !== ',') throw new ListTextError();
  }
}

function parseElement(text: string, cursor: { at: number }): string | null {
  let value = '';
  let quotedAny = false;
  // Trailing white space outside quotes and escapes is dropped: the length written so far that stays.
  let kept = 0;
  while (cursor.at < text.length) {
    const char = text[cursor.at]!;
    if (char === '"') {
      quotedAny = true;
      cursor.at++;
      while (cursor.at < text.length && text[cursor.at] !== '"') {
        if (text[cursor.at] === '\\') cursor.at++;
        value += text[cursor.at++] ?? '';
      }
      if (cursor.at >= text.length) throw new ListTextError();
      cursor.at++;
      kept = value.length;
      continue;
    }
    if (char === '\\') {
      value += text[cursor.at + 1] ?? '';
      cursor.at += 2;
      kept = value.length;
      quotedAny = true;
      continue;
    }
    if (char === ',' || char === '}') break;
    if (char === '{') throw new ListTextError();
    value += char;
    if (!/\s/.test(char)) kept = value.length;
    cursor.at++;
  }
  value = value.slice(0, kept);
  if (!quotedAny && value.toUpperCase() === 'NULL') return null;
  return value;
}

/** `value` in double quotes for an array's text (backslash escapes). */
const arrayQuoted = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
/** `value` in double quotes for a row's text (backslashes escaped, quotes doubled). */
const rowQuoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '""')}"`;

function carrierText(items: ListItem[], layers: number): string {
  return `{${items
    .map((item) => {
      if (item === null) return 'NULL';
      if (layers === 1) {
        if (Array.isArray(item)) throw new ListTextError();
        return arrayQuoted(item);
      }
      if (!Array.isArray(item)) throw new ListTextError();
      return arrayQuoted(`(${rowQuoted(carrierText(item, layers - 1))})`);
    })
    .join(',')}}`;
}

/**
 * The carrier's text for Materialize's list text `text` of a list with `layers` layers (2 or more),
 * or null when the text is no such list (the literal is then left as written, and PostgreSQL
 * refuses it).
 */
export function layeredListCarrierText(text: string, layers: number): string | null {
  try {
    const cursor = { at: 0 };
    const items = parseList(text, cursor);
    if (text.slice(cursor.at).trim() !== '') return null;
    return carrierText(items, layers);
  } catch (error) {
    if (error instanceof ListTextError) return null;
    throw error;
  }
}

/**
 * The layers list text shows by its braces (`{{1},{2}}`: 2), quotes and escapes skipped; what a
 * literal cast to a list type of the database's own (CREATE TYPE … AS LIST) is read with, since
 * the text of the statement does not say that type's layers.
 */
export function listTextLayers(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quoted = false;
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    if (char === '\\') at++;
    else if (char === '"') quoted = !quoted;
    else if (!quoted && char === '{') deepest = Math.max(deepest, ++depth);
    else if (!quoted && char === '}') depth--;
  }
  return deepest;
}
