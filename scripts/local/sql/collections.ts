/**
 * Materialize's list and map syntax rewritten for PostgreSQL (the carriers are set up in
 * catalog/lists-and-maps.sql: a one-layer list is an array, a list of lists an array of wrapper
 * rows — lists/README.md —, a map is hstore). Part of the dialect rewrite (dialect.ts), which calls
 * these at the trigger words `list`, `map`, `type` and at `[`:
 *
 * - `LIST[1, 2]`, `LIST[[1], [2, 3]]`, `LIST(SELECT …)` → `ARRAY[…]` with inner lists wrapped
 *   (lists/list-constructors.ts);
 * - `<type> list` in a type → `<type>[]`; `<type> list list …` → `mz_local.<type>_l<n>[]`
 *   (lists/list-types.ts);
 * - every subscript chain on a value (`l[2][2:2]`, `list_agg(x)[1]`) → mz_local.list_get /
 *   mz_local.list_slice calls, each slice on the result so far (lists/list-subscripts.ts);
 * - `map[text=>T]` → hstore; `'{a=>1}'::map[text=>int]` reads Materialize's map text;
 *   `MAP['a' => 1, …]` and `MAP(SELECT k, v …)` build an hstore, the last value of a key winning;
 * - `CREATE TYPE t AS LIST (ELEMENT TYPE = T)` → a domain over T[]; `AS MAP (KEY TYPE = text,
 *   VALUE TYPE = T)` → a domain over hstore; the options also as one word (`element_type = T`,
 *   `key_type`, `value_type`), as Materialize's documentation writes them; map text cast to such a
 *   type (`'{a=>1}'::my_map`) is read as map text.
 */
import { applyEdits, sqlLiteral, tokenize, type StatementSpan, type TextEdit, type Token } from './tokens.ts';
import { closingBracket, isPunct, isWord } from './token-walk.ts';
import { layeredListTypeAt } from './lists/list-types.ts';
import { listConstructorEdits, listSubqueryEdits } from './lists/list-constructors.ts';
import { subscriptChainEdits } from './lists/list-subscripts.ts';
import { layeredListCarrierText, listTextLayers } from './lists/list-literals.ts';

/** Words that end a type name, so that a `list` after one is the list type's suffix. */
const TYPE_END_WORDS = new Set([
  'int', 'int2', 'int4', 'int8', 'integer', 'bigint', 'smallint', 'text', 'string', 'varchar', 'bool', 'boolean', 'float',
  'float4', 'float8', 'real', 'double', 'precision', 'numeric', 'decimal', 'date', 'time', 'timestamp', 'timestamptz', 'interval',
  'jsonb', 'json', 'bytea', 'uuid', 'uint', 'uint2', 'uint4', 'uint8', 'char', 'character', 'varying', 'zone', 'list', 'oid',
  'record', 'regclass', 'regproc', 'regtype', 'bpchar', 'mz_timestamp', 'hstore',
]);
/** Words before `(` that do not name a function (the parenthesis is an expression's or a subquery's). */
const NOT_FUNCTION = new Set([
  'select', 'from', 'where', 'and', 'or', 'not', 'in', 'exists', 'when', 'then', 'else', 'case', 'as', 'on', 'by', 'having',
  'values', 'lateral', 'join', 'using', 'any', 'all', 'some', 'is', 'like', 'ilike', 'between', 'return', 'with', 'distinct',
  'over', 'filter', 'within', 'limit', 'offset', 'returning', 'set', 'into', 'table', 'view', 'union', 'intersect', 'except',
]);

/** The index of the bracket opening the one at `close` (`)` or `]`), or -1. */
function openingBracket(tokens: readonly Token[], close: number): number {
  const closing = tokens[close]!.value;
  const opening = closing === ')' ? '(' : '[';
  let depth = 0;
  for (let index = close; index >= 0; index--) {
    const token = tokens[index]!;
    if (token.type !== 'punct') continue;
    if (token.value === closing) depth++;
    else if (token.value === opening && --depth === 0) return index;
  }
  return -1;
}

/** True when the token before `index` ends a type name (`int`, `numeric(10,2)`, `text list`, `::my_type`). */
function afterTypeName(tokens: readonly Token[], index: number): boolean {
  const previous = tokens[index - 1];
  if (!previous) return false;
  if (previous.type === 'word' && TYPE_END_WORDS.has(previous.value)) return true;
  if ((previous.type === 'word' || previous.type === 'quoted') && tokens[index - 2]?.type === 'operator' && tokens[index - 2]!.value === '::') return true;
  if (isPunct(previous, ')')) {
    const open = openingBracket(tokens, index - 1);
    return open > 0 && isWord(tokens[open - 1]) && TYPE_END_WORDS.has(tokens[open - 1]!.value);
  }
  if (isPunct(previous, ']')) {
    // map[text=>int] list
    const open = openingBracket(tokens, index - 1);
    return open > 0 && isWord(tokens[open - 1], 'map');
  }
  return false;
}

/** True when the operator token starts with `=>` (the tokenizer reads `=>-1` as one operator). */
function isArrow(token: Token | undefined): boolean {
  return token !== undefined && token.type === 'operator' && token.value.startsWith('=>');
}

/** The edits for the word `list` at `index`. */
export function listEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const token = tokens[index]!;
  const next = tokens[index + 1];
  if (isPunct(tokens[index - 1], '.')) return [];
  if (afterTypeName(tokens, index) && !isPunct(next, '(')) {
    // `int list list`: the last `list` rewrites the whole type (lists/list-types.ts).
    const layered = layeredListTypeAt(tokens, index);
    if (layered) return layered.last === index ? layered.edits : [];
    return [{ start: token.start, end: token.end, text: '[]' }];
  }
  if (isPunct(next, '[')) return listConstructorEdits(tokens, index);
  if (isPunct(next, '(') && isWord(tokens[index + 2], 'select')) return listSubqueryEdits(tokens, index);
  return [];
}

/** Rewrites a fragment of SQL (a constructor's element, a type) with the dialect's edits. */
type FragmentRewriter = (text: string) => string;

/** `map[text => T]` at `index` (the word map) as a type: the index of its `]`, else -1. */
function mapTypeEnd(tokens: readonly Token[], index: number): number {
  if (!isPunct(tokens[index + 1], '[')) return -1;
  const key = tokens[index + 2];
  if (!isWord(key) || !isArrow(tokens[index + 3]) || tokens[index + 3]!.value !== '=>') return -1;
  return closingBracket(tokens, index + 1);
}

/** The edits for the word `map` at `index`, and the last token index they cover. */
export function mapEdits(
  tokens: readonly Token[],
  index: number,
  sql: string,
  rewrite: FragmentRewriter,
  rewriteType: FragmentRewriter = rewrite,
): { edits: TextEdit[]; last: number } {
  const token = tokens[index]!;
  const none = { edits: [], last: index };
  if (isPunct(tokens[index - 1], '.')) return none;
  const typeEnd = mapTypeEnd(tokens, index);
  if (typeEnd > 0) {
    const edits: TextEdit[] = [{ start: token.start, end: tokens[typeEnd]!.end, text: 'hstore' }];
    const literal = tokens[index - 2];
    if (tokens[index - 1]?.type === 'operator' && tokens[index - 1]!.value === '::' && literal?.type === 'string') {
      // A value type other than text reads (and prints) each value as that type; a nested map's values
      // must be map text, kept as text.
      const value = sql.slice(tokens[index + 4]!.start, tokens[typeEnd - 1]!.end).trim();
      const nested = /^map\b/i.test(value);
      const typed = !/^(text|string)$/i.test(value) && !nested;
      const text = sql.slice(literal.start, literal.end);
      edits.push({
        start: literal.start,
        end: literal.end,
        text: typed ? `mz_local.map_in_as(${text}, NULL::${rewriteType(value)})` : `mz_local.map_in${nested ? '_nested' : ''}(${text})`,
      });
    }
    return { edits, last: typeEnd };
  }
  if (isPunct(tokens[index + 1], '(') && isWord(tokens[index + 2], 'select')) {
    const close = closingBracket(tokens, index + 1);
    if (close < 0) return none;
    const query = rewrite(sql.slice(tokens[index + 2]!.start, tokens[close - 1]!.end));
    return {
      edits: [{
        start: token.start,
        end: tokens[close]!.end,
        text: `(SELECT mz_local.map_of(array_agg(mz_map.k), array_agg(mz_map.v::text)) FROM (${query}) AS mz_map(k, v))`,
      }],
      last: close,
    };
  }
  if (!isPunct(tokens[index + 1], '[')) return none;
  const close = closingBracket(tokens, index + 1);
  if (close < 0) return none;
  const text = mapConstructor(tokens, index + 1, close, sql, rewrite);
  return text === null ? none : { edits: [{ start: token.start, end: tokens[close]!.end, text }], last: close };
}

/** `[k => v, …]` between `open` and `close` → an hstore built from its keys and values as text. */
function mapConstructor(tokens: readonly Token[], open: number, close: number, sql: string, rewrite: FragmentRewriter): string | null {
  if (close === open + 1) return 'mz_local.map_of(NULL, NULL)';
  const keys: string[] = [];
  const values: string[] = [];
  let depth = 0;
  let entryStart = open + 1;
  let arrow = -1;
  for (let index = open + 1; index <= close; index++) {
    const token = tokens[index]!;
    if (token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
    else if (token.type === 'punct' && (token.value === ')' || token.value === ']') && index !== close) depth--;
    else if (depth === 0 && isArrow(token) && arrow < 0) arrow = index;
    if (depth === 0 && (index === close || isPunct(token, ','))) {
      if (arrow < 0 || arrow === entryStart || (arrow === index - 1 && tokens[arrow]!.value === '=>')) return null;
      const arrowToken = tokens[arrow]!;
      keys.push(rewrite(sql.slice(tokens[entryStart]!.start, tokens[arrow - 1]!.end)));
      const valueStart = arrowToken.value === '=>' ? tokens[arrow + 1]!.start : arrowToken.start + 2;
      const valueText = sql.slice(valueStart, tokens[index - 1]!.end);
      // `MAP['a' => ['b' => 1]]`: an inner map without its keyword.
      const inner = valueText.trimStart().startsWith('[') ? `MAP${valueText.trim()}` : valueText;
      values.push(`(${rewrite(inner)})::text`);
      entryStart = index + 1;
      arrow = -1;
    }
  }
  return `mz_local.map_of(ARRAY[${keys.join(', ')}]::text[], ARRAY[${values.join(', ')}]::text[])`;
}

/**
 * The edits for a chain of subscripts starting at the `[` at `index`, when it is the first
 * subscript of a value; none when it is not a subscript (a constructor's bracket, a type's `[]`).
 */
export function subscriptEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const previous = tokens[index - 1];
  if (!previous || isPunct(tokens[index + 1], ']')) return [];
  let primaryStart: number;
  if (isPunct(previous, ']')) {
    const open = openingBracket(tokens, index - 1);
    if (open < 1 || !(isWord(tokens[open - 1], 'list') || isWord(tokens[open - 1], 'array'))) return [];
    if (afterTypeName(tokens, open - 1)) return [];
    primaryStart = open - 1;
  } else if (isPunct(previous, ')')) {
    const open = openingBracket(tokens, index - 1);
    if (open < 0) return [];
    const before = tokens[open - 1];
    if ((isWord(before) && !NOT_FUNCTION.has(before!.value)) || before?.type === 'quoted') {
      primaryStart = open - 1;
      while (isPunct(tokens[primaryStart - 1], '.') && (isWord(tokens[primaryStart - 2]) || tokens[primaryStart - 2]?.type === 'quoted')) primaryStart -= 2;
    } else {
      primaryStart = open;
    }
  } else if ((previous.type === 'word' && !NOT_FUNCTION.has(previous.value)) || previous.type === 'quoted') {
    if (previous.type === 'word' && (TYPE_END_WORDS.has(previous.value) || previous.value === 'array' || previous.value === 'list' || previous.value === 'map')) return [];
    primaryStart = index - 1;
    while (isPunct(tokens[primaryStart - 1], '.') && (isWord(tokens[primaryStart - 2]) || tokens[primaryStart - 2]?.type === 'quoted')) primaryStart -= 2;
  } else {
    return [];
  }
  return subscriptChainEdits(tokens, index, tokens[primaryStart]!.start, (open) => closingBracket(tokens, open)) ?? [];
}

/**
 * `'{a=>1}'::my_map`: a map's text cast to a type of the database's own (a CREATE TYPE … AS MAP
 * domain over hstore, which would read the text as hstore's `"k"=>"v"`) is read as Materialize's
 * map text. Only text that looks like a map (`{` first, `=>` in it) cast to a name that is no
 * built-in type is wrapped. A list's text of two layers or more cast to such a name
 * (`'{{1},{2}}'::my_list_of_lists`, a domain over a list of lists' carrier) is read as list text
 * (lists/list-literals.ts); one layer is an array's text already.
 */
export function customMapLiteralEdit(tokens: readonly Token[], index: number, sql: string): TextEdit | null {
  const cast = tokens[index + 1];
  if (cast?.type !== 'operator' || cast.value !== '::') return null;
  const target = tokens[index + 2];
  if (!target || (target.type !== 'word' && target.type !== 'quoted') || TYPE_END_WORDS.has(target.value) || target.value === 'map') return null;
  const literal = tokens[index]!;
  if (!/^\s*\{/.test(literal.value)) return null;
  if (!literal.value.includes('=>')) {
    const layers = listTextLayers(literal.value);
    const carrierText = layers >= 2 ? layeredListCarrierText(literal.value, layers) : null;
    return carrierText === null ? null : { start: literal.start, end: literal.end, text: sqlLiteral(carrierText) };
  }
  return { start: literal.start, end: literal.end, text: `mz_local.map_in(${sql.slice(literal.start, literal.end)})` };
}

/** `CREATE TYPE name AS LIST (ELEMENT TYPE = T)` / `AS MAP (KEY TYPE = text, VALUE TYPE = T)` as a domain. */
export function createTypeEdits(tokens: readonly Token[], sql: string, rewriteType: FragmentRewriter): TextEdit[] | null {
  if (!isWord(tokens[0], 'create') || !isWord(tokens[1], 'type')) return null;
  const as = tokens.findIndex((token, index) => index > 1 && isWord(token, 'as'));
  const kind = tokens[as + 1];
  if (as < 0 || !(isWord(kind, 'list') || isWord(kind, 'map')) || !isPunct(tokens[as + 2], '(')) return null;
  const close = closingBracket(tokens, as + 2);
  if (close < 0 || close !== tokens.length - 1) return null;
  // Options: NAME TYPE = type, … (a type may hold commas inside parentheses: numeric(10,2)).
  const options = new Map<string, string>();
  let at = as + 3;
  while (at < close) {
    // Both spellings: `ELEMENT TYPE = T` and the documented `element_type = T` (one word).
    const name = tokens[at];
    const joined = isWord(name) && /^[a-z]+_type$/.test(name!.value);
    const eq = joined ? at + 1 : at + 2;
    if (!isWord(name) || (!joined && !isWord(tokens[at + 1], 'type')) || !(tokens[eq]?.type === 'operator' && tokens[eq]!.value === '=')) return null;
    let end = eq + 1;
    let depth = 0;
    while (end < close && !(depth === 0 && isPunct(tokens[end], ','))) {
      if (isPunct(tokens[end], '(') || isPunct(tokens[end], '[')) depth++;
      if (isPunct(tokens[end], ')') || isPunct(tokens[end], ']')) depth--;
      end++;
    }
    if (end === eq + 1) return null;
    options.set(joined ? name!.value.slice(0, -'_type'.length) : name!.value, rewriteType(sql.slice(tokens[eq + 1]!.start, tokens[end - 1]!.end)));
    at = end + 1;
  }
  let target: string;
  if (kind!.value === 'list') {
    const element = options.get('element');
    if (element === undefined || options.size !== 1) return null;
    target = `${element}[]`;
  } else {
    const key = options.get('key');
    if (key === undefined || options.get('value') === undefined || options.size !== 2) return null;
    if (!/^(pg_catalog\.)?(text|string)$/i.test(key.trim())) return null;
    target = 'hstore';
  }
  return [
    { start: tokens[1]!.start, end: tokens[1]!.end, text: 'DOMAIN' },
    { start: kind!.start, end: tokens[close]!.end, text: target },
  ];
}

/** A type written alone (`string list`, `int`): Materialize's aliases and list suffixes rewritten. */
export function rewriteTypeText(text: string, aliases: Record<string, string>, rewrite: FragmentRewriter): string {
  const tokens = tokenize(text);
  const first = tokens[0];
  if (first?.type === 'word' && first.value in aliases && !(first.value === 'double' && isWord(tokens[1], 'precision'))) {
    text = aliases[first.value] + text.slice(first.end);
  }
  return rewrite(text);
}

/** A fragment's statement span, for applyEdits. */
export function fragmentSpan(text: string): StatementSpan {
  return { tokens: tokenize(text), start: 0, end: text.length };
}

export { applyEdits };
