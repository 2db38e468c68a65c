/**
 * Decides whether a kept materialized view over other kept materialized views can be refreshed by
 * key — only the groups that changed recomputed — and what that needs, from the view's analysed
 * query tree (query-tree.ts). The refresh itself (catalog/kept-views.sql, changed_keys_condition
 * and refresh_maintained) evaluates the view's definition in "delta mode", where every kept view
 * reads as the rows it gained or lost since the view's last refresh; the keys of what that yields
 * are the groups to recompute. That is sound only for these shapes, checked here:
 *
 * - the view is `SELECT … FROM x … GROUP BY <output columns> [HAVING …]`, `SELECT DISTINCT ON
 *   (<output columns>) … FROM x` or `SELECT … FROM x [WHERE …]` (filters and projections only,
 *   keyed by one of its columns taken straight from x), over exactly one relation x, with no
 *   window function, LIMIT, set operation, CTE or set-returning function: a changed input row can
 *   only change its own group (or, filtering, its own output row), and every changed row of x is
 *   in x's delta. A HAVING only decides whether a group's row is output: the keys are found with
 *   the definition without it (mz_local.mv_k_<id>), and a group recomputed with the whole
 *   definition that no longer passes is deleted and not inserted again;
 * - x reaches one kept view through plain views that only filter and project (no join,
 *   aggregate, DISTINCT or subquery): x's delta is then exactly the filtered, projected delta of
 *   that kept view;
 * - any subquery is a `NOT EXISTS (…)` that is a top-level AND term of the WHERE clause. While the
 *   keys are found its relations read as their deltas; when none of those deltas is empty the
 *   relations did not change and NOT EXISTS over an empty delta keeps every row (a superset of the
 *   keys: safe). Each such relation must be a kept view, or a plain view over one relation whose
 *   only non-filtering step is at its top (a DISTINCT ON / GROUP BY / aggregate over filtered rows
 *   is empty exactly when its filtered input is) — else an empty delta would prove nothing. When
 *   one is not empty, the view is refreshed whole.
 *
 * Anything else (joins, EXISTS, IN (SELECT …), reading a source directly, …) is refreshed whole.
 */
import { findNodes, isNode, listOf, parseQueryTree, type TreeNode, type TreeValue } from './query-tree.ts';

/** What the server knows of a relation a view reads. */
export type RelationInfo =
  | { readonly kind: 'kept'; readonly maintainedId: string }
  | { readonly kind: 'view'; readonly queryTree: string }
  /** An append-only source (a webhook or Kafka source): only the dedup plan reads one. */
  | { readonly kind: 'source'; readonly name: string }
  | { readonly kind: 'other'; readonly name: string };

export interface ViewKeyedPlan {
  readonly keyColumns: readonly string[];
  /** It has a HAVING: its changed keys are found without it (plan-kept-views.ts, mv_k_<id>). */
  readonly having: boolean;
  /** It only filters and projects (no GROUP BY, DISTINCT ON or aggregate): keyColumns is the first
   *  of its columns taken straight from its relation; planOne may pick another of keyCandidates. */
  readonly keyCandidates?: readonly string[];
  /**
   * Whether a change of a relation under its NOT EXISTS can be followed by key (retractions, see
   * anti-join-plan.ts) instead of a whole refresh — null when it can, else why not. Each NOT
   * EXISTS must read one relation, read nowhere else in the view, in a plain `SELECT … FROM r
   * WHERE …` (no aggregate, GROUP BY, DISTINCT, LIMIT, set operation or subquery of its own):
   * then whether an input row is kept depends only on the set of r's rows, which is what is
   * compared (a snapshot of r's rows as of the view's last refresh against r now).
   */
  readonly antiJoinsByKey: string | null;
  /** Kept views read (directly or through plain views): refreshed first, deltas read. */
  readonly upstreamIds: readonly string[];
  /** Relations read under NOT EXISTS: when one changed, the refresh is whole. */
  readonly checkRelations: readonly number[];
}

export type PlanResult = { readonly plan: ViewKeyedPlan } | { readonly reason: string };

type Lookup = (oid: number) => Promise<RelationInfo>;

const RTE_RELATION = '0';
/** PostgreSQL 18's grouping pseudo-relation: present in every GROUP BY query. */
const RTE_GROUP = '9';

export class NotKeyed extends Error {}

export function field(node: TreeNode, name: string): TreeValue {
  if (!(name in node.fields)) throw new NotKeyed(`the query tree has no ${node.type}.${name}`);
  return node.fields[name] ?? null;
}

function isTrue(node: TreeNode, name: string): boolean {
  return field(node, name) === 'true';
}

function requireAbsent(query: TreeNode, what: Record<string, string>): void {
  for (const [name, description] of Object.entries(what)) {
    const value = field(query, name);
    if (value === 'true' || (value !== null && value !== 'false' && !(Array.isArray(value) && value.length === 0))) throw new NotKeyed(`it has ${description}`);
  }
}

/** The one query of a view's rewrite rule. */
export function viewQuery(queryTree: string): TreeNode {
  const actions = parseQueryTree(queryTree);
  const query = listOf(actions)[0];
  if (!isNode(query, 'QUERY') || field(query, 'commandType') !== '1') throw new NotKeyed('its definition is not a single SELECT');
  return query;
}

const ALWAYS_ABSENT = {
  hasWindowFuncs: 'a window function',
  hasTargetSRFs: 'a set-returning function in its SELECT list',
  hasRecursive: 'WITH RECURSIVE',
  hasModifyingCTE: 'a data-modifying WITH',
  cteList: 'a WITH clause',
  setOperations: 'UNION, INTERSECT or EXCEPT',
  limitCount: 'LIMIT',
  limitOffset: 'OFFSET',
  groupingSets: 'GROUPING SETS',
  windowClause: 'a window',
};

/** The oid of the single relation a query reads in its FROM clause (no joins, subqueries, functions). */
function singleRelation(query: TreeNode): number {
  const rtable = listOf(field(query, 'rtable')).filter((item): item is TreeNode => isNode(item));
  const relations = rtable.filter((entry) => field(entry, 'rtekind') === RTE_RELATION);
  const others = rtable.filter((entry) => field(entry, 'rtekind') !== RTE_RELATION && field(entry, 'rtekind') !== RTE_GROUP);
  if (relations.length !== 1 || others.length > 0) throw new NotKeyed('it reads more than one relation (a join or a subquery in FROM)');
  const jointree = field(query, 'jointree');
  const fromlist = isNode(jointree, 'FROMEXPR') ? listOf(field(jointree, 'fromlist')) : [];
  if (fromlist.length !== 1 || !isNode(fromlist[0], 'RANGETBLREF')) throw new NotKeyed('it reads more than one relation (a join)');
  return Number(field(relations[0]!, 'relid'));
}

function whereClause(query: TreeNode): TreeValue {
  const jointree = field(query, 'jointree');
  return isNode(jointree, 'FROMEXPR') ? field(jointree, 'quals') : null;
}

function conjuncts(quals: TreeValue): TreeValue[] {
  if (isNode(quals, 'BOOLEXPR') && field(quals, 'boolop') === 'and') return [...listOf(field(quals, 'args'))];
  return quals === null ? [] : [quals];
}

/** The subquery of `NOT EXISTS (subquery)`, or null when `term` is something else. */
function notExistsSubquery(term: TreeValue): TreeNode | null {
  if (!isNode(term, 'BOOLEXPR') || field(term, 'boolop') !== 'not') return null;
  const args = listOf(field(term, 'args'));
  const sublink = args[0];
  if (args.length !== 1 || !isNode(sublink, 'SUBLINK') || field(sublink, 'subLinkType') !== '0') return null;
  const subselect = field(sublink, 'subselect');
  return isNode(subselect, 'QUERY') ? subselect : null;
}

/** Every relation a (sub)query reads, however deep (its own subqueries and sublinks included). */
function relationsRead(query: TreeNode): number[] {
  return findNodes(query, 'RANGETBLENTRY')
    .filter((entry) => field(entry, 'rtekind') === RTE_RELATION)
    .map((entry) => Number(field(entry, 'relid')));
}

/**
 * Why a NOT EXISTS subquery's relation cannot be followed by key, or null: the subquery must be a
 * plain `SELECT … FROM r [WHERE …]` over one relation, with no subquery of its own. An aggregate
 * (`NOT EXISTS (SELECT count(*) …)` always has a row), GROUP BY, DISTINCT, LIMIT or a set
 * operation would make "some row of r matches" depend on more than the set of r's rows.
 */
function plainAntiJoin(subquery: TreeNode): string | null {
  try {
    requireAbsent(subquery, { ...ALWAYS_ABSENT, havingQual: 'HAVING', hasAggs: 'an aggregate', groupClause: 'GROUP BY', distinctClause: 'DISTINCT', hasSubLinks: 'a subquery' });
    singleRelation(subquery);
    return null;
  } catch (error) {
    if (error instanceof NotKeyed) return `its NOT EXISTS ${error.message.replace(/^it /, '')}`;
    throw error;
  }
}

class Planner {
  private readonly upstream = new Set<string>();
  private readonly checks = new Set<number>();

  constructor(private readonly lookup: Lookup) {}

  async plan(definitionTree: string): Promise<ViewKeyedPlan> {
    const query = viewQuery(definitionTree);
    requireAbsent(query, ALWAYS_ABSENT);
    const having = field(query, 'havingQual') !== null;
    // HAVING over groups only (a HAVING without GROUP BY makes one group of everything).
    if (having && listOf(field(query, 'groupClause')).length === 0) throw new NotKeyed('it has HAVING without GROUP BY');
    if (findNodes(field(query, 'havingQual'), 'SUBLINK').length > 0) throw new NotKeyed('it has a subquery in its HAVING');
    const filterOnly = listOf(field(query, 'groupClause')).length === 0 && listOf(field(query, 'distinctClause')).length === 0 && !isTrue(query, 'hasAggs');
    const keyCandidates = filterOnly ? this.plainColumns(query) : null;
    const keyColumns = keyCandidates ? [keyCandidates[0]!] : this.keyColumns(query);
    const main = singleRelation(query);
    if (findNodes(field(query, 'targetList'), 'SUBLINK').length > 0) throw new NotKeyed('it has a subquery in its SELECT list');
    const antiJoined: number[] = [];
    let antiJoinsByKey: string | null = null;
    for (const term of conjuncts(whereClause(query))) {
      if (findNodes(term, 'SUBLINK').length === 0) continue;
      const subquery = notExistsSubquery(term);
      if (!subquery) throw new NotKeyed('it has a subquery other than a NOT EXISTS of its WHERE clause (EXISTS, IN, a scalar subquery)');
      const read = relationsRead(subquery);
      for (const relation of read) await this.checkedRelation(relation);
      antiJoinsByKey ??= plainAntiJoin(subquery);
      antiJoined.push(...read);
    }
    if (antiJoinsByKey === null && new Set(antiJoined).size !== antiJoined.length) antiJoinsByKey = 'a relation is read by more than one of its NOT EXISTS';
    if (antiJoinsByKey === null && antiJoined.length > 0 && relationsRead(query).filter((oid) => antiJoined.includes(oid)).length !== antiJoined.length) {
      antiJoinsByKey = 'a relation under its NOT EXISTS is also read elsewhere in it';
    }
    const reachedKept = await this.filterChain(main);
    if (!reachedKept) throw new NotKeyed('it does not read a kept materialized view');
    return {
      keyColumns,
      having,
      ...(keyCandidates ? { keyCandidates } : {}),
      antiJoinsByKey,
      upstreamIds: [...this.upstream].sort((a, b) => Number(a) - Number(b)),
      checkRelations: [...this.checks],
    };
  }

  /**
   * A filtering view's columns taken straight from its one relation (a plain column reference):
   * any of them keys it, since each output row comes from one input row, and the input rows that
   * changed carry the keys of the output rows that changed. The first is used unless its type
   * cannot be compared (plan-kept-views.ts picks another then).
   */
  private plainColumns(query: TreeNode): string[] {
    const targets = listOf(field(query, 'targetList')).filter((item): item is TreeNode => isNode(item) && !isTrue(item, 'resjunk'));
    const names = targets.map((entry) => field(entry, 'resname'));
    const plain = targets
      .filter((entry) => isNode(field(entry, 'expr'), 'VAR') && field(field(entry, 'expr') as TreeNode, 'varlevelsup') === '0')
      .map((entry) => field(entry, 'resname'))
      .filter((name): name is string => typeof name === 'string' && names.filter((other) => other === name).length === 1);
    if (plain.length === 0) throw new NotKeyed('it only filters, and none of its columns is a column of what it reads (a key for its rows)');
    return plain;
  }

  /** The output columns named by GROUP BY or DISTINCT ON. */
  private keyColumns(query: TreeNode): string[] {
    const grouped = listOf(field(query, 'groupClause'));
    const distinct = listOf(field(query, 'distinctClause'));
    let clauses: readonly TreeValue[];
    if (grouped.length > 0 && distinct.length === 0) clauses = grouped;
    else if (grouped.length === 0 && isTrue(query, 'hasDistinctOn') && !isTrue(query, 'hasAggs')) clauses = distinct;
    else throw new NotKeyed('it is neither GROUP BY nor DISTINCT ON');
    const targets = listOf(field(query, 'targetList')).filter((item): item is TreeNode => isNode(item));
    const names = clauses.map((clause) => {
      if (!isNode(clause, 'SORTGROUPCLAUSE')) throw new NotKeyed('unexpected grouping clause');
      const reference = field(clause, 'tleSortGroupRef');
      const target = targets.find((entry) => field(entry, 'ressortgroupref') === reference);
      const name = target ? field(target, 'resname') : null;
      if (!target || isTrue(target, 'resjunk') || typeof name !== 'string') throw new NotKeyed('it groups by an expression that is not one of its columns');
      return name;
    });
    const outputNames = targets.filter((entry) => !isTrue(entry, 'resjunk')).map((entry) => field(entry, 'resname'));
    for (const name of names) if (outputNames.filter((other) => other === name).length !== 1) throw new NotKeyed(`its key column ${name} is not one column`);
    return names;
  }

  /**
   * Follows plain views that only filter and project down to a kept view; true when it gets there.
   * Anything else on the way (a source, a table, a join, an aggregate, a subquery) is not keyed.
   */
  private async filterChain(oid: number): Promise<boolean> {
    const relation = await this.lookup(oid);
    if (relation.kind === 'kept') {
      this.upstream.add(relation.maintainedId);
      return true;
    }
    if (relation.kind === 'other' || relation.kind === 'source') throw new NotKeyed(`it reads ${relation.name}, which is not a kept materialized view`);
    const query = viewQuery(relation.queryTree);
    requireAbsent(query, { ...ALWAYS_ABSENT, havingQual: 'HAVING', hasAggs: 'an aggregate', groupClause: 'GROUP BY', distinctClause: 'DISTINCT', hasSubLinks: 'a subquery' });
    return this.filterChain(singleRelation(query));
  }

  /** A relation read under NOT EXISTS: its delta must be empty exactly when it did not change. */
  private async checkedRelation(oid: number): Promise<void> {
    const relation = await this.lookup(oid);
    if (relation.kind === 'other' || relation.kind === 'source') throw new NotKeyed(`its NOT EXISTS reads ${relation.name}, which is not a kept materialized view`);
    this.checks.add(oid);
    if (relation.kind === 'kept') {
      this.upstream.add(relation.maintainedId);
      return;
    }
    const query = viewQuery(relation.queryTree);
    // Its own top step may reduce (DISTINCT ON, GROUP BY, aggregates), but HAVING could turn a
    // non-empty delta into no rows, and a subquery would read deltas too.
    requireAbsent(query, { ...ALWAYS_ABSENT, havingQual: 'HAVING', hasSubLinks: 'a subquery' });
    await this.filterChain(singleRelation(query));
  }
}

/** How the materialized view whose definition has this query tree can be refreshed by key. */
export async function planKeyedRefresh(definitionTree: string, lookup: Lookup): Promise<PlanResult> {
  try {
    return { plan: await new Planner(lookup).plan(definitionTree) };
  } catch (error) {
    if (error instanceof NotKeyed) return { reason: error.message };
    throw error;
  }
}

/**
 * The dedup shape, refreshed by the keys of the rows appended to its sources since its last refresh
 * (refresh_kind 'source', catalog/kept-views.sql): those keys' output rows are deleted and
 * recomputed from the whole definition. That is sound only when a row appended to a source can
 * change no output row but its own key's, and every key it can change is found by evaluating the
 * definition over the appended rows alone. Proved here from the query tree:
 *
 * - the view is `SELECT DISTINCT ON (<one of its columns>) … FROM x [WHERE …] [ORDER BY …]` — no
 *   GROUP BY, HAVING, aggregate, window function, LIMIT/OFFSET, set operation, subquery anywhere
 *   (EXISTS, IN, `<> ALL`, a scalar subquery) or set-returning function in its SELECT list;
 * - x is one FROM item (no join, no comma list) that is, through subqueries and CTEs that only
 *   filter and project (the same restrictions, no DISTINCT) and UNION ALLs of those, sources only:
 *   append-only relations, so each input row of the DISTINCT ON is a function of one source row.
 *
 * Anything else over sources alone is refreshed whole. Returns the key column and the sources, each
 * read once or more.
 */
export interface DedupPlan {
  readonly keyColumn: string;
  /** The sources read (deduplicated), in the order first read. */
  readonly sources: readonly number[];
}

export type DedupPlanResult = { readonly plan: DedupPlan } | { readonly reason: string };

/** Why a view is not the dedup shape when it is not one at all (the other planner's reason is then shown). */
export const NOT_DISTINCT_ON = 'it is not DISTINCT ON';
const RTE_SUBQUERY = '1';
const RTE_CTE = '6';
const SETOP_UNION = '1';

const NOT_ROW_BY_ROW = {
  ...ALWAYS_ABSENT,
  cteList: 'a WITH clause',
  hasAggs: 'an aggregate',
  groupClause: 'GROUP BY',
  havingQual: 'HAVING',
  hasSubLinks: 'a subquery (EXISTS, IN, ALL/ANY, a scalar subquery)',
  hasForUpdate: 'FOR UPDATE',
};

class DedupPlanner {
  private readonly sources: number[] = [];

  constructor(private readonly lookup: Lookup) {}

  async plan(definitionTree: string): Promise<DedupPlan> {
    const query = viewQuery(definitionTree);
    if (!isTrue(query, 'hasDistinctOn')) throw new NotKeyed(NOT_DISTINCT_ON);
    const { cteList: _ctes, ...topAbsent } = NOT_ROW_BY_ROW;
    requireAbsent(query, topAbsent);
    const distinct = listOf(field(query, 'distinctClause'));
    if (distinct.length !== 1) throw new NotKeyed('its DISTINCT ON has more than one expression');
    const targets = listOf(field(query, 'targetList')).filter((item): item is TreeNode => isNode(item));
    const clause = distinct[0];
    if (!isNode(clause, 'SORTGROUPCLAUSE')) throw new NotKeyed('unexpected DISTINCT ON clause');
    const target = targets.find((entry) => field(entry, 'ressortgroupref') === field(clause, 'tleSortGroupRef'));
    const keyColumn = target ? field(target, 'resname') : null;
    if (!target || isTrue(target, 'resjunk') || typeof keyColumn !== 'string') throw new NotKeyed('its DISTINCT ON expression is not one of its columns');
    const outputNames = targets.filter((entry) => !isTrue(entry, 'resjunk')).map((entry) => field(entry, 'resname'));
    if (outputNames.filter((name) => name === keyColumn).length !== 1) throw new NotKeyed(`its key column ${keyColumn} is not one column`);
    await this.fromItem(query, [listOf(field(query, 'cteList'))]);
    if (this.sources.length === 0) throw new NotKeyed('it reads no source');
    return { keyColumn, sources: this.sources };
  }

  /** The one FROM item of `query` (no join, no comma list): row by row over sources. */
  private async fromItem(query: TreeNode, ctes: readonly (readonly TreeValue[])[]): Promise<void> {
    const jointree = field(query, 'jointree');
    const fromlist = isNode(jointree, 'FROMEXPR') ? listOf(field(jointree, 'fromlist')) : [];
    const reference = fromlist[0];
    if (fromlist.length !== 1 || !isNode(reference, 'RANGETBLREF')) throw new NotKeyed('it reads more than one relation (a join or a comma list)');
    const rtable = listOf(field(query, 'rtable'));
    const entry = rtable[Number(field(reference, 'rtindex')) - 1];
    if (!isNode(entry, 'RANGETBLENTRY')) throw new NotKeyed('unexpected FROM item');
    await this.rangeEntry(entry, ctes);
  }

  private async rangeEntry(entry: TreeNode, ctes: readonly (readonly TreeValue[])[]): Promise<void> {
    const kind = field(entry, 'rtekind');
    if (kind === RTE_RELATION) {
      const oid = Number(field(entry, 'relid'));
      const relation = await this.lookup(oid);
      if (relation.kind !== 'source') throw new NotKeyed(`its DISTINCT ON reads ${relation.kind === 'kept' ? 'a kept view' : relation.kind === 'view' ? 'a view' : relation.name}, not only sources`);
      if (!this.sources.includes(oid)) this.sources.push(oid);
      return;
    }
    if (kind === RTE_SUBQUERY) {
      const subquery = field(entry, 'subquery');
      if (!isNode(subquery, 'QUERY')) throw new NotKeyed('unexpected subquery in FROM');
      if (isTrue(entry, 'lateral')) throw new NotKeyed('it has a LATERAL subquery');
      return this.rowByRow(subquery, ctes);
    }
    if (kind === RTE_CTE) {
      const levelsUp = Number(field(entry, 'ctelevelsup'));
      const list = ctes[ctes.length - 1 - levelsUp] ?? [];
      const cte = list.find((item) => isNode(item, 'COMMONTABLEEXPR') && field(item, 'ctename') === field(entry, 'ctename'));
      if (!isNode(cte) || isTrue(cte, 'cterecursive')) throw new NotKeyed('it reads a recursive or unknown CTE');
      const cteQuery = field(cte, 'ctequery');
      if (!isNode(cteQuery, 'QUERY')) throw new NotKeyed('it reads a CTE that is not a SELECT');
      // The CTE's own query sees the CTEs of its level and above.
      return this.rowByRow(cteQuery, ctes.slice(0, ctes.length - levelsUp));
    }
    throw new NotKeyed('it reads something other than sources, subqueries and CTEs (a function, VALUES, a join)');
  }

  /** A query that yields each of its rows from one source row: filters, projections, UNION ALLs. */
  private async rowByRow(query: TreeNode, outer: readonly (readonly TreeValue[])[]): Promise<void> {
    if (field(query, 'commandType') !== '1') throw new NotKeyed('it reads something other than a SELECT');
    const { cteList: _ctes, ...absent } = NOT_ROW_BY_ROW;
    requireAbsent(query, { ...absent, distinctClause: 'DISTINCT', hasDistinctOn: 'DISTINCT ON' });
    const ctes = [...outer, listOf(field(query, 'cteList'))];
    const setOperations = field(query, 'setOperations');
    if (setOperations === null) return this.fromItem(query, ctes);
    const rtable = listOf(field(query, 'rtable'));
    const visit = async (node: TreeValue): Promise<void> => {
      if (isNode(node, 'RANGETBLREF')) {
        const entry = rtable[Number(field(node, 'rtindex')) - 1];
        if (!isNode(entry, 'RANGETBLENTRY')) throw new NotKeyed('unexpected set operation arm');
        return this.rangeEntry(entry, ctes);
      }
      if (!isNode(node, 'SETOPERATIONSTMT') || field(node, 'op') !== SETOP_UNION || !isTrue(node, 'all')) throw new NotKeyed('it has UNION (without ALL), INTERSECT or EXCEPT');
      await visit(field(node, 'larg'));
      await visit(field(node, 'rarg'));
    };
    await visit(setOperations);
  }
}

/** Whether the materialized view whose definition has this query tree is the dedup shape (see DedupPlanner). */
export async function planDedupRefresh(definitionTree: string, lookup: Lookup): Promise<DedupPlanResult> {
  try {
    return { plan: await new DedupPlanner(lookup).plan(definitionTree) };
  } catch (error) {
    if (error instanceof NotKeyed) return { reason: error.message };
    throw error;
  }
}
