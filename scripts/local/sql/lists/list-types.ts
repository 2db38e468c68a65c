/**
 * `<type> list list …` as the PostgreSQL type that carries it (README.md): one `list` is an array
 * (`int list` → `int[]`, kept as it was), two to four are an array of the wrapper rows that
 * catalog/lists-and-maps.sql creates for the element type (`int list list` → `mz_local.int4_l1[]`);
 * a string literal cast to one is read as list text (list-literals.ts).
 */
import type { TextEdit, Token } from '../tokens.ts';
import { isPunct, isWord } from '../token-walk.ts';
import { sqlLiteral } from '../tokens.ts';
import { layeredListCarrierText } from './list-literals.ts';

/** Materialize's spellings of the element types that have wrapper rows, → the rows' prefix. */
const ELEMENT_TYPES: Record<string, string> = {
  int: 'int4', integer: 'int4', int4: 'int4', bigint: 'int8', int8: 'int8', smallint: 'int2', int2: 'int2',
  text: 'text', string: 'text', float: 'float8', float8: 'float8', real: 'float4', float4: 'float4',
  numeric: 'numeric', decimal: 'numeric', bool: 'bool', boolean: 'bool', date: 'date', time: 'time',
  timestamp: 'timestamp', timestamptz: 'timestamptz', interval: 'interval', jsonb: 'jsonb', json: 'jsonb',
  uuid: 'uuid', bytea: 'bytea', bytes: 'bytea', uint2: 'uint2', uint4: 'uint4', uint8: 'uint8', uint: 'uint4',
  mz_timestamp: 'mz_timestamp',
};
/** The deepest list with wrapper rows (catalog/lists-and-maps.sql makes _l1 … _l3). */
const MAX_LAYERS = 4;

/** Element type words the dialect rewrites itself in a type position (dialect.ts TYPE_ALIASES), to what the rows are named after. */
const ALIASED = new Set(['string', 'json', 'bytes', 'uint']);

/** A `<type> list list …` type: its last `list` (token index) and the edits that make it its carrier. */
export interface LayeredListType {
  readonly last: number;
  readonly edits: TextEdit[];
}

/** The element type's first token and its wrapper prefix, for the type word before `list` at `at`. */
function elementBefore(tokens: readonly Token[], at: number): { start: number; element: string } | null {
  const word = tokens[at - 1];
  if (!isWord(word)) return null;
  if (word!.value === 'precision' && isWord(tokens[at - 2], 'double')) return { start: at - 2, element: 'float8' };
  const element = ELEMENT_TYPES[word!.value];
  if (!element || isPunct(tokens[at - 2], '.')) return null;
  return { start: at - 1, element };
}

/**
 * The layered list type that the `list` word at `index` belongs to, when it is one this server
 * carries as wrapper rows: two to four `list` words after a known element type.
 */
export function layeredListTypeAt(tokens: readonly Token[], index: number): LayeredListType | null {
  let firstList = index;
  while (isWord(tokens[firstList - 1], 'list')) firstList--;
  let lastList = index;
  while (isWord(tokens[lastList + 1], 'list') && !isPunct(tokens[lastList + 2], '[') && !isPunct(tokens[lastList + 2], '(')) lastList++;
  const layers = lastList - firstList + 1;
  if (layers < 2 || layers > MAX_LAYERS) return null;
  const element = elementBefore(tokens, firstList);
  if (!element) return null;
  const base = tokens[element.start]!;
  const end = tokens[lastList]!.end;
  const suffix = `_l${layers - 1}[]`;
  // `string list list`: the dialect rewrites `string` to `text` by an edit of its own, which this
  // one must not overlap: the schema goes before the word and the suffix after it.
  const edits: TextEdit[] = ALIASED.has(base.value)
    ? [{ start: base.start, end: base.start, text: 'mz_local.' }, { start: base.end, end, text: suffix }]
    : [{ start: base.start, end, text: `mz_local.${element.element}${suffix}` }];
  // `'{{1},{2,3}}'::int list list`: the literal read as list text (list-literals.ts).
  const literal = tokens[element.start - 2];
  if (literal?.type === 'string' && tokens[element.start - 1]?.type === 'operator' && tokens[element.start - 1]!.value === '::') {
    const carrierText = layeredListCarrierText(literal.value, layers);
    if (carrierText !== null) edits.push({ start: literal.start, end: literal.end, text: sqlLiteral(carrierText) });
  }
  return { last: lastList, edits };
}
