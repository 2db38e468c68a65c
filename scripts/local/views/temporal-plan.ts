/**
 * Temporal filters kept (issue 30, item 2). Materialize's temporal filter is `mz_now() <op> <expr>`
 * with op one of =, <, <=, >, >= (BETWEEN desugars to two of them), `<expr>` free of mz_now(),
 * combined with the rest of the WHERE clause by AND (docs: sql/functions/now_and_mz_now,
 * transform-data/patterns/temporal-filters). As mz_now() advances, rows whose filter stops holding
 * are retracted and rows whose filter starts holding are added.
 *
 * A kept view keyed by its groups (keyed-refresh-plan.ts, refresh kind 'view') whose WHERE has such
 * terms is kept here as well: each input row's membership can only change at the times its terms
 * name — its boundaries — so the view's kept rows, computed at time T, hold until the earliest
 * boundary after T. The server keeps, per group, the group's earliest boundary after its last
 * recomputation (mz_local.mv_e_<id>, indexed by time); the earliest of all is the view's
 * next_change, and a read before it reads the kept rows (catalog/kept-views.sql, is_fresh). Once
 * time passes a boundary, the groups whose boundary passed are recomputed — a time-ordered expiry,
 * by key, so its cost follows the rows that enter or leave, not the history — and their changes go
 * to the view's change log like any keyed refresh's.
 *
 * Boundaries come from a view of the definition without its temporal terms
 * (mz_local.mv_w_<id>: the group keys and each boundary of every input row), built here from the
 * definition as PostgreSQL deparses it, checked term by term against the query tree. With time
 * resolved to PostgreSQL's microseconds, membership is constant on [c, next c) where c is, for
 * `mz_now() < e` and `mz_now() >= e`, e; for `mz_now() <= e` and `mz_now() > e`, e + 1 µs; for
 * `mz_now() = e`, both. While the view's keys are found after writes, mv_w reads the changes of
 * the kept views under it (delta mode), whatever their time: a row appended for the future is
 * found when it is appended, and its boundary recorded then.
 *
 * Anything else using time — mz_now() elsewhere (in a SELECT list, under OR, in HAVING), now(),
 * current_timestamp, a view using time under the view, a shape not kept by key — is computed on
 * every read, and the server log says so.
 */
import { scanOutsideQuotes, topLevelClauses } from './aggregate-plan.ts';
import { field, NotKeyed, viewQuery } from './keyed-refresh-plan.ts';
import { findNodes, isNode, listOf, type TreeNode, type TreeValue } from './query-tree.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';

export interface TemporalPlan {
  /** The SELECT of mz_local.mv_w_<id>: the key columns and `at` (timestamptz), one row per boundary of an input row. */
  readonly boundariesSelect: string;
  /** The temporal terms, as deparsed (for the server log and tests). */
  readonly terms: readonly string[];
}

export type TemporalPlanResult = { readonly plan: TemporalPlan } | { readonly reason: string };

export interface TimeFunctions {
  /** pg_catalog.mz_now()'s OID. */
  readonly mzNow: string;
  /** Every function whose value changes with time (mz_now() among them). */
  readonly all: ReadonlySet<string>;
  /** Operator OID → name, for the operators of the view's comparisons. */
  readonly operatorName: (oid: string) => string | undefined;
}

const COMPARISONS = new Set(['<', '<=', '>', '>=', '=']);
const FLIPPED: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };
/** CURRENT_DATE, CURRENT_TIME[STAMP], LOCALTIME[STAMP] (SQLValueFunctionOp 0–8). */
const TIME_VALUE_OPS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8']);

/** `text` without parentheses enclosing all of it. */
export function stripOuterParentheses(text: string): string {
  let current = text.trim();
  for (;;) {
    if (!current.startsWith('(') || !current.endsWith(')')) return current;
    // The parenthesis opening it must close at its end: depth 0 reached only there.
    let closesEarly = false;
    const inner = current.slice(1, -1);
    scanOutsideQuotes(inner, (_index, depth) => {
      if (depth < 0) closesEarly = true;
      return closesEarly;
    });
    if (closesEarly || scanOutsideQuotes(inner) !== 0) return current;
    current = inner.trim();
  }
}

/** The top-level ` AND `-separated parts of `text` (outside quotes and parentheses). */
export function splitTopLevelAnd(text: string): string[] {
  const cuts: number[] = [];
  scanOutsideQuotes(text, (index, depth) => {
    if (depth === 0 && text.startsWith(' AND ', index)) cuts.push(index);
  });
  const parts: string[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(text.slice(start, cut).trim());
    start = cut + ' AND '.length;
  }
  parts.push(text.slice(start).trim());
  return parts;
}

interface DeparsedParts {
  /** SELECT list items, in order (after any DISTINCT ON (…)). */
  readonly items: readonly string[];
  /** `FROM …` up to WHERE. */
  readonly from: string;
  /** The WHERE condition, or null. */
  readonly where: string | null;
}

/** Splits a deparsed `SELECT [DISTINCT ON (…)] … FROM … [WHERE …] [GROUP BY …] [ORDER BY …]`. */
export function splitDeparsed(definition: string): DeparsedParts {
  const sql = definition.trim().replace(/;$/, '');
  const { clauses, commas } = topLevelClauses(sql);
  const words = clauses.map((clause) => clause.word);
  const allowed = ['SELECT', 'FROM', 'WHERE', 'GROUP BY', 'ORDER BY'];
  if (words[0] !== 'SELECT' || clauses[0]!.index !== 0 || words[1] !== 'FROM' || words.some((word, index) => allowed.indexOf(word) < 0 || (index > 0 && allowed.indexOf(word) <= allowed.indexOf(words[index - 1]!)))) {
    throw new NotKeyed(`its definition is not SELECT … FROM … [WHERE …] [GROUP BY …] [ORDER BY …] (found ${words.join(' ')})`);
  }
  const at = (word: string) => clauses.find((clause) => clause.word === word);
  const from = at('FROM')!;
  const where = at('WHERE');
  const after = (index: number) => clauses.find((clause) => clause.index > index)?.index ?? sql.length;
  let listStart = 'SELECT'.length;
  const distinctOn = /^\s+DISTINCT\s+ON\s*\(/.exec(sql.slice(listStart));
  if (distinctOn) {
    // Past the parenthesis closing DISTINCT ON's: the first character outside it (depth -1 from inside).
    const open = listStart + distinctOn[0].length - 1;
    let close = -1;
    scanOutsideQuotes(sql.slice(open + 1, from.index), (index, depth) => {
      if (depth >= 0) return false;
      close = open + 1 + index;
      return true;
    });
    if (close < 0) throw new NotKeyed('its DISTINCT ON could not be read back from its definition');
    listStart = close;
  } else if (/^\s+DISTINCT\b/.test(sql.slice(listStart))) {
    throw new NotKeyed('it has DISTINCT');
  }
  const bounds = [listStart, ...commas.filter((comma) => comma > listStart && comma < from.index).map((comma) => comma + 1), from.index + 1];
  const items = bounds.slice(1).map((end, index) => sql.slice(bounds[index]!, end - 1).trim());
  return {
    items,
    from: sql.slice(from.index, where ? where.index : after(from.index)).trim(),
    where: where ? sql.slice(where.index + 'WHERE'.length, after(where.index)).trim() : null,
  };
}

function isMzNow(node: TreeValue, time: TimeFunctions): boolean {
  return isNode(node, 'FUNCEXPR') && field(node, 'funcid') === time.mzNow && listOf(field(node, 'args')).length === 0;
}

/** Time functions anywhere under `value`. */
function timeCalls(value: TreeValue, time: TimeFunctions): number {
  const functions = findNodes(value, 'FUNCEXPR').filter((node) => time.all.has(String(field(node, 'funcid')))).length;
  const values = findNodes(value, 'SQLVALUEFUNCTION').filter((node) => TIME_VALUE_OPS.has(String(field(node, 'op')))).length;
  return functions + values;
}

/** The WHERE clause's AND terms, flattened (BETWEEN nests one), each with its deparsed text. */
function pairedConjuncts(quals: TreeValue, text: string): { node: TreeValue; text: string }[] {
  if (isNode(quals, 'BOOLEXPR') && field(quals, 'boolop') === 'and') {
    const args = listOf(field(quals, 'args'));
    const parts = splitTopLevelAnd(stripOuterParentheses(text));
    if (parts.length !== args.length) throw new NotKeyed('its WHERE clause could not be read back from its definition');
    return args.flatMap((arg, index) => pairedConjuncts(arg, parts[index]!));
  }
  return [{ node: quals, text }];
}

/** `mz_now() <op> e` as [op, e's text] with mz_now() on the left, or null when `term` is no temporal comparison. */
function temporalTerm(term: { node: TreeValue; text: string }, time: TimeFunctions): { op: string; expression: string } {
  const node = term.node;
  const args = isNode(node, 'OPEXPR') ? listOf(field(node, 'args')) : [];
  const op = isNode(node, 'OPEXPR') ? time.operatorName(String(field(node, 'opno'))) : undefined;
  if (!isNode(node, 'OPEXPR') || args.length !== 2 || op === undefined || !COMPARISONS.has(op)) {
    throw new NotKeyed(`it uses mz_now() other than compared with =, <, <=, > or >= in a top-level AND term of its WHERE clause (${term.text})`);
  }
  const text = stripOuterParentheses(term.text);
  const left = isMzNow(args[0]!, time);
  const right = isMzNow(args[1]!, time);
  if (left === right) throw new NotKeyed(`its temporal filter does not compare mz_now() with an expression free of it (${term.text})`);
  const other = left ? args[1]! : args[0]!;
  if (timeCalls(other, time) > 0) throw new NotKeyed(`its temporal filter compares mz_now() with an expression using the time (${term.text})`);
  if (findNodes(other, 'SUBLINK').length > 0) throw new NotKeyed(`its temporal filter compares mz_now() with a subquery (${term.text})`);
  const prefix = `mz_now() ${op} `;
  const suffix = ` ${op} mz_now()`;
  if (left && text.startsWith(prefix)) return { op, expression: text.slice(prefix.length) };
  if (right && text.endsWith(suffix)) return { op: FLIPPED[op]!, expression: text.slice(0, -suffix.length) };
  throw new NotKeyed(`its temporal filter could not be read back from its definition (${term.text})`);
}

/** The times at which `mz_now() <op> e` may start or stop holding (see the header). */
function boundaries(op: string, expression: string): string[] {
  const at = `(${expression})::timestamptz`;
  const after = `${at} + interval '1 microsecond'`;
  switch (op) {
    case '<':
    case '>=':
      return [at];
    case '<=':
    case '>':
      return [after];
    default:
      return [at, after];
  }
}

/**
 * How the kept view with this query tree and deparsed definition (every name qualified), keyed by
 * keyColumns, keeps its temporal filter; or why it cannot (then it is computed on every read).
 */
export function planTemporalFilter(definitionTree: string, definition: string, keyColumns: readonly string[], time: TimeFunctions): TemporalPlanResult {
  try {
    const query = viewQuery(definitionTree);
    const jointree = field(query, 'jointree');
    const quals = isNode(jointree, 'FROMEXPR') ? field(jointree, 'quals') : null;
    const { items, from, where } = splitDeparsed(definition);
    if (where === null || quals === null) throw new NotKeyed('it uses the time outside a WHERE clause');
    const terms = pairedConjuncts(quals, where);
    const temporal: { op: string; expression: string; text: string }[] = [];
    const others: string[] = [];
    for (const term of terms) {
      if (timeCalls(term.node, time) === 0) others.push(term.text);
      else temporal.push({ ...temporalTerm(term, time), text: term.text });
    }
    // Every use of the time is one of those terms (none in its SELECT list, GROUP BY, subqueries).
    if (timeCalls(query as TreeNode, time) !== temporal.length) throw new NotKeyed('it uses the time elsewhere than in top-level AND terms of its WHERE clause comparing mz_now()');
    if (temporal.length === 0) throw new NotKeyed('it uses the time elsewhere than in its WHERE clause');
    const targets = listOf(field(query, 'targetList')).filter((entry): entry is TreeNode => isNode(entry) && field(entry, 'resjunk') !== 'true');
    if (targets.length !== items.length) throw new NotKeyed('its deparsed definition does not match its query tree');
    const keys = keyColumns.map((key) => {
      const index = targets.findIndex((target) => field(target, 'resname') === key);
      if (index < 0) throw new NotKeyed(`its key column ${key} is not in its SELECT list`);
      const item = items[index]!;
      const alias = /\s+AS\s+(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)$/.exec(item);
      const expression = alias && scanOutsideQuotes(item.slice(0, alias.index)) === 0 ? item.slice(0, alias.index).trim() : item;
      return `${expression} AS ${quoteIdentifier(key)}`;
    });
    const times = temporal.flatMap((term) => boundaries(term.op, term.expression));
    const boundariesSelect = `SELECT ${[...keys, `unnest(ARRAY[${times.join(', ')}]) AS at`].join(', ')} ${from}${others.length > 0 ? ` WHERE ${others.join(' AND ')}` : ''}`;
    return { plan: { boundariesSelect, terms: temporal.map((term) => term.text) } };
  } catch (error) {
    if (error instanceof NotKeyed) return { reason: error.message };
    throw error;
  }
}
