/**
 * Decides whether a kept GROUP BY view can fold new rows into its kept results (incremental
 * aggregates) instead of recomputing every changed group from all of its input — which costs a
 * group's whole size: `daily_active_users`' group of the day holds ~140,000 events at 1,000,000.
 *
 * A view qualifies when it is keyed by one column (keyed-refresh-plan.ts has checked the rest of its
 * shape: one relation, filters, NOT EXISTS) and each of its other columns is one of these aggregates,
 * as written, with no FILTER or ORDER BY: count(*), count(x), count(DISTINCT x), sum(x) of integers
 * or numeric (exact, so that folding gives what recomputing gives), min(x), max(x). Folding rows
 * gained: counts and sums add, min and max take the least and greatest, and count(DISTINCT x) counts
 * the values new to the group, from a table of each group's values and how many rows hold them.
 * Rows lost (rare: a retried delivery replaces nothing) recompute their groups, as before.
 *
 * The fold needs each aggregate's input as SQL, which a query tree does not give back. PostgreSQL
 * does: pg_get_viewdef deparses the definition canonically, and its top-level clauses and SELECT
 * items are split here (quotes and parentheses respected) and checked item by item against the
 * tree — an item the tree says is `count(DISTINCT …)` must read `count(DISTINCT …)`.
 */
import { field, NotKeyed, viewQuery } from './keyed-refresh-plan.ts';
import { isNode, listOf, type TreeNode } from './query-tree.ts';

export type AggregateKind = 'count' | 'count_distinct' | 'sum' | 'min' | 'max';

export interface AggregateColumn {
  readonly name: string;
  readonly kind: 'key' | AggregateKind;
  /** The aggregate's input as SQL; null for the key and count(*). */
  readonly argument: string | null;
}

export interface AggregatePlan {
  readonly keyColumn: string;
  readonly keyExpression: string;
  /** `FROM … [WHERE …]` of the definition, as deparsed. */
  readonly fromClause: string;
  /** Every output column, in order. */
  readonly columns: readonly AggregateColumn[];
}

export type AggregatePlanResult = { readonly plan: AggregatePlan } | { readonly reason: string };

/** Built-in aggregate function OIDs (pg_proc.dat; stable across PostgreSQL releases). */
const COUNT_STAR = '2803';
const COUNT_ANY = '2147';
const SUM_EXACT = new Set(['2107', '2108', '2109', '2114']); // int8, int4, int2, numeric
const INT8 = '20';
const NUMERIC = '1700';
/** OIDs below this are PostgreSQL's own (FirstNormalObjectId). */
const FIRST_USER_OID = 16384;

export interface DeparsedSelect {
  readonly items: readonly string[];
  readonly fromClause: string;
}

/**
 * Visits every character of `sql` outside quoted strings and identifiers (visit returning true
 * stops the scan): the one place that knows where PostgreSQL's deparsed text quotes.
 */
export function forEachOutsideQuotes(sql: string, visit: (index: number, char: string) => boolean | void): void {
  for (let index = 0; index < sql.length; index++) {
    const char = sql[index]!;
    if (char === "'" || char === '"') {
      // E'…' strings escape with backslashes; everything doubles its quote.
      const backslashes = char === "'" && /[Ee]/.test(sql[index - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[index - 2] ?? '');
      for (index++; index < sql.length; index++) {
        if (backslashes && sql[index] === '\\') index++;
        else if (sql[index] === char) {
          if (sql[index + 1] === char) index++;
          else break;
        }
      }
      continue;
    }
    if (visit(index, char) === true) return;
  }
}

/**
 * Visits the characters of `sql` outside quotes, other than parentheses, with their parenthesis
 * depth (visit returning true stops the scan); returns the depth at the end.
 */
export function scanOutsideQuotes(sql: string, visit: (index: number, depth: number) => boolean | void = () => {}): number {
  let depth = 0;
  forEachOutsideQuotes(sql, (index, char) => {
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else return visit(index, depth);
  });
  return depth;
}

/**
 * Where a deparsed query's top-level clauses start (outside quotes and parentheses), and its
 * top-level commas: enough to cut PostgreSQL's own deparsed text into its parts.
 */
export function topLevelClauses(sql: string): { clauses: Array<{ word: string; index: number }>; commas: number[] } {
  const clauses: Array<{ word: string; index: number }> = [];
  const commas: number[] = [];
  scanOutsideQuotes(sql, (index, depth) => {
    if (depth !== 0) return;
    if (sql[index] === ',') commas.push(index);
    if (/[A-Za-z0-9_$.]/.test(sql[index - 1] ?? '')) return;
    for (const { word, pattern } of TOP_LEVEL_WORDS) {
      pattern.lastIndex = index;
      if (pattern.test(sql)) clauses.push({ word, index });
    }
  });
  return { clauses, commas };
}

const TOP_LEVEL_WORDS = ['SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'OFFSET', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT', 'FETCH', 'WITH'].map((word) => ({
  word,
  // Sticky: matched where the scan stands.
  pattern: new RegExp(`${word.replace(' ', '\\s+')}\\b`, 'y'),
}));

/**
 * The SELECT items and the FROM/WHERE text of a deparsed `SELECT … FROM … [WHERE …] GROUP BY …`;
 * throws NotKeyed for anything else. Deparsed keywords are upper case and identifiers that look
 * like keywords are quoted, so a keyword outside quotes and parentheses is a clause.
 */
export function splitDeparsedSelect(definition: string): DeparsedSelect {
  const sql = definition.trim().replace(/;$/, '');
  const { clauses, commas } = topLevelClauses(sql);
  const words = clauses.map((clause) => clause.word).join(' ');
  if (words !== 'SELECT FROM GROUP BY' && words !== 'SELECT FROM WHERE GROUP BY') throw new NotKeyed(`its definition is not SELECT … FROM … [WHERE …] GROUP BY … (found ${words || 'nothing'})`);
  const select = clauses[0]!;
  const from = clauses[1]!;
  const groupBy = clauses[clauses.length - 1]!;
  if (select.index !== 0) throw new NotKeyed('its definition does not start with SELECT');
  const listStart = select.index + 'SELECT'.length;
  const bounds = [listStart, ...commas.filter((comma) => comma > listStart && comma < from.index).map((comma) => comma + 1), from.index + 1];
  const items = bounds.slice(1).map((end, index) => sql.slice(bounds[index]!, end - 1).trim());
  return { items, fromClause: sql.slice(from.index, groupBy.index).trim() };
}

/** An item without its ` AS name`: the expression. */
export function itemExpression(item: string): string {
  const alias = /\s+AS\s+(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)$/.exec(item);
  // The AS must be outside parentheses and quotes: `(x)::date AS day`, not the end of `f(a AS b)`.
  if (!alias || scanOutsideQuotes(item.slice(0, alias.index)) !== 0) return item;
  return item.slice(0, alias.index).trim();
}

/** `name(inner)` with the outer parentheses matching: [name, inner]; else null. */
function callParts(expression: string): [string, string] | null {
  const match = /^([a-z_][a-z0-9_.]*)\(/.exec(expression);
  if (!match || !expression.endsWith(')')) return null;
  // Anything outside the call's parentheses (`count(x) + count(y)`, `count(x) FILTER (…)`) is
  // visited at depth 0.
  let closedEarly = false;
  scanOutsideQuotes(expression.slice(match[0].length - 1), (_index, depth) => {
    closedEarly = depth === 0;
    return closedEarly;
  });
  return closedEarly ? null : [match[1]!, expression.slice(match[0].length, -1)];
}

function aggregateColumn(name: string, target: TreeNode, expression: string): AggregateColumn {
  const aggregate = field(target, 'expr');
  if (!isNode(aggregate, 'AGGREF')) throw new NotKeyed(`its column ${name} is not an aggregate or its key`);
  const fnoid = field(aggregate, 'aggfnoid');
  const distinct = listOf(field(aggregate, 'aggdistinct')).length > 0;
  if (field(aggregate, 'aggfilter') !== null) throw new NotKeyed(`its column ${name} aggregates with FILTER`);
  if (listOf(field(aggregate, 'aggorder')).length > 0 && !distinct) throw new NotKeyed(`its column ${name} aggregates with ORDER BY`);
  if (field(aggregate, 'aggkind') !== 'n' || field(aggregate, 'agglevelsup') !== '0') throw new NotKeyed(`its column ${name} is not a plain aggregate`);
  if (Number(fnoid) >= FIRST_USER_OID) throw new NotKeyed(`its column ${name} uses an aggregate of its own`);
  const call = callParts(expression);
  if (!call) throw new NotKeyed(`its column ${name} is an expression over aggregates`);
  const [functionName, inner] = call;
  const bareName = functionName.replace(/^pg_catalog\./, '');
  if (fnoid === COUNT_STAR && inner === '*' && !distinct) return { name, kind: 'count', argument: null };
  const distinctArgument = /^DISTINCT\s+([\s\S]+)$/.exec(inner);
  if (distinct) {
    // DISTINCT in other aggregates (sum(DISTINCT x)) cannot be folded.
    if (fnoid !== COUNT_ANY || bareName !== 'count' || !distinctArgument) throw new NotKeyed(`its column ${name} is an aggregate of distinct values other than count`);
    return { name, kind: 'count_distinct', argument: distinctArgument[1]!.trim() };
  }
  if (distinctArgument || inner.trim() === '' || inner === '*') throw new NotKeyed(`its column ${name} could not be read back from its definition`);
  if (fnoid === COUNT_ANY && bareName === 'count') return { name, kind: 'count', argument: inner };
  if (bareName === 'sum') {
    const resultType = field(aggregate, 'aggtype');
    // Floating-point sums depend on the order rows are added in: folded, they would differ from
    // recomputing in the last digits.
    if (!SUM_EXACT.has(String(fnoid)) || (resultType !== INT8 && resultType !== NUMERIC)) throw new NotKeyed(`its column ${name} is a sum of values that do not add exactly (integers and numeric do)`);
    return { name, kind: 'sum', argument: inner };
  }
  if (bareName === 'min' || bareName === 'max') return { name, kind: bareName, argument: inner };
  throw new NotKeyed(`its column ${name} uses ${bareName}, which cannot be folded (count, sum of integers or numeric, min and max can)`);
}

/**
 * How the GROUP BY view with this query tree and deparsed definition (pg_get_viewdef), keyed by
 * keyColumns, folds new rows into its kept results; or why it cannot.
 */
export function planIncrementalAggregates(definitionTree: string, definition: string, keyColumns: readonly string[]): AggregatePlanResult {
  try {
    if (keyColumns.length !== 1) throw new NotKeyed('it is keyed by more than one column');
    const query = viewQuery(definitionTree);
    if (listOf(field(query, 'groupClause')).length === 0) throw new NotKeyed('it has no GROUP BY');
    if (listOf(field(query, 'distinctClause')).length > 0) throw new NotKeyed('it has DISTINCT');
    const targets = listOf(field(query, 'targetList')).filter((entry): entry is TreeNode => isNode(entry) && field(entry, 'resjunk') !== 'true');
    const { items, fromClause } = splitDeparsedSelect(definition);
    if (items.length !== targets.length) throw new NotKeyed('its deparsed definition does not match its query tree');
    const keyColumn = keyColumns[0]!;
    let keyExpression: string | null = null;
    const columns = targets.map((target, index): AggregateColumn => {
      const name = field(target, 'resname');
      if (typeof name !== 'string') throw new NotKeyed('it has a column without a name');
      const expression = itemExpression(items[index]!);
      if (name === keyColumn) {
        keyExpression = expression;
        return { name, kind: 'key', argument: null };
      }
      return aggregateColumn(name, target, expression);
    });
    if (keyExpression === null) throw new NotKeyed(`its key column ${keyColumn} is not in its SELECT list`);
    return { plan: { keyColumn, keyExpression, fromClause, columns } };
  } catch (error) {
    if (error instanceof NotKeyed) return { reason: error.message };
    throw error;
  }
}
