/**
 * `WITH MUTUALLY RECURSIVE` (doc/user/content/sql/select/recursive-ctes.md) evaluated as
 * Materialize evaluates it: every binding starts empty; each round computes the bindings in order,
 * each from the newest contents of the others (a binding may read any binding, before or after it,
 * itself included, any number of times, in aggregates and subqueries), until a round changes
 * nothing.
 *
 * PostgreSQL's `WITH RECURSIVE` iterates differently (each round sees only the previous round's new
 * rows, one linear self-reference), so the bindings' whole state is carried instead, one row per
 * round, each binding's rows as a sorted jsonb array (sorted, a multiset compares as equal when it
 * is):
 *
 *   WITH RECURSIVE mz_wmr_N(round, done, s0, s1, …) AS (
 *     SELECT 0, false, '[]', '[]', …
 *     UNION ALL
 *     SELECT w.round + 1, n0.v = w.s0 AND n1.v = w.s1 …, n0.v, n1.v, …
 *     FROM mz_wmr_N w
 *     CROSS JOIN LATERAL (WITH <each binding as the jsonb it has now> SELECT <body 0's rows as jsonb>) n0
 *     CROSS JOIN LATERAL (… body 1, binding 0 read from n0 …) n1
 *     WHERE NOT w.done [AND w.round < limit]
 *   ),
 *   name0 (cols) AS (<the last round's s0 as rows of the declared types>), …
 *   <the query, unchanged>
 *
 * Each body keeps its own text: inside its LATERAL subquery the binding names are CTEs of the
 * declared columns and types, so name resolution (shadowing a table, a nested WITH shadowing a
 * binding) is PostgreSQL's own. The body's columns are checked against the declared ones (count,
 * and a common type through mz_local.wmr_declared), refused with Materialize's words
 * (error-text.ts). `RETURN AT RECURSION LIMIT n` answers the state after n rounds; `ERROR AT
 * RECURSION LIMIT n` (and `RECURSION LIMIT n`) fails when n rounds did not reach the fixed point.
 *
 * Cost: one jsonb array per binding per round, rebuilt and compared whole; every round's state is
 * kept by PostgreSQL until the statement ends (a 200-round reachability over 4,000 rows: 2.4 s).
 * So bindings PostgreSQL's own iteration gets right (each reads only earlier bindings, or itself
 * once, directly, in a monotone linear recursive term of a top-level UNION) run as the plain WITH
 * RECURSIVE they are (the same query: 32 ms), with unread CTEs that check the declared columns.
 */
import { isPunct, isWord, closingParen } from './token-walk.ts';
import { tokenize, type TextEdit, type Token } from './tokens.ts';

export type MutuallyRecursivePlan = { edits: TextEdit[]; skip: Array<[number, number]> };

/** Rewrites a fragment of SQL (a binding's body, a column's type) with the dialect's edits. */
export type FragmentRewriter = (text: string) => string;

interface Binding {
  name: string;
  columns: Array<{ name: string; type: string }>;
  body: string;
}

let planCount = 0;

/**
 * PostgreSQL's reserved words (its keywords appendix: reserved, and those that may name a function
 * or type but not a table). Materialize reserves only a few words, so a binding may be named with
 * one of these (with_mutually_recursive.slt names one `both`): it is quoted where it is defined
 * and where it is read.
 */
const POSTGRES_RESERVED = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'authorization', 'binary', 'both', 'case', 'cast',
  'check', 'collate', 'collation', 'column', 'concurrently', 'constraint', 'create', 'cross', 'current_catalog', 'current_date',
  'current_role', 'current_schema', 'current_time', 'current_timestamp', 'current_user', 'default', 'deferrable', 'desc', 'distinct',
  'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'freeze', 'from', 'full', 'grant', 'group', 'having', 'ilike',
  'in', 'initially', 'inner', 'intersect', 'into', 'is', 'isnull', 'join', 'lateral', 'leading', 'left', 'like', 'limit', 'localtime',
  'localtimestamp', 'natural', 'not', 'notnull', 'null', 'offset', 'on', 'only', 'or', 'order', 'outer', 'overlaps', 'placing',
  'primary', 'references', 'returning', 'right', 'select', 'session_user', 'similar', 'some', 'symmetric', 'system_user', 'table',
  'tablesample', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'verbose', 'when', 'where',
  'window', 'with',
]);

/**
 * The words Materialize's parser never takes as a name (its keywords' `is_always_reserved`: the
 * clauses of a SELECT and the set operations). A binding named with one of these is a syntax error
 * there, so it is not quoted here: PostgreSQL refuses it too.
 */
const MATERIALIZE_RESERVED = new Set([
  'with', 'select', 'from', 'where', 'group', 'having', 'qualify', 'window', 'order', 'limit', 'offset', 'fetch', 'options', 'returning',
  'union', 'except', 'intersect',
]);

/** A bare name Materialize takes and PostgreSQL reserves: quoted for PostgreSQL. */
function needsQuotes(name: string): boolean {
  return POSTGRES_RESERVED.has(name) && !MATERIALIZE_RESERVED.has(name);
}

/** Double-quoted unless a plain lower-case name PostgreSQL does not reserve. */
function identifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !needsQuotes(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * The edits that quote the reads of bindings named with a PostgreSQL reserved word: the word after
 * FROM, JOIN or a comma, or before a `.` (a qualified column).
 */
function reservedNameReads(tokens: readonly Token[], from: number, to: number, reserved: ReadonlySet<string>): TextEdit[] {
  const edits: TextEdit[] = [];
  for (let at = from; at < to; at++) {
    const token = tokens[at]!;
    if (token.type !== 'word' || !reserved.has(token.value) || isPunct(tokens[at - 1], '.')) continue;
    const previous = tokens[at - 1];
    if (isWord(previous, 'from') || isWord(previous, 'join') || isPunct(previous, ',') || isPunct(tokens[at + 1], '.')) {
      edits.push({ start: token.start, end: token.end, text: identifier(token.value) });
    }
  }
  return edits;
}

/** `text` with `edits` (sorted, not overlapping) applied. */
function withEdits(text: string, edits: readonly TextEdit[]): string {
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}

/**
 * The plan for `WITH MUTUALLY RECURSIVE` at `index` (the word `mutually`), or null when it is not
 * one (or its bindings do not parse: PostgreSQL then reports the syntax error).
 */
export function mutuallyRecursivePlan(
  tokens: readonly Token[],
  index: number,
  sql: string,
  rewriteBody: FragmentRewriter,
  rewriteType: FragmentRewriter,
): MutuallyRecursivePlan | null {
  if (!isWord(tokens[index - 1], 'with') || !isWord(tokens[index + 1], 'recursive')) return null;
  let at = index + 2;
  let limit: { value: number; action: 'error' | 'return' } | null = null;
  if (isPunct(tokens[at], '(')) {
    const close = closingParen(tokens, at);
    if (close < 0) return null;
    const words = tokens.slice(at + 1, close).map((token) => token.value).join(' ');
    const option = /^(?:(return|error) at )?recursion limit (\d+)$/.exec(words);
    if (!option) return null;
    limit = { value: Number(option[2]), action: option[1] === 'return' ? 'return' : 'error' };
    at = close + 1;
  }
  const bindings: Binding[] = [];
  let last = at;
  const reserved = reservedBindingNames(tokens, at);
  for (;;) {
    const name = tokens[at];
    if (!name || !(name.type === 'word' || name.type === 'quoted') || !isPunct(tokens[at + 1], '(')) return null;
    const columnsClose = closingParen(tokens, at + 1);
    if (columnsClose < 0 || !isWord(tokens[columnsClose + 1], 'as') || !isPunct(tokens[columnsClose + 2], '(')) return null;
    // Column definitions: `name type`, split at the top-level commas.
    const columns: Binding['columns'] = [];
    let depth = 0;
    let start = at + 2;
    for (let column = at + 2; column <= columnsClose; column++) {
      const token = tokens[column]!;
      if (column < columnsClose && (isPunct(token, '(') || isPunct(token, '['))) depth++;
      else if (column < columnsClose && (isPunct(token, ')') || isPunct(token, ']'))) depth--;
      else if (column === columnsClose || (depth === 0 && isPunct(token, ','))) {
        const columnName = tokens[start];
        if (!columnName || column - start < 2 || !(columnName.type === 'word' || columnName.type === 'quoted')) return null;
        columns.push({ name: columnName.value, type: rewriteType(sql.slice(tokens[start + 1]!.start, tokens[column - 1]!.end)) });
        start = column + 1;
      }
    }
    const bodyOpen = columnsClose + 2;
    const bodyClose = closingParen(tokens, bodyOpen);
    if (bodyClose < 0) return null;
    let body = bodyClose === bodyOpen + 1 ? '' : sql.slice(tokens[bodyOpen + 1]!.start, tokens[bodyClose - 1]!.end);
    if (reserved.size > 0) {
      const offset = tokens[bodyOpen + 1]!.start;
      const reads = reservedNameReads(tokens, bodyOpen + 1, bodyClose, reserved).map((edit) => ({ ...edit, start: edit.start - offset, end: edit.end - offset }));
      body = withEdits(body, reads);
    }
    bindings.push({ name: name.value, columns, body: rewriteBody(body) });
    last = bodyClose;
    at = bodyClose + 1;
    if (!isPunct(tokens[at], ',')) break;
    at++;
  }
  const cte = `mz_wmr_${++planCount}`;
  // Bindings PostgreSQL's own iteration reaches the same fixed point for (each reads only earlier
  // bindings, or itself once in a monotone, linear recursive term): WITH RECURSIVE as written, its
  // semi-naive evaluation far faster than carrying the whole state round after round.
  const fast = !limit && bindings.every((_, position) => linearOrPlain(bindings, position));
  const text = fast ? plainRecursiveText(bindings, cte) : recursiveText(bindings, limit, cte);
  // The query after the bindings reads them too.
  const tailReads = reserved.size > 0 ? reservedNameReads(tokens, last + 1, tokens.length, reserved) : [];
  return { edits: [{ start: tokens[index]!.start, end: tokens[last]!.end, text }, ...tailReads], skip: [[index, last]] };
}

/** The bindings' names (from `at`, the first binding) that PostgreSQL reserves. */
function reservedBindingNames(tokens: readonly Token[], at: number): Set<string> {
  const names = new Set<string>();
  while (tokens[at]?.type === 'word' && isPunct(tokens[at + 1], '(')) {
    if (needsQuotes(tokens[at]!.value)) names.add(tokens[at]!.value);
    const columnsClose = closingParen(tokens, at + 1);
    if (columnsClose < 0 || !isWord(tokens[columnsClose + 1], 'as') || !isPunct(tokens[columnsClose + 2], '(')) break;
    const bodyClose = closingParen(tokens, columnsClose + 2);
    if (bodyClose < 0 || !isPunct(tokens[bodyClose + 1], ',')) break;
    at = bodyClose + 2;
  }
  return names;
}

/** Words that make a recursive term other than monotone and linear (or a body too hard to read). */
const NOT_LINEAR = new Set([
  'group', 'distinct', 'having', 'limit', 'offset', 'fetch', 'except', 'intersect', 'union', 'over', 'window', 'exists', 'left', 'right',
  'full', 'lateral', 'with', 'order', 'recursive', 'mutually',
]);
const AGGREGATES = new Set([
  'count', 'sum', 'min', 'max', 'avg', 'array_agg', 'list_agg', 'string_agg', 'jsonb_agg', 'jsonb_object_agg', 'map_agg', 'bool_and',
  'bool_or', 'every', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp',
]);

/**
 * True when the binding at `position` reads only bindings before it (PostgreSQL has them whole by
 * then), or reads itself exactly once, directly in the FROM of the recursive term of a top-level
 * `UNION [ALL]`, with nothing in that term that is not monotone (no aggregate, DISTINCT, NOT,
 * outer join, subquery, LIMIT): then PostgreSQL's semi-naive iteration and Materialize's rounds
 * reach the same result.
 */
function linearOrPlain(bindings: Binding[], position: number): boolean {
  const names = bindings.map((binding) => binding.name);
  const tokens = tokenize(bindings[position]!.body);
  const reads = (from: number, to: number, which: (index: number) => boolean) =>
    tokens.slice(from, to).filter((token, offset) => {
      const at = from + offset;
      if (!(token.type === 'word' || token.type === 'quoted') || isPunct(tokens[at + 1], '.') || isPunct(tokens[at - 1], '.')) return false;
      const index = names.indexOf(token.value);
      return index >= 0 && which(index);
    }).length;
  if (reads(0, tokens.length, (index) => index >= position) === 0) return true;
  if (reads(0, tokens.length, (index) => index > position) > 0) return false;
  // The one top-level UNION [ALL].
  let union = -1;
  for (let at = 0, depth = 0; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(')) depth++;
    else if (isPunct(token, ')')) depth--;
    else if (depth === 0 && isWord(token, 'union')) {
      if (union >= 0) return false;
      union = at;
    }
  }
  if (union < 0 || reads(0, union, (index) => index === position) > 0) return false;
  const start = isWord(tokens[union + 1], 'all') ? union + 2 : union + 1;
  let self = -1;
  for (let at = start, depth = 0; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(')) {
      depth++;
      if (isWord(tokens[at + 1], 'select') || isWord(tokens[at + 1], 'values')) return false;
      continue;
    }
    if (isPunct(token, ')')) {
      depth--;
      continue;
    }
    if (token.type === 'word' && NOT_LINEAR.has(token.value)) return false;
    if (isWord(token, 'not') && !isWord(tokens[at - 1], 'is')) return false;
    if (token.type === 'word' && AGGREGATES.has(token.value) && isPunct(tokens[at + 1], '(')) return false;
    if ((token.type === 'word' || token.type === 'quoted') && token.value === names[position] && !isPunct(tokens[at + 1], '.') && !isPunct(tokens[at - 1], '.')) {
      if (self >= 0 || depth > 0) return false;
      const before = tokens[at - 1];
      if (!(isWord(before, 'from') || isWord(before, 'join') || isPunct(before, ','))) return false;
      self = at;
    }
  }
  return self >= 0;
}

/**
 * The bindings as PostgreSQL's WITH RECURSIVE, and for each a CTE no query reads that checks the
 * body's columns against the declared ones (PostgreSQL analyses every CTE, read or not).
 */
function plainRecursiveText(bindings: Binding[], cte: string): string {
  const row = 'mz_wmr_row';
  const definitions = bindings.map((binding) => `${identifier(binding.name)} (${columnList(binding)}) AS (${binding.body})`);
  const checks = bindings.map((binding, index) => {
    const declared = binding.columns.map((column) => `${row}.${identifier(column.name)}`);
    const conditions = [
      `(ROW(${row}.*) IS NOT DISTINCT FROM ROW(${declared.join(', ')})) IS NOT NULL`,
      ...binding.columns.map((column, columnIndex) => `mz_local.wmr_declared(${declared[columnIndex]}, NULL::${column.type})`),
    ];
    // Fewer columns than declared fail the binding's own column list, more the row comparison.
    return `${cte}_check${index} AS (SELECT 1 FROM ${identifier(binding.name)} AS ${row}(${columnList(binding)}) WHERE false AND ${conditions.join(' AND ')})`;
  });
  return `RECURSIVE ${[...definitions, ...checks].join(', ')}`;
}

function recordColumns(binding: Binding): string {
  return binding.columns.map((column) => `${identifier(column.name)} ${column.type}`).join(', ');
}

function columnList(binding: Binding): string {
  return binding.columns.map((column) => identifier(column.name)).join(', ');
}

/** `name (cols) AS (the rows of the jsonb array `state` as the declared columns)`. */
function bindingFromState(binding: Binding, state: string): string {
  return `${identifier(binding.name)} (${columnList(binding)}) AS (SELECT * FROM jsonb_to_recordset(${state}) AS mz_wmr_state(${recordColumns(binding)}))`;
}

function recursiveText(bindings: Binding[], limit: { value: number; action: 'error' | 'return' } | null, cte: string): string {
  const states = bindings.map((_, index) => `s${index}`);
  const rounds = bindings.map((binding, index) => {
    // Bindings before this one were computed this round (n<i>.v), the others are last round's.
    const scope = bindings.map((other, otherIndex) => bindingFromState(other, otherIndex < index ? `n${otherIndex}.v` : `w.s${otherIndex}`));
    const row = 'mz_wmr_row';
    const declared = binding.columns.map((column) => `${row}.${identifier(column.name)}`);
    // Plan-time checks against the declared columns: fewer columns fail the alias list, more fail
    // the row comparison, another type fails mz_local.wmr_declared; none filters a row.
    const checks = [
      `(ROW(${row}.*) IS NOT DISTINCT FROM ROW(${declared.join(', ')})) IS NOT NULL`,
      ...binding.columns.map((column, columnIndex) => `mz_local.wmr_declared(${declared[columnIndex]}, NULL::${column.type})`),
    ];
    return (
      `CROSS JOIN LATERAL (WITH ${scope.join(', ')} SELECT coalesce(jsonb_agg(to_jsonb(${row}) ORDER BY to_jsonb(${row})), '[]'::jsonb) AS v ` +
      `FROM (${binding.body}) AS ${row}(${columnList(binding)}) WHERE ${checks.join(' AND ')}) n${index}`
    );
  });
  const unchanged = bindings.map((_, index) => `n${index}.v = w.s${index}`).join(' AND ');
  const bound = limit ? ` AND w.round < ${limit.value + (limit.action === 'error' ? 1 : 0)}` : '';
  const recursive =
    `RECURSIVE ${cte} (round, done, ${states.join(', ')}) AS (` +
    `SELECT 0, false, ${states.map(() => `'[]'::jsonb`).join(', ')} ` +
    `UNION ALL SELECT w.round + 1, ${unchanged}, ${bindings.map((_, index) => `n${index}.v`).join(', ')} FROM ${cte} w ${rounds.join(' ')} ` +
    `WHERE NOT w.done${bound})`;
  // The last round's state; at an ERROR limit, reaching it without the fixed point fails.
  const lastRound = `(SELECT * FROM ${cte} ORDER BY round DESC LIMIT 1) w`;
  const withinLimit = limit?.action === 'error' ? ` WHERE mz_local.wmr_within_limit(w.done, ${limit.value})` : '';
  const finals = bindings.map(
    (binding, index) =>
      `${identifier(binding.name)} (${columnList(binding)}) AS (SELECT mz_wmr_state.* FROM ${lastRound}, ` +
      `jsonb_to_recordset(w.s${index}) AS mz_wmr_state(${recordColumns(binding)})${withinLimit})`,
  );
  return `${recursive}, ${finals.join(', ')}`;
}
