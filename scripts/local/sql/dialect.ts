/**
 * Materialize's spellings that PostgreSQL does not parse, rewritten in a client's statement (and a
 * materialized view's query) before PGlite sees it:
 *
 * - type names PostgreSQL has under other names (Materialize's types page): `string` → text,
 *   `double` → double precision, `json` → jsonb (Materialize's json is jsonb), `uint` → uint4,
 *   `bytes` → bytea; in
 *   type positions only (after `::`, in `CAST(… AS …)`, a column definition, a typed literal), so a
 *   column named `string` stays a column;
 * - `current_timestamp()` (Materialize's function form) → `current_timestamp`;
 * - `INTERVAL '30' minutes`: the plural field names → PostgreSQL's singular ones;
 * - `INTERVAL '…' <leading> TO <trailing>`, any pair → the fields above the leading one dropped
 *   (mz_local.interval_from_leading), the column still named `interval`;
 * - `f(x).field` (a field of a function's record result) → `(f(x)).field`;
 * - `SELECT … AS OF [AT LEAST] t`: dropped, the read is at the current time (as-of.ts);
 * - `OPTION (expected_group_size = n)` / `OPTIONS (…)`, a query's planner hints: dropped;
 * - `SELECT DISTINCT ON (…)`: ties in its ORDER BY broken as Materialize breaks them (distinct-on.ts);
 * - `GROUP BY TRUE` / `FALSE`: a constant PostgreSQL takes only cast (`TRUE::boolean`);
 * - `format_type(…)` → `mz_local.format_type(…)`: `time` / `timestamp` without `without time zone`;
 * - `variance(x)`, `stddev(x)` and their _samp / _pop forms: integers and numerics to 39 significant
 *   digits (`mz_local.variance(variance(mz_local.variance_input(x)))`);
 * - `generate_series(NULL, NULL, NULL)`: the first NULL typed integer, Materialize's choice;
 * - a number literal (or a string cast to numeric) of more than 39 significant digits → rounded to
 *   39, as Materialize's numeric reads it (numeric-precision.ts);
 * - a window frame offset past bigint (`ROWS BETWEEN 18446744073709551615 PRECEDING …`; Materialize's
 *   offsets are unsigned 64-bit) → bigint's largest, which frames the same rows;
 * - `regexp_extract(regex, haystack)` in FROM (a table function whose columns are the regex's
 *   capture groups, named as the group or `columnN`; no row when nothing matches) → a LATERAL
 *   subquery over regexp_match, the pattern's named groups unnamed for PostgreSQL.
 *
 * One pass over the tokens looks for the trigger words; a statement without them (nearly all) costs
 * that pass and nothing else.
 */
import { applyEdits, splitStatements, sqlIdentifier, sqlLiteral, tokenize, type StatementSpan, type TextEdit, type Token } from './tokens.ts';
import { createTypeEdits, customMapLiteralEdit, fragmentSpan, listEdits, mapEdits, rewriteTypeText, subscriptEdits } from './collections.ts';
import { NULLS_WINDOW_FUNCTIONS, windowNullsEdit } from './window-nulls.ts';
import { mutuallyRecursivePlan } from './mutually-recursive.ts';
import { closingParen, enclosingParen, isPunct, isWord } from './token-walk.ts';
import { asOfClause } from './as-of.ts';
import { distinctOnTieBreakEdit } from './distinct-on.ts';
import { numericPrecisionEdit } from './numeric-precision.ts';

const TYPE_ALIASES: Record<string, string> = { string: 'text', double: 'double precision', json: 'jsonb', uint: 'uint4', bytes: 'bytea' };
const PLURAL_FIELDS: Record<string, string> = { years: 'year', months: 'month', days: 'day', hours: 'hour', minutes: 'minute', seconds: 'second' };
/** Aggregates whose numeric answer Materialize gives to 39 significant digits (catalog/materialize-functions.sql). */
const VARIANCE_AGGREGATES = ['variance', 'var_samp', 'var_pop', 'stddev', 'stddev_samp', 'stddev_pop'];
const TRIGGERS = new Set([...Object.keys(TYPE_ALIASES), 'as', 'current_timestamp', 'interval', 'regexp_extract', 'regexp_replace', 'jsonb_object_agg', 'option', 'options', 'substr', 'substring', 'list', 'map', 'mutually', 'distinct', 'group', 'format_type', 'generate_series', 'preceding', 'following', ...VARIANCE_AGGREGATES, ...NULLS_WINDOW_FUNCTIONS]);
const MAX_BIGINT = 2n ** 63n - 1n;
const MAX_UNSIGNED_BIGINT = 2n ** 64n - 1n;
/** Words after a FROM item that are not its alias. */
const NOT_ALIAS = new Set([
  'where', 'group', 'having', 'order', 'limit', 'offset', 'fetch', 'union', 'intersect', 'except', 'window', 'join', 'inner',
  'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'with', 'for', 'returning', 'lateral',
]);

/** True when the word at `index` names a type: after `::`, `CAST(x AS …`, in a column definition, before a literal. */
function inTypePosition(tokens: readonly Token[], index: number): boolean {
  const previous = tokens[index - 1];
  if (previous?.type === 'operator' && previous.value === '::') return true;
  if (tokens[index + 1]?.type === 'string' && !isPunct(previous, '.')) return true;
  if (isWord(previous, 'as')) {
    const open = enclosingParen(tokens, index);
    return open > 0 && (isWord(tokens[open - 1], 'cast') || isWord(tokens[open - 1], 'try_cast'));
  }
  // A column definition: CREATE TABLE t (name type, …) or ALTER TABLE t ADD [COLUMN] name type.
  if (!isWord(tokens[0], 'create') && !isWord(tokens[0], 'alter')) return false;
  if (previous?.type !== 'word' && previous?.type !== 'quoted') return false;
  const before = tokens[index - 2];
  if (isWord(before, 'add') || isWord(before, 'column')) return isWord(tokens[0], 'alter');
  if (!isPunct(before, '(') && !isPunct(before, ',')) return false;
  const open = enclosingParen(tokens, index);
  const tableAt = tokens.findIndex((token) => isWord(token, 'table'));
  return open > 0 && tableAt >= 0 && tableAt < open && enclosingParen(tokens, open) === -1 && !isWord(tokens[open - 1], 'as');
}

/** The edits that rewrite Materialize's spellings in one statement (none for almost every statement). */
export function dialectEdits(statement: StatementSpan, sql: string): TextEdit[] {
  const { tokens } = statement;
  let edits: TextEdit[] | null = null;
  if (tokens[1]?.type === 'word' && tokens[1].value === 'type' && tokens[0]!.value === 'create') {
    const typeEdits = createTypeEdits(tokens, sql, (text) => rewriteTypeText(text, TYPE_ALIASES, rewriteFragment));
    if (typeEdits) return typeEdits;
  }
  // Token ranges an edit already rewrote whole (WITH MUTUALLY RECURSIVE's column definitions).
  let skips: Array<[number, number]> | null = null;
  for (let index = 0; index < tokens.length; index++) {
    if (skips) {
      const range = skips.find(([from, to]) => index >= from && index <= to);
      if (range) {
        index = range[1];
        continue;
      }
    }
    const token = tokens[index]!;
    if (token.type === 'string') {
      const mapText = customMapLiteralEdit(tokens, index, sql) ?? numericPrecisionEdit(tokens, index, sql);
      if (mapText) (edits ??= []).push(mapText);
      continue;
    }
    if (token.type === 'number') {
      // Past 39 significant digits (numericPrecisionEdit checks the length first: nearly every number stops there).
      const rounded = numericPrecisionEdit(tokens, index, sql);
      if (rounded) (edits ??= []).push(rounded);
      continue;
    }
    if (token.type === 'punct') {
      if (token.value === '[') {
        const subscripts = subscriptEdits(tokens, index);
        if (subscripts.length > 0) (edits ??= []).push(...subscripts);
      } else if (token.value === ')' && isPunct(tokens[index + 1], '.') && tokens[index + 2]?.type === 'word') {
        const wrapped = callFieldEdits(tokens, index);
        if (wrapped) (edits ??= []).push(...wrapped);
      }
      continue;
    }
    if (token.type !== 'word' || !TRIGGERS.has(token.value)) continue;
    if (token.value === 'list') {
      const listed = listEdits(tokens, index);
      if (listed.length > 0) (edits ??= []).push(...listed);
      continue;
    }
    if (token.value === 'map') {
      const mapped = mapEdits(tokens, index, sql, rewriteFragment, (text) => rewriteTypeText(text, TYPE_ALIASES, rewriteFragment));
      if (mapped.edits.length > 0) {
        (edits ??= []).push(...mapped.edits);
        // The tokens the edits cover are done (a constructor's entries were rewritten inside it).
        index = mapped.last;
      }
      continue;
    }
    if (token.value === 'substr' || token.value === 'substring') {
      const clamped = substringLiteralEdits(tokens, index);
      if (clamped.length > 0) (edits ??= []).push(...clamped);
      continue;
    }
    if (VARIANCE_AGGREGATES.includes(token.value)) {
      const precise = varianceDigitsEdits(tokens, index);
      if (precise.length > 0) (edits ??= []).push(...precise);
      continue;
    }
    if (token.value === 'jsonb_object_agg') {
      const objectAgg = objectAggNullKeysEdits(tokens, index);
      if (objectAgg.length > 0) (edits ??= []).push(...objectAgg);
      continue;
    }
    if (token.value === 'mutually') {
      const plan = mutuallyRecursivePlan(tokens, index, sql, rewriteFragment, (text) => rewriteTypeText(text, TYPE_ALIASES, rewriteFragment));
      if (plan) {
        (edits ??= []).push(...plan.edits);
        skips = plan.skip;
      }
      continue;
    }
    if (NULLS_WINDOW_FUNCTIONS.has(token.value)) {
      const windowed = windowNullsEdit(tokens, index, sql, rewriteFragment);
      if (windowed) {
        (edits ??= []).push(windowed.edit);
        // RESPECT NULLS only drops two words; IGNORE NULLS rewrote the call and its window.
        if (windowed.edit.start === token.start) index = windowed.last;
      }
      continue;
    }
    if (token.value === 'as' && isWord(tokens[index + 1], 'of')) {
      // An exact AS OF also wraps the statement, to set mz_now()'s time first (as-of.ts).
      const clause = asOfClause(tokens, index);
      if (clause && 'edit' in clause) (edits ??= []).push(...(clause.prefix ? [clause.prefix, clause.edit] : [clause.edit]));
      continue;
    }
    const edit = editAt(tokens, index, sql);
    if (edit) (edits ??= []).push(edit);
  }
  return edits ?? [];
}

/** `CREATE TYPE t AS LIST|MAP (…)` as the CREATE DOMAIN that stands for it, or null for any other statement. */
export function createTypeAsDomain(statement: StatementSpan, sql: string): string | null {
  const edits = createTypeEdits(statement.tokens, sql, (text) => rewriteTypeText(text, TYPE_ALIASES, rewriteFragment));
  return edits ? applyEdits(statement, sql, edits) : null;
}

/** A fragment of a statement (a constructor's entry, a subquery) with the dialect's edits applied. */
function rewriteFragment(text: string): string {
  let span: StatementSpan;
  try {
    span = fragmentSpan(text);
  } catch {
    return text;
  }
  const edits = dialectEdits(span, text);
  return edits.length === 0 ? text : applyEdits(span, text, edits);
}

function editAt(tokens: readonly Token[], index: number, sql: string): TextEdit | null {
  const token = tokens[index]!;
  const next = tokens[index + 1];
  switch (token.value) {
    case 'current_timestamp':
      return isPunct(next, '(') && isPunct(tokens[index + 2], ')') ? { start: next!.start, end: tokens[index + 2]!.end, text: '' } : null;
    case 'interval': {
      // INTERVAL '30' minutes [TO seconds]
      if (next?.type !== 'string') return null;
      const field = tokens[index + 2];
      if (!field || field.type !== 'word') return null;
      const leading = PLURAL_FIELDS[field.value] ?? field.value;
      const to = tokens[index + 3];
      const last = tokens[index + 4];
      if (INTERVAL_FIELDS.has(leading) && isWord(to, 'to') && last?.type === 'word' && INTERVAL_FIELDS.has(PLURAL_FIELDS[last.value] ?? last.value)) {
        return intervalRangeRewrite(tokens, index, sql, leading, PLURAL_FIELDS[last.value] ?? last.value);
      }
      if (!(field.value in PLURAL_FIELDS)) return null;
      return { start: field.start, end: field.end, text: leading };
    }

    case 'distinct':
      return distinctOnTieBreakEdit(tokens, index, sql);
    case 'group':
      return groupByBooleanEdit(tokens, index);
    case 'generate_series': {
      // generate_series(NULL, NULL, NULL): Materialize picks an integer form (no rows;
      // table_func.slt), PostgreSQL finds the call ambiguous. The first NULL is typed int. With two
      // NULLs both refuse the call as ambiguous: left alone.
      if (!isPunct(next, '(') || isPunct(tokens[index - 1], '.')) return null;
      const close = closingParen(tokens, index + 1);
      if ((close - index - 1) / 2 !== 3) return null;
      for (let at = index + 2; at < close; at += 2) {
        if (!isWord(tokens[at], 'null') || !(isPunct(tokens[at + 1], ',') || at + 1 === close)) return null;
      }
      return { start: tokens[index + 2]!.end, end: tokens[index + 2]!.end, text: '::integer' };
    }
    case 'preceding':
    case 'following': {
      // window_funcs.slt: a frame offset up to u64::MAX runs in Materialize; PostgreSQL's is a bigint.
      // No partition has 2^63 rows, so bigint's largest offset frames the same rows.
      const offset = tokens[index - 1];
      if (offset?.type !== 'number' || !/^\d{19,20}$/.test(offset.value) || BigInt(offset.value) <= MAX_BIGINT) return null;
      return BigInt(offset.value) > MAX_UNSIGNED_BIGINT ? null : { start: offset.start, end: offset.end, text: String(MAX_BIGINT) };
    }
    case 'format_type': {
      // Materialize names time and timestamp without PostgreSQL's `without time zone` (types.slt);
      // mz_local.format_type drops it. The catalog's own SQL keeps PostgreSQL's function.
      if (!isPunct(next, '(')) return null;
      const qualified = isPunct(tokens[index - 1], '.') && isWord(tokens[index - 2], 'pg_catalog');
      if (isPunct(tokens[index - 1], '.') && !qualified) return null;
      return { start: qualified ? tokens[index - 2]!.start : token.start, end: token.end, text: 'mz_local.format_type' };
    }
    case 'as':
      // `AS OF` is handled by dialectEdits (two edits); any other AS is not rewritten.
      return null;
    case 'regexp_extract':
      return regexpExtractEdit(tokens, index, sql);
    case 'regexp_replace':
      return regexpReplacementEdit(tokens, index);
    case 'option':
    case 'options': {
      // A query's planner hints (`GROUP BY a OPTION (expected_group_size = 100)`, `OPTIONS
      // (AGGREGATE INPUT GROUP SIZE = 100)`): nothing to hint here, so the clause is dropped
      // (its values are checked in refusals.ts).
      if (!isPunct(next, '(') || isPunct(tokens[index - 1], '.') || isPunct(tokens[index - 1], ',') || isPunct(tokens[index - 1], '(')) return null;
      const close = closingParen(tokens, index + 1);
      return close < 0 ? null : { start: token.start, end: tokens[close]!.end, text: '' };
    }
    default:
      if (token.value === 'double' && isWord(next, 'precision')) return null;
      return inTypePosition(tokens, index) ? { start: token.start, end: token.end, text: TYPE_ALIASES[token.value]! } : null;
  }
}

/**
 * `f(x).field`: Materialize reads a field of a function's record result without parentheses
 * (timezone.slt: `timezone_offset(…).abbrev`); PostgreSQL needs `(f(x)).field`. The call, schema
 * included, is wrapped in parentheses; a parenthesized expression's field (`(r).f`) is left alone.
 */
function callFieldEdits(tokens: readonly Token[], close: number): TextEdit[] | null {
  const open = enclosingParen(tokens, close);
  const name = tokens[open - 1];
  if (open <= 0 || !(name?.type === 'word' || name?.type === 'quoted') || NOT_A_CALL.has(name.value)) return null;
  let start = open - 1;
  while (isPunct(tokens[start - 1], '.') && (tokens[start - 2]?.type === 'word' || tokens[start - 2]?.type === 'quoted')) start -= 2;
  return [insertAt(tokens[start]!.start, '('), insertAt(tokens[close]!.end, ')')];
}
/**
 * Words before a parenthesis that are no function call: PostgreSQL's reserved words and the
 * keywords that take a parenthesized expression after them (`ORDER BY (r).f`, `DISTINCT (r).f`,
 * `BETWEEN (r).a AND …`, `LIKE (r).p`).
 */
const NOT_A_CALL = new Set([
  'select', 'from', 'where', 'and', 'or', 'not', 'in', 'exists', 'as', 'on', 'values', 'then', 'else', 'when', 'case', 'return', 'lateral', 'join', 'using', 'over', 'filter', 'row',
  'by', 'distinct', 'all', 'any', 'some', 'between', 'symmetric', 'asymmetric', 'like', 'ilike', 'similar', 'escape', 'is', 'isnull', 'notnull', 'having', 'returning', 'set', 'into',
  'with', 'union', 'intersect', 'except', 'limit', 'offset', 'fetch', 'order', 'group', 'partition', 'window', 'rows', 'range', 'groups', 'within', 'array', 'end', 'do', 'check',
  'default', 'for', 'to', 'unique', 'only', 'table', 'collate', 'operator', 'at', 'zone', 'asc', 'desc', 'nulls', 'first', 'last', 'if', 'elsif', 'perform', 'raise', 'qualify',
]);

/** An interval's fields, largest first. */
const INTERVAL_FIELD_ORDER = ['year', 'month', 'day', 'hour', 'minute', 'second'];
const INTERVAL_FIELDS = new Set(INTERVAL_FIELD_ORDER);
/** The `<leading> TO <trailing>` pairs PostgreSQL's grammar has. */
const POSTGRES_INTERVAL_RANGES = new Set(['year month', 'day hour', 'day minute', 'day second', 'hour minute', 'hour second', 'minute second']);

/**
 * `INTERVAL '…' <leading> TO <trailing>`: Materialize takes any pair, the leading field before the
 * trailing one, and drops the fields above the leading one (interval.slt: `'1-2 3 4:5:6.7' MONTH TO
 * MINUTE` → 2 months 3 days 04:05:00). PostgreSQL parses the text with the pair when its grammar has
 * it, else with the trailing field alone, and mz_local.interval_from_leading drops the rest. A
 * trailing SECOND's precision (`SECOND(2)`) is kept. Other pairs are left to fail as they do.
 */
function intervalRangeRewrite(tokens: readonly Token[], index: number, sql: string, leading: string, trailing: string): TextEdit | null {
  if (INTERVAL_FIELD_ORDER.indexOf(leading) >= INTERVAL_FIELD_ORDER.indexOf(trailing)) return null;
  let end = tokens[index + 4]!.end;
  let precision = '';
  if (isPunct(tokens[index + 5], '(') && tokens[index + 6]?.type === 'number' && isPunct(tokens[index + 7], ')')) {
    precision = `(${tokens[index + 6]!.value})`;
    end = tokens[index + 7]!.end;
  }
  const literal = tokens[index + 1]!;
  const qualifier = POSTGRES_INTERVAL_RANGES.has(`${leading} ${trailing}`) ? `${leading.toUpperCase()} TO ${trailing.toUpperCase()}` : trailing.toUpperCase();
  // Cast over an operator so that the column is still named `interval` as the literal's is
  // (PostgreSQL names a cast by its type unless what it casts has a name, as a function call has).
  return {
    start: tokens[index]!.start,
    end,
    text: `(mz_local.interval_from_leading(INTERVAL ${sql.slice(literal.start, literal.end)} ${qualifier}${precision}, '${leading}') + INTERVAL '0')::interval`,
  };
}

/** Words that end a GROUP BY list. */
const AFTER_GROUP_BY = new Set(['having', 'window', 'order', 'limit', 'offset', 'fetch', 'union', 'intersect', 'except', 'for', 'option', 'options']);

/**
 * `GROUP BY TRUE` (subquery.slt): Materialize groups by the constant (one group, no row from no
 * input); PostgreSQL refuses a bare non-integer constant there ("non-integer constant in GROUP BY")
 * but groups by a cast one alike: `TRUE` → `TRUE::boolean`. Only the first such item gets the
 * edit (one edit per trigger word); a second is rare enough to leave to PostgreSQL.
 */
function groupByBooleanEdit(tokens: readonly Token[], index: number): TextEdit | null {
  if (!isWord(tokens[index + 1], 'by')) return null;
  let itemStart = index + 2;
  for (let at = itemStart, depth = 0; at <= tokens.length; at++) {
    const token = tokens[at];
    const ends = token === undefined || (depth === 0 && (isPunct(token, ',') || isPunct(token, ')') || (token.type === 'word' && AFTER_GROUP_BY.has(token.value))));
    if (ends) {
      const item = tokens[itemStart];
      if (at === itemStart + 1 && (isWord(item, 'true') || isWord(item, 'false'))) return { start: item!.end, end: item!.end, text: '::boolean' };
      if (!isPunct(token, ',')) return null;
      itemStart = at + 1;
      continue;
    }
    if (isPunct(token, '(')) depth++;
    else if (isPunct(token, ')')) depth--;
  }
  return null;
}

/**
 * `substr('abc', 2, 2147483648)` / `substring(s FOR 9999999999)`: Materialize takes positions and
 * lengths past the integer range (string.slt: a start past it is '', a length past it is the rest);
 * PostgreSQL has integer ones only (bigint overloads made smallint arguments ambiguous). An integer
 * literal past the range is clamped to it, which PostgreSQL answers alike.
 */
function substringLiteralEdits(tokens: readonly Token[], index: number): TextEdit[] {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return [];
  const close = closingParen(tokens, index + 1);
  const edits: TextEdit[] = [];
  for (let at = index + 2, depth = 0; at < close; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(')) depth++;
    else if (isPunct(token, ')')) depth--;
    else if (depth === 0 && token.type === 'number' && /^\d+$/.test(token.value) && BigInt(token.value) > 2147483647n) {
      const negative = tokens[at - 1]?.type === 'operator' && tokens[at - 1]!.value === '-';
      edits.push({ start: token.start, end: token.end, text: negative ? '2147483648' : '2147483647' });
    }
  }
  return edits;
}

/**
 * The last token of an aggregate call whose argument list closes at `close`: past its
 * `FILTER (…)` and `OVER (…)` / `OVER name`, if any (-1 when one of them is not closed).
 */
function aggregateCallEnd(tokens: readonly Token[], close: number): number {
  let end = close;
  if (isWord(tokens[end + 1], 'filter') && isPunct(tokens[end + 2], '(')) {
    end = closingParen(tokens, end + 2);
    if (end < 0) return -1;
  }
  if (isWord(tokens[end + 1], 'over')) {
    if (isPunct(tokens[end + 2], '(')) end = closingParen(tokens, end + 2);
    else if (tokens[end + 2]?.type === 'word' || tokens[end + 2]?.type === 'quoted') end += 2;
  }
  return end;
}

/** An edit inserting `text` at `position`. */
const insertAt = (position: number, text: string): TextEdit => ({ start: position, end: position, text });

/**
 * `variance(x) [FILTER (…)] [OVER …]` → `mz_local.variance(variance(mz_local.variance_input(x)) …)`:
 * PostgreSQL's own aggregate over the input given 30 decimals, its answer rounded to Materialize's
 * 39 significant digits (catalog/materialize-functions.sql; floats pass through both). Only words
 * are inserted around the call's own text, as for jsonb_object_agg.
 */
function varianceDigitsEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const open = index + 1;
  if (!isPunct(tokens[open], '(') || isPunct(tokens[index - 1], '.')) return [];
  const close = closingParen(tokens, open);
  if (close < 0 || close === open + 1) return [];
  const first = isWord(tokens[open + 1], 'distinct') || isWord(tokens[open + 1], 'all') ? open + 2 : open + 1;
  if (first >= close) return [];
  const end = aggregateCallEnd(tokens, close);
  if (end < 0) return [];
  return [
    // The outer call is named as the aggregate: the column keeps its name (`variance`).
    insertAt(tokens[index]!.start, `mz_local.${tokens[index]!.value}(`),
    insertAt(tokens[first]!.start, 'mz_local.variance_input('),
    insertAt(tokens[close - 1]!.end, ')'),
    insertAt(tokens[end]!.end, ')'),
  ];
}

/** The key of a NULL-keyed entry while jsonb_object_agg runs (deleted from its result). */
const NULL_KEY = "E'\\u0001mz_local_null_key'";

/**
 * `jsonb_object_agg(k, v …)`: Materialize leaves out an entry whose key is NULL (jsonb.slt:
 * `jsonb_object_agg(NULL, NULL)` is `{}`), where PostgreSQL fails ("field name must not be null").
 * The key is read as text (as Materialize reads it) with NULL as a stand-in key, deleted from the
 * result: `(jsonb_object_agg(coalesce((k)::text, <stand-in>), v …) [FILTER …] [OVER …] - <stand-in>)`.
 * Only words are inserted around the call's own text (other edits may touch its arguments).
 */
function objectAggNullKeysEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const open = index + 1;
  if (!isPunct(tokens[open], '(') || isPunct(tokens[index - 1], '.')) return [];
  const close = closingParen(tokens, open);
  if (close < 0) return [];
  let comma = -1;
  for (let at = open + 1, depth = 0; at < close; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0 && isPunct(token, ',')) {
      comma = at;
      break;
    }
  }
  if (comma < 0 || comma === open + 1) return [];
  const end = aggregateCallEnd(tokens, close);
  if (end < 0) return [];
  return [
    insertAt(tokens[index]!.start, '('),
    insertAt(tokens[open + 1]!.start, 'coalesce(('),
    insertAt(tokens[comma - 1]!.end, `)::text, ${NULL_KEY})`),
    insertAt(tokens[end]!.end, ` - ${NULL_KEY})`),
  ];
}

/** A capture group of a Materialize (Rust) regex: its name, if any, and where `(?P<name>` / `(?<name>` is. */
interface CaptureGroup {
  name: string | null;
  nameStart: number;
  nameEnd: number;
}

/** The capture groups of a pattern, in order; escapes and bracket expressions skipped. */
export function captureGroups(pattern: string): CaptureGroup[] {
  const groups: CaptureGroup[] = [];
  let inClass = false;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '\\') {
      index++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') {
      inClass = true;
      if (pattern[index + 1] === '^') index++;
      if (pattern[index + 1] === ']') index++;
      continue;
    }
    if (char !== '(') continue;
    if (pattern[index + 1] !== '?') {
      groups.push({ name: null, nameStart: index + 1, nameEnd: index + 1 });
      continue;
    }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(pattern.slice(index, index + 80));
    if (named) groups.push({ name: named[1]!, nameStart: index + 1, nameEnd: index + named[0].length });
  }
  return groups;
}

/**
 * `regexp_extract('re', haystack) [AS] alias` in FROM → `LATERAL (SELECT m[1] AS column1, … FROM
 * regexp_match(haystack, 're') AS m WHERE m IS NOT NULL) [AS] alias`. Only with a literal pattern
 * that has capture groups (Materialize requires both); anything else is left for PostgreSQL to refuse.
 */
function regexpExtractEdit(tokens: readonly Token[], index: number, sql: string): TextEdit | null {
  const previous = tokens[index - 1];
  const fromItem = isPunct(previous, ',') || isWord(previous, 'from') || isWord(previous, 'join') || isWord(previous, 'lateral');
  if (!fromItem || !isPunct(tokens[index + 1], '(')) return null;
  const pattern = tokens[index + 2];
  if (pattern?.type !== 'string' || !isPunct(tokens[index + 3], ',')) return null;
  const close = closingParen(tokens, index + 1);
  if (close < 0 || close === index + 4) return null;
  const groups = captureGroups(pattern.value);
  if (groups.length === 0) return null;
  let postgresPattern = '';
  let at = 0;
  for (const group of groups) {
    postgresPattern += pattern.value.slice(at, group.nameStart);
    at = group.nameEnd;
  }
  postgresPattern += pattern.value.slice(at);
  const haystack = sql.slice(tokens[index + 4]!.start, tokens[close - 1]!.end);
  const columns = groups.map((group, position) => `m[${position + 1}] AS ${sqlIdentifier(group.name ?? `column${position + 1}`)}`);
  const after = tokens[close + 1];
  const aliased = isWord(after, 'as') || after?.type === 'quoted' || (after?.type === 'word' && !NOT_ALIAS.has(after.value));
  const lateral = isWord(previous, 'lateral') ? '' : 'LATERAL ';
  return {
    start: tokens[index]!.start,
    end: tokens[close]!.end,
    text: `${lateral}(SELECT ${columns.join(', ')} FROM regexp_match((${haystack})::text, ${sqlLiteral(postgresPattern)}) AS m WHERE m IS NOT NULL)${aliased ? '' : ' AS regexp_extract'}`,
  };
}

/**
 * `regexp_replace(s, pattern, 'replacement' …)`: Materialize's replacement is Rust's (`$1`, `${1}`,
 * `$0` for the whole match, `$$` for a dollar, a backslash as itself); PostgreSQL's is `\1`, `\&`,
 * `\\`. A literal replacement is rewritten; a group named in it (`$name`, `${name}`) becomes its
 * number when the pattern is a literal too, else nothing (Rust's answer for an unknown group).
 */
function regexpReplacementEdit(tokens: readonly Token[], index: number): TextEdit | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const close = closingParen(tokens, index + 1);
  // The three leading arguments must be single tokens for the replacement to be found safely.
  const pattern = tokens[index + 4];
  const replacement = tokens[index + 6];
  if (close < 0 || !isPunct(tokens[index + 3], ',') || !isPunct(tokens[index + 5], ',') || replacement?.type !== 'string') return null;
  if (!(isPunct(tokens[index + 7], ',') || index + 7 === close)) return null;
  const groups = pattern?.type === 'string' ? captureGroups(pattern.value) : [];
  const converted = postgresReplacement(replacement.value, groups.map((group) => group.name));
  if (groups.some((group) => group.name !== null)) {
    // PostgreSQL has no named groups: the pattern loses the names, the replacement got their numbers.
    return { start: pattern!.start, end: replacement.end, text: `${sqlLiteral(withoutGroupNames(pattern!.value, groups))}, ${sqlLiteral(converted)}` };
  }
  return converted === replacement.value ? null : { start: replacement.start, end: replacement.end, text: sqlLiteral(converted) };
}

/** A pattern with `(?P<name>` / `(?<name>` turned into plain `(`. */
function withoutGroupNames(pattern: string, groups: readonly CaptureGroup[]): string {
  let out = '';
  let at = 0;
  for (const group of groups) {
    out += pattern.slice(at, group.nameStart);
    at = group.nameEnd;
  }
  return out + pattern.slice(at);
}

/** Rust's replacement syntax in PostgreSQL's. */
export function postgresReplacement(rust: string, groupNames: ReadonlyArray<string | null>): string {
  let out = '';
  for (let at = 0; at < rust.length; at++) {
    const char = rust[at]!;
    if (char === '\\') {
      out += '\\\\';
      continue;
    }
    if (char !== '$') {
      out += char;
      continue;
    }
    if (rust[at + 1] === '$') {
      out += '$';
      at++;
      continue;
    }
    let name: string;
    let end: number;
    if (rust[at + 1] === '{') {
      const closeBrace = rust.indexOf('}', at + 2);
      if (closeBrace < 0) {
        out += char;
        continue;
      }
      name = rust.slice(at + 2, closeBrace);
      end = closeBrace;
    } else {
      const match = /^[A-Za-z0-9_]+/.exec(rust.slice(at + 1));
      if (!match) {
        out += char;
        continue;
      }
      name = match[0];
      end = at + name.length;
    }
    at = end;
    const number = /^\d+$/.test(name) ? Number(name) : groupNames.indexOf(name) + 1;
    if (number === 0 && name === '0') out += '\\&';
    else if (number >= 1 && number <= 9) out += `\\${number}`;
    // Groups past 9 have no PostgreSQL spelling; an unknown group is empty, as in Rust.
  }
  return out;
}

/** A whole SQL text (a materialized view's query) with Materialize's spellings rewritten. */
export function rewriteDialect(text: string): string {
  let statements: StatementSpan[];
  try {
    statements = splitStatements(text, tokenize(text));
  } catch {
    return text;
  }
  if (statements.length !== 1) return text;
  const edits = dialectEdits(statements[0]!, text);
  return edits.length === 0 ? text : text.slice(0, statements[0]!.start) + applyEdits(statements[0]!, text, edits) + text.slice(statements[0]!.end);
}
