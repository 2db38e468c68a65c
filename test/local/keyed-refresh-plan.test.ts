/**
 * The keyed-refresh planner on real query trees: PostgreSQL (PGlite) analyses each view, the
 * planner reads pg_rewrite's tree. `kept` stands for a kept materialized view; `plain_*` are plain
 * views over it; `src` is a source (neither).
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemExpression, planIncrementalAggregates, splitDeparsedSelect } from '../../scripts/local/views/aggregate-plan.ts';
import { planKeyedRefresh, type RelationInfo } from '../../scripts/local/views/keyed-refresh-plan.ts';
import { isNode, listOf, parseQueryTree, QueryTreeError } from '../../scripts/local/views/query-tree.ts';
import { identifiersIn } from '../../scripts/local/views/maintained-views.ts';
import { indexableExpressions, indexesUsed, keptTableScans, withoutDistinctOn, withoutFinalOrderBy } from '../../scripts/local/views/plan-kept-views.ts';
import { andWhere, existsCondition, locateNotExists, matchingValues, rewriteNotExists, withoutHaving } from '../../scripts/local/views/anti-join-text.ts';
import { keysViewsSql, retractedFromClause } from '../../scripts/local/views/anti-join-plan.ts';

let db: PGlite;
let keptOid = 0;

beforeAll(async () => {
  db = new PGlite();
  await db.exec(`
    CREATE TABLE src (body jsonb, at timestamp);
    CREATE TABLE kept_rows (id text, kind text, who text, amount numeric, at timestamp, body jsonb);
    CREATE VIEW kept AS SELECT * FROM kept_rows;
    CREATE VIEW plain_orders AS SELECT k.id, k.who, k.amount, k.at, k.body->>'sku' AS sku FROM kept k WHERE k.kind = 'order';
    CREATE VIEW plain_bans AS SELECT DISTINCT ON (k.who) k.who, k.at FROM kept k WHERE k.kind = 'ban' ORDER BY k.who, k.at;
    CREATE VIEW plain_grouped AS SELECT k.who, count(*) AS n FROM kept k GROUP BY k.who;
    CREATE VIEW plain_having AS SELECT k.who FROM kept k GROUP BY k.who HAVING count(*) > 2;
  `);
  keptOid = Number((await db.query<{ oid: number }>(`SELECT 'kept'::regclass::oid AS oid`)).rows[0]!.oid);
});
afterAll(async () => {
  await db?.close();
});

async function lookup(oid: number): Promise<RelationInfo> {
  if (oid === keptOid) return { kind: 'kept', maintainedId: '7' };
  const row = (await db.query<{ name: string; relkind: string; tree: string | null }>(
    `SELECT c.oid::regclass::text AS name, c.relkind::text AS relkind, (SELECT ev_action::text FROM pg_rewrite WHERE ev_class = c.oid) AS tree FROM pg_class c WHERE c.oid = $1`,
    [oid],
  )).rows[0]!;
  return row.relkind === 'v' && row.tree ? { kind: 'view', queryTree: row.tree } : { kind: 'other', name: row.name };
}

async function planOf(sql: string) {
  await db.exec(`DROP VIEW IF EXISTS candidate; CREATE VIEW candidate AS ${sql}`);
  const tree = (await db.query<{ tree: string }>(`SELECT ev_action::text AS tree FROM pg_rewrite WHERE ev_class = 'candidate'::regclass`)).rows[0]!.tree;
  return planKeyedRefresh(tree, lookup);
}

describe('query trees', () => {
  it('reads nodes, lists, NULLs, escaped tokens and datums', () => {
    const tree = parseQueryTree(String.raw`({QUERY :resname my\ col :ids (i 1 2) :none <> :empty "" :constvalue 5 [ 20 0 0 0 110 ] :inner {ALIAS :aliasname \{x\}}})`);
    const query = listOf(tree)[0];
    expect(isNode(query, 'QUERY')).toBe(true);
    if (!isNode(query)) return;
    expect(query.fields.resname).toBe('my col');
    expect(query.fields.ids).toEqual(['i', '1', '2']);
    expect(query.fields.none).toBeNull();
    expect(query.fields.empty).toBe('');
    expect(query.fields.constvalue).toBe('5 [ 20 0 0 0 110 ]');
    expect(query.fields.inner).toEqual({ type: 'ALIAS', fields: { aliasname: '{x}' } });
  });

  it('refuses text that is not a tree', () => {
    expect(() => parseQueryTree('({QUERY :a')).toThrow(QueryTreeError);
    expect(() => parseQueryTree('({QUERY a b})')).toThrow(/expected a field/);
  });
});

describe('keyed refresh plans', () => {
  it('keys GROUP BY over filtering views, with NOT EXISTS against a reducing view', async () => {
    const result = await planOf(`SELECT coalesce(o.sku, '-') AS sku, count(*) AS n, count(DISTINCT o.who) AS people, sum(o.amount) AS total, min(o.at) AS first_at, max(o.at) AS last_at
      FROM plain_orders o WHERE o.amount > 0 AND NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) GROUP BY 1`);
    expect(result).toEqual({ plan: { keyColumns: ['sku'], having: false, antiJoinsByKey: null, upstreamIds: ['7'], checkRelations: [expect.any(Number)] } });
  });

  it('keys DISTINCT ON and multi-column GROUP BY', async () => {
    expect(await planOf(`SELECT DISTINCT ON (k.who) k.who, k.at, k.amount FROM kept k ORDER BY k.who, k.at DESC`)).toEqual({ plan: { keyColumns: ['who'], having: false, antiJoinsByKey: null, upstreamIds: ['7'], checkRelations: [] } });
    expect(await planOf(`SELECT k.kind, k.who AS person, count(*) AS n FROM kept k GROUP BY k.who, k.kind`)).toEqual({ plan: { keyColumns: ['person', 'kind'], having: false, antiJoinsByKey: null, upstreamIds: ['7'], checkRelations: [] } });
  });

  // dbt's unique test as a stored-failure view (issue 34; models:test): GROUP BY … HAVING over a
  // kept view, kept by its groups — the keys are found without the HAVING.
  it('keys GROUP BY … HAVING, and views that only filter by one of their plain columns', async () => {
    expect(await planOf(`SELECT o.who, count(*) AS n FROM plain_orders o GROUP BY 1 HAVING count(*) > 1`)).toEqual({
      plan: { keyColumns: ['who'], having: true, antiJoinsByKey: null, upstreamIds: ['7'], checkRelations: [] },
    });
    // dbt's not_null: the rows failing it, each from one input row, keyed by a column taken as is.
    expect(await planOf(`SELECT o.amount * 2 AS doubled, o.id, o.who FROM plain_orders o WHERE o.sku IS NULL`)).toEqual({
      plan: { keyColumns: ['id'], keyCandidates: ['id', 'who'], having: false, antiJoinsByKey: null, upstreamIds: ['7'], checkRelations: [] },
    });
    expect(await planOf(`SELECT o.amount * 2 AS doubled FROM plain_orders o`)).toEqual({ reason: expect.stringMatching(/none of its columns is a column of what it reads/) });
    expect(await planOf(`SELECT count(*) AS n FROM kept k HAVING count(*) > 1`)).toEqual({ reason: expect.stringMatching(/HAVING without GROUP BY/) });
  });

  it('says when a change under a NOT EXISTS cannot be followed by key', async () => {
    const byKey = async (sql: string) => {
      const result = await planOf(sql);
      return 'plan' in result ? result.plan.antiJoinsByKey : result.reason;
    };
    expect(await byKey(`SELECT o.who, count(*) AS n FROM plain_orders o WHERE NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) GROUP BY 1`)).toBeNull();
    // Always a row: NOT EXISTS is never true, whatever the set of bans.
    expect(await byKey(`SELECT o.who, count(*) AS n FROM plain_orders o WHERE NOT EXISTS (SELECT count(*) FROM plain_bans b WHERE b.who = o.who) GROUP BY 1`)).toMatch(/aggregate/);
    expect(await byKey(`SELECT o.who, count(*) AS n FROM plain_orders o WHERE NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) AND NOT EXISTS (SELECT 1 FROM plain_bans c WHERE c.at = o.at) GROUP BY 1`)).toMatch(/more than one of its NOT EXISTS/);
  });

  it.each([
    ['a join', `SELECT o.who, count(*) AS n FROM plain_orders o JOIN kept k ON k.id = o.id GROUP BY 1`, /more than one relation/],
    ['EXISTS', `SELECT o.who, count(*) AS n FROM plain_orders o WHERE EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) GROUP BY 1`, /other than a NOT EXISTS/],
    ['NOT EXISTS under OR', `SELECT o.who, count(*) AS n FROM plain_orders o WHERE o.amount > 1 OR NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) GROUP BY 1`, /other than a NOT EXISTS/],
    ['a subquery in HAVING', `SELECT o.who, count(*) AS n FROM plain_orders o GROUP BY 1 HAVING count(*) > (SELECT count(*) FROM kept)`, /subquery in its HAVING/],
    ['a grouping key that is not a column', `SELECT count(*) AS n FROM plain_orders o GROUP BY o.who`, /not one of its columns/],
    ['DISTINCT', `SELECT DISTINCT o.who, o.amount FROM plain_orders o`, /neither GROUP BY nor DISTINCT ON/],
    ['a source read directly', `SELECT s.body->>'a' AS a, count(*) AS n FROM src s GROUP BY 1`, /not a kept materialized view/],
    ['an aggregating view in between', `SELECT g.n, count(*) AS c FROM plain_grouped g GROUP BY 1`, /aggregate/],
    ['a NOT EXISTS over a view with HAVING', `SELECT o.who, count(*) AS n FROM plain_orders o WHERE NOT EXISTS (SELECT 1 FROM plain_having h WHERE h.who = o.who) GROUP BY 1`, /HAVING/],
    ['UNION ALL', `SELECT x.who, count(*) AS n FROM (SELECT who FROM kept UNION ALL SELECT who FROM kept) x GROUP BY 1`, /more than one relation/],
    ['LIMIT', `SELECT DISTINCT ON (k.who) k.who FROM kept k ORDER BY k.who LIMIT 5`, /LIMIT/],
    ['a window function', `SELECT k.who, count(*) AS n, rank() OVER (ORDER BY count(*)) AS r FROM kept k GROUP BY 1`, /window/],
  ])('refreshes whole with %s', async (_shape, sql, reason) => {
    const result = await planOf(sql);
    expect('reason' in result ? result.reason : 'keyed').toMatch(reason);
  });
});

describe('index advice', () => {
  it('indexes what a scan compares with a key, else a column compared with a constant', () => {
    expect(indexableExpressions(`(((mv_b_1.body ->> 'event'::text) IS NOT NULL) AND (mv_b_1.event_type = 'track'::text) AND ((mv_b_1.body ->> 'event'::text) = $1))`, 'mv_b_1')).toEqual([['event_type', `(body ->> 'event'::text)`]]);
    expect(indexableExpressions(`(((mv_b_1.event_type = 'identify'::text) AND (mv_b_1.user_id IS NOT NULL) AND (mv_b_1.user_id = $1))`, 'mv_b_1')).toEqual([['event_type', 'user_id']]);
    expect(indexableExpressions(`((mv_b_1_1.user_id IS NOT NULL) AND (mv_b_1_1.event_type = 'delete'::text))`, 'mv_b_1_1')).toEqual([['event_type']]);
    expect(indexableExpressions(`(mv_b_2.n > 3)`, 'mv_b_2')).toEqual([]);
  });

  it('finds the indexes a plan reads; a dedup finds its appended keys without its ORDER BY', () => {
    const plan = [{ Plan: { 'Node Type': 'Bitmap Heap Scan', Plans: [{ 'Node Type': 'Bitmap Index Scan', 'Index Name': 'mz_local_key_1_ab' }] } }];
    expect(indexesUsed(plan)).toEqual(['mz_local_key_1_ab']);
    // The sort on the ORDER BY's expressions (the seed parses a timestamp there) only served which row wins.
    expect(withoutFinalOrderBy(`WITH r AS (SELECT b FROM s ORDER BY b) SELECT DISTINCT ON ((b ->> 'id')) (b ->> 'id') AS id, f(b) AS at FROM r\n  ORDER BY (b ->> 'id'), (f(b))`)).toBe(
      `WITH r AS (SELECT b FROM s ORDER BY b) SELECT DISTINCT ON ((b ->> 'id')) (b ->> 'id') AS id, f(b) AS at FROM r`,
    );
    expect(withoutFinalOrderBy(`SELECT DISTINCT ON (a) a FROM t WHERE a <> 'ORDER BY'`)).toBe(`SELECT DISTINCT ON (a) a FROM t WHERE a <> 'ORDER BY'`);
  });

  it('a dedup finds its appended keys without its DISTINCT ON (every column of every appended row was computed for it)', () => {
    expect(withoutDistinctOn(`WITH r AS (SELECT DISTINCT ON (b) b FROM s) SELECT DISTINCT ON ((b ->> 'id')) (b ->> 'id') AS id, f(b) AS at FROM r WHERE ((b ->> 'id') IS NOT NULL)`)).toBe(
      `WITH r AS (SELECT DISTINCT ON (b) b FROM s) SELECT (b ->> 'id') AS id, f(b) AS at FROM r WHERE ((b ->> 'id') IS NOT NULL)`,
    );
    // Parentheses inside quotes do not end the list.
    expect(withoutDistinctOn(`SELECT DISTINCT ON ((b ->> ')(')) (b ->> ')(') AS k FROM s`)).toBe(`SELECT (b ->> ')(') AS k FROM s`);
    // Not one top-level SELECT starting with DISTINCT ON: unchanged.
    expect(withoutDistinctOn(`SELECT DISTINCT a FROM t`)).toBe(`SELECT DISTINCT a FROM t`);
    expect(withoutDistinctOn(`SELECT a FROM t UNION ALL SELECT DISTINCT ON (a) a FROM u`)).toBe(`SELECT a FROM t UNION ALL SELECT DISTINCT ON (a) a FROM u`);
  });

  it('finds scans of kept tables in a JSON plan', () => {
    const plan = [{ Plan: { 'Node Type': 'Hash Join', Plans: [
      { 'Node Type': 'Seq Scan', Schema: 'mz_local', 'Relation Name': 'mv_b_3', Alias: 'mv_b_3_1', Filter: '(mv_b_3_1.kind = $1)' },
      { 'Node Type': 'Index Scan', Schema: 'mz_local', 'Relation Name': 'mv_b_4', Alias: 'mv_b_4', Filter: '(mv_b_4.kind = 1)' },
      { 'Node Type': 'Seq Scan', Schema: 'public', 'Relation Name': 'mv_b_5', Alias: 'mv_b_5', Filter: '(x = $1)' },
    ] } }];
    expect(keptTableScans(plan)).toEqual([{ schema: 'mz_local', table: 'mv_b_3', alias: 'mv_b_3_1', filter: '(mv_b_3_1.kind = $1)' }]);
  });

  it('names what a statement may read', () => {
    expect(identifiersIn(`SELECT * FROM analytics."User Profiles" WHERE user_id = 'x'`)).toEqual(['select', 'from', 'analytics', 'User Profiles', 'where', 'user_id']);
    expect(identifiersIn(`SELECT 'unterminated`)).toBeNull();
    expect(identifiersIn(`INSERT INTO t VALUES ${'(1),'.repeat(20_000)}(1)`)).toBeNull();
  });
});

describe('folding aggregates', () => {
  /** The candidate view's fold plan, from its tree and PostgreSQL's own deparse, as the server reads them. */
  async function foldOf(sql: string, keyColumns: readonly string[]) {
    await db.exec(`DROP VIEW IF EXISTS candidate; CREATE VIEW candidate AS ${sql}`);
    const { tree, definition } = (await db.query<{ tree: string; definition: string }>(
      `SELECT ev_action::text AS tree, pg_get_viewdef('candidate'::regclass) AS definition FROM pg_rewrite WHERE ev_class = 'candidate'::regclass`,
    )).rows[0]!;
    return planIncrementalAggregates(tree, definition, keyColumns);
  }

  it('reads each aggregate and its input back from the deparsed definition', async () => {
    const result = await foldOf(
      `SELECT date_trunc('day', o.at) AS day, count(*) AS orders, count(o.sku) AS with_sku, count(DISTINCT coalesce(o.who, 'nobody, really')) AS buyers,
              sum(o.amount) AS revenue, min(o.sku) AS first_sku, max(o.at) AS last_at
         FROM plain_orders o WHERE o.sku <> 'FROM (' GROUP BY 1`,
      ['day'],
    );
    expect(result).toEqual({
      plan: {
        keyColumn: 'day',
        keyExpression: `date_trunc('day'::text, at)`,
        fromClause: `FROM plain_orders o\n  WHERE (sku <> 'FROM ('::text)`,
        columns: [
          { name: 'day', kind: 'key', argument: null },
          { name: 'orders', kind: 'count', argument: null },
          { name: 'with_sku', kind: 'count', argument: 'sku' },
          { name: 'buyers', kind: 'count_distinct', argument: `COALESCE(who, 'nobody, really'::text)` },
          { name: 'revenue', kind: 'sum', argument: 'amount' },
          { name: 'first_sku', kind: 'min', argument: 'sku' },
          { name: 'last_at', kind: 'max', argument: 'at' },
        ],
      },
    });
  });

  it('refuses what folding would get wrong', async () => {
    const reasons = {
      average: await foldOf(`SELECT k.who, avg(k.amount) AS mean FROM kept k GROUP BY 1`, ['who']),
      inexactSum: await foldOf(`SELECT k.who, sum(k.amount::float8) AS total FROM kept k GROUP BY 1`, ['who']),
      filtered: await foldOf(`SELECT k.who, count(*) FILTER (WHERE k.kind = 'x') AS n FROM kept k GROUP BY 1`, ['who']),
      overAggregates: await foldOf(`SELECT k.who, count(*) + 1 AS n FROM kept k GROUP BY 1`, ['who']),
      distinctSum: await foldOf(`SELECT k.who, sum(DISTINCT k.amount) AS n FROM kept k GROUP BY 1`, ['who']),
      twoKeys: await foldOf(`SELECT k.who, k.kind, count(*) AS n FROM kept k GROUP BY 1, 2`, ['who', 'kind']),
      distinctOn: await foldOf(`SELECT DISTINCT ON (k.who) k.who, k.at FROM kept k ORDER BY k.who, k.at`, ['who']),
    };
    expect(Object.fromEntries(Object.entries(reasons).map(([name, result]) => [name, 'reason' in result ? result.reason : 'folded']))).toEqual({
      average: 'its column mean uses avg, which cannot be folded (count, sum of integers or numeric, min and max can)',
      inexactSum: 'its column total is a sum of values that do not add exactly (integers and numeric do)',
      filtered: 'its column n aggregates with FILTER',
      overAggregates: 'its column n is not an aggregate or its key',
      distinctSum: 'its column n is an aggregate of distinct values other than count',
      twoKeys: 'it is keyed by more than one column',
      distinctOn: 'it has no GROUP BY',
    });
  });

  it('splits deparsed SQL outside quotes and parentheses', () => {
    const split = splitDeparsedSelect(` SELECT "from" AS "select", f(a, 'b,c') AS x,\n    (y)::date AS "GROUP BY"\n   FROM t\n  GROUP BY "from";`);
    expect(split).toEqual({ items: ['"from" AS "select"', `f(a, 'b,c') AS x`, '(y)::date AS "GROUP BY"'], fromClause: 'FROM t' });
    expect(itemExpression('(y)::date AS day')).toBe('(y)::date');
    expect(itemExpression(`f('x AS y')`)).toBe(`f('x AS y')`);
    expect(itemExpression('plain_column')).toBe('plain_column');
    expect(() => splitDeparsedSelect(' SELECT a FROM t UNION SELECT a FROM u GROUP BY a')).toThrow(/not SELECT/);
  });
});

describe('NOT EXISTS and HAVING in deparsed definitions', () => {
  async function deparsed(sql: string): Promise<string> {
    await db.exec(`DROP VIEW IF EXISTS candidate; CREATE VIEW candidate AS ${sql}`);
    return (await db.query<{ definition: string }>(`SELECT pg_get_viewdef('candidate'::regclass) AS definition`)).rows[0]!.definition;
  }

  it('finds the NOT EXISTS reading a relation, its subquery, and rewrites it; quotes and parentheses inside do not mislead', async () => {
    const sql = await deparsed(`SELECT o.who, count(*) AS n FROM plain_orders o
      WHERE o.sku <> 'NOT (EXISTS (' AND NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who AND (b.at > o.at OR b.at IS NULL)) GROUP BY 1 HAVING count(*) > 1`);
    const span = locateNotExists(sql, 'plain_bans');
    expect(sql.slice(span.start, span.start + 'NOT (EXISTS'.length)).toBe('NOT (EXISTS');
    expect(sql.slice(span.subqueryStart, span.subqueryEnd)).toMatch(/^\( SELECT 1\s+FROM plain_bans b\s+WHERE \(\(b\.who = o\.who\) AND \(\(b\.at > o\.at\) OR \(b\.at IS NULL\)\)\)\)$/);
    expect(sql.slice(span.relationStart, span.relationEnd)).toBe('plain_bans');
    const dropped = rewriteNotExists(sql, [{ relation: 'plain_bans', readAs: 'plain_bans' }], () => 'true');
    expect(dropped).not.toMatch(/plain_bans/);
    expect(dropped).toContain(`'NOT (EXISTS ('::text`);
    // Still a valid query, without HAVING.
    await db.exec(`DROP VIEW IF EXISTS candidate_keys; CREATE VIEW candidate_keys AS ${withoutHaving(dropped)}`);
    expect(withoutHaving(dropped)).not.toMatch(/HAVING/);
    expect(() => locateNotExists(sql, 'plain_orders')).toThrow(/not read by a subquery|not a NOT EXISTS/);
    expect(() => locateNotExists(sql, 'kept')).toThrow(/named 0 times/);
  });

  it('writes the keys views and the retracted rows as SQL PostgreSQL accepts', async () => {
    const sql = await deparsed(`SELECT o.who, sum(o.amount) AS total FROM plain_orders o WHERE o.amount > 0 AND NOT EXISTS (SELECT 1 FROM plain_bans b WHERE b.who = o.who) GROUP BY 1 HAVING sum(o.amount) > 10`);
    await db.exec(`CREATE SCHEMA IF NOT EXISTS mz_local; DROP VIEW IF EXISTS mz_local.mv_k_1, mz_local.mv_j_1; DROP FUNCTION IF EXISTS mz_local.mv_h_1_1(), mz_local.mv_g_1_1();
      CREATE FUNCTION mz_local.mv_h_1_1() RETURNS SETOF plain_bans LANGUAGE sql AS 'SELECT * FROM plain_bans';
      CREATE FUNCTION mz_local.mv_g_1_1() RETURNS SETOF plain_bans LANGUAGE sql AS 'SELECT * FROM plain_bans';
      CREATE TABLE IF NOT EXISTS mz_local.mv_d_1_1 AS SELECT * FROM plain_bans WITH NO DATA;`);
    const relations = [{ position: 1, name: 'plain_bans' }];
    const [keys, changed] = keysViewsSql('1', sql, relations, true);
    expect(keys).not.toMatch(/HAVING|EXISTS/);
    // One equality is the whole subquery: the changed rows' values say it all, no EXISTS beside them.
    expect(changed).toContain(`((o.who) = ANY (ARRAY(SELECT b.who FROM mz_local."mv_h_1_1"() b)))`);
    expect(changed).not.toMatch(/\(EXISTS \( SELECT 1\s+FROM mz_local\."mv_h_1_1"/);
    for (const statement of [keys!, changed!]) await db.exec(statement);
    const from = retractedFromClause('1', `FROM plain_orders o\n  WHERE ((amount > (0)::numeric) AND (NOT (EXISTS ( SELECT 1\n           FROM plain_bans b\n          WHERE (b.who = o.who)))))`, relations);
    expect(from).toMatch(/NOT \(EXISTS \( SELECT 1\s+FROM mz_local\."mv_d_1_1" b/);
    // The deleted users' values as an array: an index lookup of their rows, not a scan of all.
    expect(from).toContain(`(o.who) = ANY (ARRAY(SELECT b.who FROM mz_local."mv_g_1_1"() b))`);
    await db.exec(`SELECT 1 ${from}`);
    expect(andWhere('FROM t', 'x')).toBe('FROM t WHERE x');
    expect(matchingValues(`( SELECT 1 FROM g() d WHERE ((d.u = lower(o.who)) AND (d.at > o.at) AND (o.kind = d.kind)))`, 'g()')).toBe(
      `(lower(o.who)) = ANY (ARRAY(SELECT d.u FROM g() d)) AND (o.kind) = ANY (ARRAY(SELECT d.kind FROM g() d))`,
    );
    expect(matchingValues(`( SELECT 1 FROM g() d WHERE (d.u = d.v))`, 'g()')).toBeNull();
    // EXISTS kept beside the values unless one equality is its whole WHERE (two values may be found in two rows).
    expect(existsCondition(`( SELECT 1 FROM g() d WHERE (d.u = o.who))`, 'g()')).toBe(`((o.who) = ANY (ARRAY(SELECT d.u FROM g() d)))`);
    expect(existsCondition(`( SELECT 1 FROM g() d WHERE ((d.u = o.who) AND (d.kind = o.kind)))`, 'g()')).toBe(
      `(EXISTS ( SELECT 1 FROM g() d WHERE ((d.u = o.who) AND (d.kind = o.kind))) AND (o.who) = ANY (ARRAY(SELECT d.u FROM g() d)) AND (o.kind) = ANY (ARRAY(SELECT d.kind FROM g() d)))`,
    );
    expect(existsCondition(`( SELECT 1 FROM g() d WHERE ((d.u = o.who) AND (d.at > o.at)))`, 'g()')).toMatch(/^\(EXISTS /);
    expect(existsCondition(`( SELECT 1 FROM g() d WHERE (d.u > o.who))`, 'g()')).toBe(`(EXISTS ( SELECT 1 FROM g() d WHERE (d.u > o.who)))`);
  });
});
