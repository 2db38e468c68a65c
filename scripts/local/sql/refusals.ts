/**
 * Statements Materialize refuses and PostgreSQL runs (issue 32, item 10): found in the tokens of a
 * client's statement (and a view's query) before PGlite sees it, and refused with Materialize's
 * words, so that SQL a developer gets green locally is not red in production.
 *
 * - window frames: `RANGE` other than the default frame ("RANGE in non-default window frames not
 *   yet supported"), `GROUPS` frames ("GROUPS in window frames not yet supported") and a negative
 *   offset (a syntax error in Materialize's grammar);
 * - `timestamp(p)` / `timestamptz(p)` with p over 6 ("precision for type timestamp or timestamptz
 *   must be between 0 and 6"; PostgreSQL warns and rounds to 6); an interval literal's `SECOND(p)`
 *   likewise ("SECOND precision must be (0, 6), have SECOND(7)");
 * - a table function in another table function's arguments ("table functions are not allowed in
 *   other table functions"), an aggregate in a table function's arguments ("aggregate functions are
 *   not allowed in table function arguments"); PostgreSQL runs both in a select list;
 * - ROW values in COALESCE, GREATEST and LEAST;
 * - date and time literals PostgreSQL's lenient parser takes: `'infinity'::date`, an ISO date
 *   followed by a letter other than T (`DATE '2007-02-01X15:04:05'`), a time with `::` in it;
 *   interval text with a years-months part and a year or month unit besides, or `+` after a digit;
 * - regular expression flags Materialize lacks (`x`, `n`, …) given as a literal
 *   ("invalid regular expression flag: x");
 * - an aggregate in a subquery whose arguments name only the outer query's columns, as qualified
 *   names (`(SELECT sum(o.amount) FROM items)`): "aggregate functions that refer exclusively to
 *   outer columns not yet supported" (Materialize's plan_aggregate, issue 3720);
 * - `array_agg(…) OVER (…)` ("aggregate window functions not yet supported", window_funcs.slt);
 * - `FETCH FIRST n ROWS WITH TIES` ("FETCH ... WITH TIES not yet supported", order_by.slt);
 * - array text of more than one dimension (`'{{1},{2}}'::int[]`): "parsing multi-dimensional arrays
 *   is not supported";
 * - `LIST[]` without a cast ("cannot determine type of empty list", list.slt); integer list
 *   literals subscripted, sliced or cast past their depth, list functions of NULLs only
 *   (list-refusals.ts); a map key type other than text, CREATE TYPE … AS MAP|LIST options with a
 *   type modifier or an unnamed list type, `@>` / `<@` of two maps cast to different types
 *   (map-refusals.ts);
 * - a jsonb literal with a number of more than 39 integer digits (jsonb.slt), Materialize's numeric
 *   precision; numeric literals, numeric text casts and numeric(p, s) past that precision
 *   (numeric-precision.ts, numeric.slt);
 * - `SELECT … AS OF` with no timestamp, a time-dependent one, or one that is no mz_timestamp (as-of.ts);
 * - a SHOW command inside a view's query; mz_logical_timestamp(), renamed mz_now();
 * - a materialized view over an introspection relation ("… cannot depend on log sources");
 * - `position(x)`, `position(x IN y, z)`, `x FILTER (WHERE …)` without an aggregate and
 *   `pg_catalog.interval '…' DAY`: syntax errors in both, in Materialize's parser's words;
 * - a cast to a pg_catalog table's row type (`::pg_catalog.pg_enum`): "… does not refer to a type";
 * - `x < ALL (SELECT a, b)` and `(SELECT)` as a value: the subquery's columns counted, in
 *   Materialize's words.
 *
 * The error texts are Materialize's where its tests and output-consistency lists record them
 * (misc/python/materialize/output_consistency/ignore_filter, src/repr/src/adt/timestamp.rs).
 * One pass over the tokens looks for the trigger words; nearly every statement has none.
 */
import type { StatementSpan, Token } from './tokens.ts';
import { castTypeOf, closingParen, enclosingParen, isPunct, isWord } from './token-walk.ts';
import { asOfClause } from './as-of.ts';
import { JsonScanError, scanJsonStream } from './json-scan.ts';
import type { Refusal } from './refusal.ts';
import { createTypeRefusal, mapContainmentRefusal, mapKeyRefusal } from './map-refusals.ts';
import { isListFunction, listLiteralRefusal, listTextCastRefusal, nullListCallRefusal } from './list-refusals.ts';
import { numberLiteralRefusal, numericModifierRefusal, numericTextRefusal } from './numeric-precision.ts';


const TABLE_FUNCTIONS = new Set([
  'jsonb_array_elements', 'jsonb_array_elements_text', 'jsonb_each', 'jsonb_each_text', 'jsonb_object_keys', 'generate_series',
  'unnest', 'regexp_split_to_table', 'regexp_matches', 'generate_subscripts', 'regexp_extract', 'jsonb_to_recordset',
  'jsonb_populate_recordset', 'jsonb_path_query', 'repeat_row',
]);
const AGGREGATES = new Set([
  'count', 'sum', 'min', 'max', 'avg', 'array_agg', 'list_agg', 'string_agg', 'jsonb_agg', 'jsonb_object_agg', 'map_agg', 'bool_and',
  'bool_or', 'stddev', 'variance', 'stddev_pop', 'stddev_samp', 'var_pop', 'var_samp',
]);
const REGEX_FLAG_POSITIONS: Record<string, { argument: number; allowed: string }> = {
  regexp_match: { argument: 3, allowed: 'ic' },
  regexp_matches: { argument: 3, allowed: 'icg' },
  regexp_split_to_table: { argument: 3, allowed: 'ic' },
  regexp_split_to_array: { argument: 3, allowed: 'ic' },
  regexp_replace: { argument: 4, allowed: 'icg' },
};
const DATE_TYPES = new Set(['date']);
const TIME_TYPES = new Set(['time']);
const JSON_TYPES = new Set(['jsonb', 'json']);
/** The fields an interval literal may end in (`INTERVAL '1' DAY`). */
const INTERVAL_FIELDS = new Set(['year', 'month', 'day', 'hour', 'minute', 'second']);
/** pg_catalog's types whose names start with pg_ (the other pg_ names there are tables and views). */
const PG_CATALOG_TYPES = new Set(['pg_lsn', 'pg_snapshot', 'pg_node_tree', 'pg_ndistinct', 'pg_dependencies', 'pg_mcv_list', 'pg_brin_bloom_summary', 'pg_brin_minmax_multi_summary']);
/** Materialize's numeric holds 39 digits; a jsonb number is a numeric. */
const NUMERIC_MAX_PRECISION = 39;

/** True when the word at `index` is the type of a cast: `::record`, `::pg_catalog.record`, `CAST(x AS record)`. */
function isCastTarget(tokens: readonly Token[], index: number): boolean {
  let at = index - 1;
  if (isPunct(tokens[at], '.') && isWord(tokens[at - 1], 'pg_catalog')) at -= 2;
  const before = tokens[at];
  return (before?.type === 'operator' && before.value === '::') || (isWord(before, 'as') && isWord(tokens[enclosingParen(tokens, at) - 1], 'cast'));
}

/** The first refusal a statement earns, or null (nearly always). */
export function materializeRefusal(statement: StatementSpan): Refusal | null {
  const { tokens } = statement;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    let refusal: Refusal | null = null;
    if (token.type === 'word') {
      switch (token.value) {
        case 'range':
        case 'rows':
        case 'groups':
          refusal = frameRefusal(tokens, index);
          break;
        case 'timestamp':
        case 'timestamptz':
          refusal = precisionRefusal(tokens, index);
          break;
        case 'coalesce':
        case 'greatest':
        case 'least':
          refusal = rowArgumentRefusal(tokens, index);
          break;
        case 'date':
        case 'time':
        case 'jsonb':
        case 'json':
          // Materialize's json is an alias of jsonb, not a type of pg_catalog (types.slt).
          if (token.value === 'json' && isPunct(tokens[index - 1], '.') && isWord(tokens[index - 2], 'pg_catalog')) {
            refusal = { message: "unknown catalog item 'pg_catalog.json'", code: '42704' };
          } else refusal = typedLiteralRefusal(tokens, index);
          break;
        case 'map':
          refusal = mapKeyRefusal(tokens, index);
          break;
        case 'option':
          if (isPunct(tokens[index + 1], '(') && isWord(tokens[index + 2], 'expected_group_size')) {
            const value = tokens[index + 4];
            if (value && !(value.type === 'number' && /^\d+$/.test(value.value))) {
              refusal = { message: 'expected_group_size must be a number', code: '22023' };
            }
          }
          break;
        case 'record':
          // `::record`, `::pg_catalog.record` (types.slt).
          if (isCastTarget(tokens, index)) refusal = { message: 'cannot reference pseudo type pg_catalog.record', code: '42P18' };
          break;
        case 'pg_catalog':
          // A cast to one of pg_catalog's tables (`'1'::pg_catalog.pg_enum`): PostgreSQL takes its row
          // type, Materialize has no such type (types.slt).
          if (isPunct(tokens[index + 1], '.') && tokens[index + 2]?.type === 'word' && /^pg_/.test(tokens[index + 2]!.value) && !PG_CATALOG_TYPES.has(tokens[index + 2]!.value) && isCastTarget(tokens, index + 2)) {
            refusal = { message: `"pg_catalog.${tokens[index + 2]!.value}" does not refer to a type`, code: '42809' };
          }
          break;
        case 'mz_logical_timestamp':
          // Materialize's old name (temporal.slt).
          if (isPunct(tokens[index + 1], '(')) refusal = { message: 'mz_logical_timestamp() has been renamed to mz_now()', code: '42883' };
          break;
        case 'show':
          // `CREATE [MATERIALIZED] VIEW … FROM (SHOW …)` (materialized_views.slt).
          if (isPunct(tokens[index - 1], '(') && isWord(tokens[0], 'create') && tokens.slice(1, index).some((other) => isWord(other, 'view'))) {
            refusal = { message: 'SHOW commands are not allowed in views', code: '0A000' };
          }
          break;
        case 'type':
          if (index === 1) refusal = createTypeRefusal(tokens);
          break;
        case 'list':
          refusal = emptyListRefusal(tokens, index) ?? listLiteralRefusal(tokens, index) ?? listTextCastRefusal(tokens, index);
          break;
        case 'as':
          if (isWord(tokens[index + 1], 'of')) {
            const clause = asOfClause(tokens, index);
            if (clause && 'refusal' in clause) refusal = clause.refusal;
          }
          break;
        case 'array_agg':
          refusal = aggregateWindowRefusal(tokens, index) ?? outerAggregateRefusal(tokens, index);
          break;
        case 'position':
          refusal = positionSyntaxRefusal(tokens, index);
          break;
        case 'numeric':
        case 'decimal':
        case 'dec':
          refusal = numericModifierRefusal(tokens, index);
          break;
        case 'second':
          // `INTERVAL '…' [… TO] SECOND(7)` (interval.slt): Materialize holds microseconds at most;
          // PostgreSQL warns and rounds to 6.
          if (isPunct(tokens[index + 1], '(') && tokens[index + 2]?.type === 'number' && isPunct(tokens[index + 3], ')') && Number(tokens[index + 2]!.value) > 6 &&
            (tokens[index - 1]?.type === 'string' || isWord(tokens[index - 1], 'to'))) {
            refusal = { message: `SECOND precision must be (0, 6), have SECOND(${tokens[index + 2]!.value})`, code: '22023' };
          }
          break;
        case 'ties':
          // `FETCH FIRST n ROWS WITH TIES` (order_by.slt): Materialize's parser refuses it; PostgreSQL
          // runs it under an ORDER BY.
          if (isWord(tokens[index - 1], 'with') && (isWord(tokens[index - 2], 'rows') || isWord(tokens[index - 2], 'row'))) {
            refusal = { message: 'FETCH ... WITH TIES not yet supported', code: '0A000' };
          }
          break;
        case 'select':
          refusal = subqueryColumnsRefusal(tokens, index);
          break;
        case 'filter':
          // `SELECT x FILTER (WHERE …)` with no aggregate before it: Materialize reads FILTER as x's
          // alias and stops at the parenthesis (aggregates.slt); PostgreSQL fails too, in other words.
          if (isPunct(tokens[index + 1], '(') && isWord(tokens[index + 2], 'where') && !isPunct(tokens[index - 1], ')') && enclosingParen(tokens, index) < 0) {
            refusal = { message: 'Expected end of statement, found left parenthesis', code: '42601' };
          }
          break;
        case 'interval':
          // `pg_catalog.interval '…' DAY`: a qualified type name takes no field after its literal (types.slt).
          if (isPunct(tokens[index - 1], '.') && isWord(tokens[index - 2], 'pg_catalog') && tokens[index + 1]?.type === 'string' && INTERVAL_FIELDS.has(tokens[index + 2]?.value ?? '') && tokens[index + 2]?.type === 'word') {
            refusal = { message: `Expected end of statement, found ${tokens[index + 2]!.value.toUpperCase()}`, code: '42601' };
          }
          break;
        case 'mz_internal':
        case 'mz_introspection':
          refusal = logSourceRefusal(tokens, index);
          break;
        default:
          if (AGGREGATES.has(token.value)) refusal = outerAggregateRefusal(tokens, index);
          if (!refusal && TABLE_FUNCTIONS.has(token.value)) refusal = tableFunctionRefusal(tokens, index);
          if (!refusal && token.value in REGEX_FLAG_POSITIONS) refusal = regexFlagRefusal(tokens, index);
          if (!refusal && isListFunction(token.value)) refusal = nullListCallRefusal(tokens, index);
      }
    } else if (token.type === 'string') {
      refusal = castLiteralRefusal(tokens, index) ?? numericTextRefusal(tokens, index) ?? intervalTextRefusal(tokens, index);
    } else if (token.type === 'number') {
      refusal = numberLiteralRefusal(tokens, index);
    } else if (token.type === 'operator' && (token.value === '@>' || token.value === '<@')) {
      refusal = mapContainmentRefusal(tokens, index);
    }
    if (refusal) return refusal;
  }
  return null;
}

/**
 * `position(x)` / `position(x IN y, z)`: a syntax error in both, worded as Materialize's parser
 * words it (string.slt): "Expected IN, found right parenthesis", "Expected right parenthesis,
 * found comma". Only these two shapes; PostgreSQL's own syntax error stays for any other.
 */
function positionSyntaxRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const close = closingParen(tokens, index + 1);
  if (close < 0) return null;
  let inAt = -1;
  let commaAfterIn = -1;
  for (let at = index + 2, depth = 0; at < close; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0 && isWord(token, 'in') && inAt < 0) inAt = at;
    else if (depth === 0 && isPunct(token, ',') && inAt >= 0 && commaAfterIn < 0) commaAfterIn = at;
  }
  if (inAt < 0 && close === index + 3) return { message: 'Expected IN, found right parenthesis', code: '42601' };
  if (inAt >= 0 && commaAfterIn === inAt + 2) return { message: 'Expected right parenthesis, found comma', code: '42601' };
  return null;
}

/** True when the token at `at` is in a FROM list: FROM (or JOIN) comes before any other clause word at its depth. */
function inFromList(tokens: readonly Token[], at: number): boolean {
  for (let back = at - 1, depth = 0; back >= 0; back--) {
    const token = tokens[back]!;
    if (isPunct(token, ')')) depth++;
    else if (isPunct(token, '(')) {
      if (depth === 0) return false;
      depth--;
    } else if (depth === 0 && token.type === 'word') {
      if (token.value === 'from' || token.value === 'join') return true;
      if (token.value === 'select' || token.value === 'where' || token.value === 'having' || token.value === 'on') return false;
    }
  }
  return false;
}

/** Words before `(SELECT …)` that make it something other than a scalar subquery. */
const NOT_SCALAR_SUBQUERY = new Set(['from', 'join', 'lateral', 'exists', 'in', 'all', 'any', 'some', 'array', 'list', 'as', 'union', 'intersect', 'except', 'with']);

/**
 * A subquery with another number of columns than its place takes (subquery.slt), in Materialize's
 * words; PostgreSQL refuses both too, in others:
 * - `x < ALL (SELECT a, b)` (also ANY / SOME) with a scalar x: "subquery has 2 columns available
 *   but 1 columns specified";
 * - `(SELECT)` as a value: "Expected subselect to return 1 column, got 0 columns".
 * The columns are counted from the select list as written; one with `*` is left alone.
 */
function subqueryColumnsRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const open = index - 1;
  if (!isPunct(tokens[open], '(')) return null;
  const close = closingParen(tokens, open);
  if (close < 0) return null;
  const before = tokens[open - 1];
  if (close === index + 1) {
    if (before === undefined || isPunct(before, '(') || (before.type === 'word' && NOT_SCALAR_SUBQUERY.has(before.value))) return null;
    if (isPunct(before, ',') && inFromList(tokens, open)) return null;
    return { message: 'Expected subselect to return 1 column, got 0 columns', code: '42601' };
  }
  if (!(isWord(before, 'all') || isWord(before, 'any') || isWord(before, 'some'))) return null;
  const operator = tokens[open - 2];
  if (operator?.type !== 'operator' || isPunct(tokens[open - 3], ')')) return null;
  let columns = 1;
  for (let at = index + 1, depth = 0; at < close; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0 && token.type === 'word' && ['from', 'where', 'group', 'having', 'order', 'limit', 'offset', 'union', 'intersect', 'except', 'window', 'fetch'].includes(token.value)) break;
    else if (depth === 0 && isPunct(token, ',')) columns++;
    else if (depth === 0 && token.type === 'operator' && token.value === '*' && (isPunct(tokens[at - 1], ',') || isPunct(tokens[at - 1], '.') || at === index + 1)) return null;
  }
  return columns === 1 ? null : { message: `subquery has ${columns} columns available but 1 columns specified`, code: '42601' };
}

/**
 * Materialize's introspection relations (the per-replica logs: dataflows, operators, scheduling,
 * arrangements, …) cannot feed a materialized view: "materialized view objects cannot depend on
 * log sources" (materialized_views.slt). The local server has none of them (it would report the
 * name unknown); a CREATE MATERIALIZED VIEW naming one gets Materialize's refusal instead.
 */
const LOG_SOURCE_NAME = /^mz_(?:dataflow|scheduling|arrangement|message_counts|peek_durations|active_peeks|records_per_dataflow|worker_compute|compute_(?:frontiers|import_frontiers|exports|operator|delays|error_counts|hydration|dependencies)|expected_group_size_advice|lir_mapping)/;

function logSourceRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const name = tokens[index + 2];
  if (!isPunct(tokens[index + 1], '.') || name?.type !== 'word' || !LOG_SOURCE_NAME.test(name.value)) return null;
  const materialized = tokens.findIndex((token) => isWord(token, 'materialized'));
  if (!isWord(tokens[0], 'create') || materialized < 0 || !isWord(tokens[materialized + 1], 'view') || materialized > index) return null;
  return { message: 'materialized view objects cannot depend on log sources', code: '0A000' };
}

/**
 * A window's frame as Materialize plans it (window_funcs.slt): `GROUPS` frames are refused; a `RANGE`
 * frame is taken only as the default one (UNBOUNDED PRECEDING to CURRENT ROW, the end omitted or
 * spelled out); and a bound's offset is a literal unsigned integer in Materialize's grammar, so
 * `ROWS -1 PRECEDING` is a syntax error there (PostgreSQL checks the sign only when the frame is
 * used, and a function that ignores frames such as row_number() never uses it).
 */
function frameRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const next = tokens[index + 1];
  const negative = next?.type === 'operator' && next.value === '-';
  if (!(isWord(next, 'between') || isWord(next, 'unbounded') || isWord(next, 'current') || next?.type === 'number' || next?.type === 'param' || negative)) {
    return null;
  }
  const open = enclosingParen(tokens, index);
  if (open < 1 || !(isWord(tokens[open - 1], 'over') || isWord(tokens[open - 1], 'as'))) return null;
  const close = closingParen(tokens, open);
  const boundStarts: number[] = [];
  if (isWord(next, 'between')) {
    boundStarts.push(index + 2);
    for (let at = index + 2; at < close; at++) if (isWord(tokens[at], 'and')) boundStarts.push(at + 1);
  } else {
    boundStarts.push(index + 1);
  }
  // `- 1 PRECEDING`, not a column named rows or range in an ORDER BY expression (`ORDER BY rows - 1`).
  const negativeOffset = boundStarts.some((start) => {
    const sign = tokens[start];
    return sign?.type === 'operator' && sign.value === '-' && tokens[start + 1]?.type === 'number' && (isWord(tokens[start + 2], 'preceding') || isWord(tokens[start + 2], 'following'));
  });
  if (negativeOffset) return { message: 'Expected literal unsigned integer, found operator "-"', code: '42601' };
  if (negative) return null;
  const unit = tokens[index]!.value;
  if (unit === 'groups') return { message: 'GROUPS in window frames not yet supported', code: '0A000' };
  if (unit !== 'range') return null;
  const startsUnboundedPreceding = isWord(tokens[boundStarts[0]!], 'unbounded') && isWord(tokens[boundStarts[0]! + 1], 'preceding');
  const endsAtCurrentRow = boundStarts.length === 1 || isWord(tokens[boundStarts[1]!], 'current');
  return startsUnboundedPreceding && endsAtCurrentRow ? null : { message: 'RANGE in non-default window frames not yet supported', code: '0A000' };
}

/** `LIST[]` with no cast to give it a type (list.slt: "cannot determine type of empty list"). */
function emptyListRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '[') || !isPunct(tokens[index + 2], ']') || isPunct(tokens[index - 1], '.')) return null;
  const next = tokens[index + 3];
  if (next?.type === 'operator' && next.value === '::') return null;
  if (isWord(next, 'as') && isPunct(tokens[index - 1], '(') && isWord(tokens[index - 2], 'cast')) return null;
  return { message: 'cannot determine type of empty list', code: '42P18' };
}

/** `timestamp(7)`: Materialize's timestamps hold microseconds at most. */
function precisionRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || tokens[index + 2]?.type !== 'number' || !isPunct(tokens[index + 3], ')')) return null;
  const precision = Number(tokens[index + 2]!.value);
  return precision > 6 ? { message: 'precision for type timestamp or timestamptz must be between 0 and 6', code: '22023' } : null;
}

/** The argument spans (token index ranges) of the call whose `(` is at `open`. */
function callArguments(tokens: readonly Token[], open: number): Array<[number, number]> {
  const close = closingParen(tokens, open);
  if (close < 0) return [];
  const spans: Array<[number, number]> = [];
  let depth = 0;
  let start = open + 1;
  for (let at = open + 1; at < close; at++) {
    const token = tokens[at]!;
    if (token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
    else if (token.type === 'punct' && (token.value === ')' || token.value === ']')) depth--;
    else if (depth === 0 && isPunct(token, ',')) {
      spans.push([start, at]);
      start = at + 1;
    }
  }
  if (close > open + 1) spans.push([start, close]);
  return spans;
}

/** A table function or an aggregate called inside a table function's arguments (not in a subquery). */
function tableFunctionRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const close = closingParen(tokens, index + 1);
  for (let at = index + 2; at < close; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') && isWord(tokens[at + 1], 'select')) {
      at = closingParen(tokens, at);
      if (at < 0) return null;
      continue;
    }
    if (token.type !== 'word' || !isPunct(tokens[at + 1], '(') || isPunct(tokens[at - 1], '.')) continue;
    if (TABLE_FUNCTIONS.has(token.value)) return { message: 'table functions are not allowed in other table functions', code: '42601' };
    if (AGGREGATES.has(token.value)) {
      const callEnd = closingParen(tokens, at + 1);
      if (!isWord(tokens[callEnd + 1], 'over') && !isWord(tokens[callEnd + 1], 'filter')) {
        return { message: 'aggregate functions are not allowed in table function arguments', code: '42803' };
      }
    }
  }
  return null;
}

/** `COALESCE(ROW(1, 2), …)`, `GREATEST((1, 2), …)`. */
function rowArgumentRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  for (const [start, end] of callArguments(tokens, index + 1)) {
    const first = tokens[start];
    const isRow = isWord(first, 'row') && isPunct(tokens[start + 1], '(') && closingParen(tokens, start + 1) === end - 1;
    const isTuple = isPunct(first, '(') && closingParen(tokens, start) === end - 1 && callArguments(tokens, start).length > 1 && !isWord(tokens[start + 1], 'select');
    if (isRow || isTuple) {
      return { message: `${tokens[index]!.value.toUpperCase()} does not support ROW values`, code: '42804' };
    }
  }
  return null;
}

/** `DATE '…'` / `TIME '…'`. */
function typedLiteralRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const literal = tokens[index + 1];
  if (literal?.type !== 'string' || isPunct(tokens[index - 1], '.') || (tokens[index - 1]?.type === 'operator' && tokens[index - 1]!.value === '::')) return null;
  return literalRefusal(tokens[index]!.value, literal.value);
}

/** A SQL-standard `years-months` part of an interval's text (`1-2`, `-1-`). */
const YEAR_MONTH_PART = /(?:^|\s)[+-]?\d+-\d*(?=\s|$)/;
/** A year or month unit written out after a number (`3 year`, `2mons`). */
const YEAR_OR_MONTH_UNIT = /\d\s*(years?|y|months?|mons?)\b/i;

/**
 * Interval text Materialize's parser refuses and PostgreSQL's takes (interval.slt): a `years-months`
 * part with a year or month unit besides (`'1-2 3 year'`: PostgreSQL adds the years; Materialize
 * says the field is set twice), and a `+` right after a digit (`'1+2:3.4'`).
 */
function intervalTextRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const next = tokens[index + 1];
  const typed = isWord(tokens[index - 1], 'interval') && !isPunct(tokens[index - 2], '.');
  const cast = next?.type === 'operator' && next.value === '::' && isWord(tokens[index + 2], 'interval');
  if (!typed && !cast) return null;
  const text = tokens[index]!.value;
  if (/\d\+/.test(text)) return { message: `invalid input syntax for type interval: ${JSON.stringify(text)}`, code: '22007' };
  if (!YEAR_MONTH_PART.test(text)) return null;
  const unit = YEAR_OR_MONTH_UNIT.exec(text);
  if (!unit) return null;
  const field = /^y/i.test(unit[1]!) ? 'YEAR' : 'MONTH';
  return { message: `invalid input syntax for type interval: ${field} field set twice: ${JSON.stringify(text)}`, code: '22007' };
}

/** `'…'::date`, `'…'::time`, `CAST('…' AS date)`. */
function castLiteralRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const type = castTypeOf(tokens, index);
  // `'{{1},{2}}'::int[]`: Materialize reads no array text of more than one dimension (arrays built
  // with ARRAY[[…]] are fine), table_func.slt and list.slt.
  if (isWord(type) && isPunct(tokens[index + 3], '[') && /^\s*\{\s*\{/.test(tokens[index]!.value)) {
    return { message: 'invalid input syntax for type array: parsing multi-dimensional arrays is not supported', code: '22P02' };
  }
  if (!isWord(type) || !(DATE_TYPES.has(type!.value) || TIME_TYPES.has(type!.value) || JSON_TYPES.has(type!.value))) return null;
  // `time with time zone` / `time without …` are other types PostgreSQL parses alike.
  return literalRefusal(type!.value, tokens[index]!.value);
}

function literalRefusal(type: string, value: string): Refusal | null {
  if (JSON_TYPES.has(type)) return jsonNumberRefusal(value) ?? jsonSyntaxRefusal(value);
  const trimmed = value.trim();
  const bad =
    (DATE_TYPES.has(type) && (/^[+-]?infinity$/i.test(trimmed) || /^\d+-\d{1,2}-\d{1,2}[A-SU-Za-su-z]/.test(trimmed))) ||
    (TIME_TYPES.has(type) && trimmed.includes('::'));
  return bad ? { message: `invalid input syntax for type ${type}: ${JSON.stringify(value)}`, code: '22007' } : null;
}

/** A literal flags argument of a regexp_* function with a flag Materialize does not have. */
function regexFlagRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const spec = REGEX_FLAG_POSITIONS[tokens[index]!.value]!;
  const args = callArguments(tokens, index + 1);
  const flagsArg = args[spec.argument - 1];
  if (!flagsArg || flagsArg[1] !== flagsArg[0] + 1) return null;
  const flags = tokens[flagsArg[0]]!;
  if (flags.type !== 'string') return null;
  for (const flag of flags.value) {
    if (!spec.allowed.includes(flag)) return { message: `invalid regular expression flag: ${flag}`, code: '22023' };
  }
  return null;
}

/**
 * A JSON literal with a number of more than 39 integer digits: Materialize stores jsonb numbers as
 * its numeric and refuses the literal (jsonb.slt: "… is out of range for type numeric: exceeds
 * maximum precision 39 at line 1"); PostgreSQL keeps any number of digits. Digits inside strings
 * do not count. Only a literal run of 40 digits is looked at further, so other literals cost one test.
 */
/**
 * A JSON literal that is not one JSON value: refused in serde_json's words, as Materialize reads
 * it (jsonb.slt: `'{'::jsonb` is "EOF while parsing an object at line 1 column 1"), where
 * PostgreSQL says "invalid input syntax for type json". Both refuse the same texts.
 */
function jsonSyntaxRefusal(value: string): Refusal | null {
  let message: string | null = null;
  try {
    const spans = scanJsonStream(value);
    if (spans.length === 0) message = `EOF while parsing a value at line ${value.split('\n').length} column ${value.length - value.lastIndexOf('\n') - 1}`;
    else if (spans.length > 1) {
      const before = value.slice(0, spans[1]!.start);
      message = `trailing characters at line ${before.split('\n').length} column ${before.length - before.lastIndexOf('\n')}`;
    }
  } catch (error) {
    if (!(error instanceof JsonScanError)) throw error;
    message = error.message;
  }
  return message === null ? null : { message: `invalid input syntax for type jsonb: ${message}: ${JSON.stringify(value)}`, code: '22P02' };
}

function jsonNumberRefusal(value: string): Refusal | null {
  if (!/\d{40}/.test(value)) return null;
  let line = 1;
  let lineStart = 0;
  for (let at = 0; at < value.length; at++) {
    const char = value[at]!;
    if (char === '\n') {
      line++;
      lineStart = at + 1;
    } else if (char === '"') {
      for (at++; at < value.length && value[at] !== '"'; at++) if (value[at] === '\\') at++;
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      const number = /^-?(\d+)(\.\d+)?([eE][+-]?\d+)?/.exec(value.slice(at));
      if (!number) continue;
      const digits = number[1]!.replace(/^0+/, '').length;
      const end = at + number[0].length;
      if (digits > NUMERIC_MAX_PRECISION && !number[3]) {
        return {
          message: `invalid input syntax for type jsonb: "${number[0]}" is out of range for type numeric: exceeds maximum precision ${NUMERIC_MAX_PRECISION} at line ${line} column ${end - lineStart}`,
          code: '22P02',
        };
      }
      at = end - 1;
    }
  }
  return null;
}

/** `array_agg(…) OVER …`: Materialize does not run array_agg as a window function (window_funcs.slt). */
function aggregateWindowRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const close = closingParen(tokens, index + 1);
  let after = close + 1;
  // FILTER (WHERE …) may sit between the call and OVER.
  if (isWord(tokens[after], 'filter') && isPunct(tokens[after + 1], '(')) after = closingParen(tokens, after + 1) + 1;
  return close > 0 && isWord(tokens[after], 'over') ? { message: 'aggregate window functions not yet supported', code: '0A000' } : null;
}

/** Words in an aggregate's arguments that are not column names. */
const ARGUMENT_KEYWORDS = new Set([
  'distinct', 'all', 'order', 'by', 'asc', 'desc', 'nulls', 'first', 'last', 'case', 'when', 'then', 'else', 'end', 'and', 'or',
  'not', 'null', 'true', 'false', 'is', 'in', 'like', 'ilike', 'between', 'interval', 'cast', 'as', 'filter', 'where', 'collate',
]);

/**
 * `(SELECT agg(o.x) FROM items)` where every column the aggregate reads is qualified by a name that
 * the subquery's FROM does not bind: PostgreSQL computes it in the outer query, Materialize refuses
 * it. Unqualified names (which may be the subquery's own) leave the statement alone.
 */
function outerAggregateRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  let open = enclosingParen(tokens, index);
  while (open >= 0 && !isWord(tokens[open + 1], 'select')) open = enclosingParen(tokens, open);
  if (open < 0) return null;
  const close = closingParen(tokens, index + 1);
  if (close < 0 || isWord(tokens[close + 1], 'over')) return null;
  const qualifiers = new Set<string>();
  for (let at = index + 2; at < close; at++) {
    const token = tokens[at]!;
    if (token.type !== 'word' && token.type !== 'quoted') continue;
    const previous = tokens[at - 1];
    if (previous?.type === 'operator' && previous.value === '::') continue; // a type name
    if (isPunct(previous, '.') || isPunct(tokens[at + 1], '(')) continue; // a field, or a function
    if (isPunct(tokens[at + 1], '.')) {
      qualifiers.add(token.value);
      continue;
    }
    if (token.type === 'quoted' || !ARGUMENT_KEYWORDS.has(token.value)) return null; // a name that may be the subquery's own
  }
  if (qualifiers.size === 0) return null;
  // Every name after FROM or JOIN inside the subquery may be one of its relations or aliases.
  const subqueryEnd = closingParen(tokens, open);
  const bound = new Set<string>();
  let inFrom = false;
  for (let at = open + 1; at < subqueryEnd; at++) {
    const token = tokens[at]!;
    if (isWord(token, 'from') || isWord(token, 'join')) inFrom = true;
    else if (isWord(token, 'where') || isWord(token, 'group') || isWord(token, 'having') || isWord(token, 'select')) inFrom = false;
    else if (inFrom && (token.type === 'word' || token.type === 'quoted')) bound.add(token.value);
  }
  for (const qualifier of qualifiers) if (bound.has(qualifier)) return null;
  return { message: 'aggregate functions that refer exclusively to outer columns not yet supported', code: '0A000' };
}
