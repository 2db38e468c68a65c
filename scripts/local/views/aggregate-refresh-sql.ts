/**
 * The SQL that keeps a GROUP BY view by folding (aggregate-plan.ts decides which views can):
 *
 *   mz_local.mv_p_<id>     a view: one row per input row, its group key `k` and each aggregate's
 *                          input `a<n>` (n: the output column) — in delta mode (catalog/kept-views.sql),
 *                          the input rows gained since a refresh
 *   mz_local.mv_m_<id>_<n> for a count(DISTINCT) column n: each group's values (k, v) and how many
 *                          input rows hold them (n); filled by a whole refresh (refresh_maintained)
 *   mz_local.mv_r_<id>     its keyed refresh (the contract of keyed_refresh_function_sql): when the
 *                          views it reads only gained rows since its refresh, the new rows' partial
 *                          aggregates are folded into the kept rows of their groups; when some rows
 *                          were lost, the changed groups are recomputed (and their values counted again)
 */
import type { AggregateColumn, AggregatePlan } from './aggregate-plan.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';

export interface AggregateRefreshSql {
  /** Creates mz_local.mv_p_<id> and the value tables of its count(DISTINCT) columns. */
  readonly setup: readonly string[];
  /** The output column positions (1-based) that are count(DISTINCT): their tables are mv_m_<id>_<n>. */
  readonly distinctColumns: readonly number[];
  /** CREATE FUNCTION mz_local.mv_r_<id>(since bigint, log_changes boolean, max_keys integer). */
  readonly refreshFunction: string;
}

const argumentColumn = (position: number) => `a${position}`;
const valueTable = (id: string, position: number) => `mz_local.${quoteIdentifier(`mv_m_${id}_${position}`)}`;

/** The partial aggregate of column `position` over the delta's rows (`c<n>` in `partial`). */
function partialAggregate(column: AggregateColumn, position: number): string | null {
  const input = quoteIdentifier(argumentColumn(position));
  switch (column.kind) {
    case 'key':
    case 'count_distinct':
      return null;
    case 'count':
      return column.argument === null ? `count(*)` : `count(${input})`;
    default:
      return `${column.kind}(${input})`;
  }
}

/** Column `position`'s new value from its kept value (g) and the delta's partial (p, new values n<n>). */
function foldedValue(column: AggregateColumn, position: number): string {
  const kept = `g.${quoteIdentifier(column.name)}`;
  const partial = `p.c${position}`;
  switch (column.kind) {
    case 'key':
      return 'p.k';
    case 'count':
      return `coalesce(${kept}, 0) + ${partial}`;
    case 'count_distinct':
      return `coalesce(${kept}, 0) + coalesce(n${position}.added, 0)`;
    case 'sum':
      return `CASE WHEN ${kept} IS NULL THEN ${partial} WHEN ${partial} IS NULL THEN ${kept} ELSE ${kept} + ${partial} END`;
    case 'min':
    case 'max':
      return `CASE WHEN ${kept} IS NULL THEN ${partial} WHEN ${partial} IS NULL THEN ${kept} ELSE ${column.kind === 'min' ? 'least' : 'greatest'}(${kept}, ${partial}) END`;
  }
}

export function aggregateRefreshSql(id: string, plan: AggregatePlan, keyType: string): AggregateRefreshSql {
  const inputView = `mz_local.${quoteIdentifier(`mv_p_${id}`)}`;
  const kept = `mz_local.${quoteIdentifier(`mv_b_${id}`)}`;
  const changeLog = `mz_local.${quoteIdentifier(`mv_c_${id}`)}`;
  const definition = `mz_local.${quoteIdentifier(`mv_q_${id}`)}`;
  const key = quoteIdentifier(plan.keyColumn);
  const positioned = plan.columns.map((column, index) => ({ column, position: index + 1 }));
  const inputs = positioned.filter(({ column }) => column.argument !== null);
  const distinct = positioned.filter(({ column }) => column.kind === 'count_distinct').map(({ position }) => position);

  const setup = [
    `CREATE VIEW ${inputView} AS SELECT ${[`${plan.keyExpression} AS k`, ...inputs.map(({ column, position }) => `${column.argument} AS ${argumentColumn(position)}`)].join(', ')} ${plan.fromClause}`,
    ...distinct.flatMap((position) => [
      `CREATE TABLE ${valueTable(id, position)} AS SELECT k, ${argumentColumn(position)} AS v, 0::bigint AS n FROM ${inputView} WITH NO DATA`,
      // NULLS NOT DISTINCT: the NULL group's values are found by ON CONFLICT too.
      `CREATE UNIQUE INDEX ON ${valueTable(id, position)} (k, v) NULLS NOT DISTINCT`,
    ]),
  ];

  // Rows of a group, NULL included (= ANY never matches NULL).
  const inKeys = (column: string, keys: string, hasNullKey: string) => `(${column} = ANY (${keys}) OR (${column} IS NULL AND ${hasNullKey}))`;
  const partialColumns = positioned.map(({ column, position }) => {
    const aggregate = partialAggregate(column, position);
    return aggregate === null ? null : `${aggregate} AS c${position}`;
  }).filter((text): text is string => text !== null);
  const valueCounts = distinct.flatMap((position) => [
    // Each value's rows added to its group's count; `xmax = 0` marks a value the group did not have.
    `v${position} AS (INSERT INTO ${valueTable(id, position)} AS t SELECT k, ${argumentColumn(position)}, count(*) FROM delta WHERE ${argumentColumn(position)} IS NOT NULL GROUP BY 1, 2
         ON CONFLICT (k, v) DO UPDATE SET n = t.n + excluded.n RETURNING t.k, t.xmax = 0 AS fresh)`,
    `n${position} AS (SELECT k, count(*) FILTER (WHERE fresh) AS added FROM v${position} GROUP BY k)`,
  ]);
  const foldWith = [
    `delta AS MATERIALIZED (SELECT * FROM ${inputView})`,
    `p AS MATERIALIZED (SELECT ${['k', ...partialColumns].join(', ')} FROM delta GROUP BY k)`,
    ...valueCounts,
    `gone AS (DELETE FROM ${kept} b WHERE ${inKeys(`b.${key}`, 'ARRAY(SELECT k FROM p)', 'EXISTS (SELECT 1 FROM p WHERE k IS NULL)')} RETURNING b.*)`,
    // ARRAY[…] = ARRAY[…]: equal for NULL keys too, and still a hash or merge join.
    `added AS (INSERT INTO ${kept} SELECT ${positioned.map(({ column, position }) => foldedValue(column, position)).join(', ')}
         FROM p LEFT JOIN gone g ON ARRAY[g.${key}] = ARRAY[p.k]${distinct.map((position) => ` LEFT JOIN n${position} ON ARRAY[n${position}.k] = ARRAY[p.k]`).join('')}
         RETURNING *)`,
  ];
  const fold = (logged: boolean) =>
    `WITH ${[...foldWith, ...(logged ? [`logged AS (INSERT INTO ${changeLog} SELECT * FROM gone UNION ALL SELECT * FROM added)`] : [])].join(',\n        ')}
      SELECT count(*) INTO mz_lost FROM gone;`;

  const groupCondition = (column: string) => inKeys(column, 'mz_keys', 'array_position(mz_keys, NULL) IS NOT NULL');
  const recount = distinct.flatMap((position) => [
    `DELETE FROM ${valueTable(id, position)} WHERE ${groupCondition('k')};`,
    `INSERT INTO ${valueTable(id, position)} SELECT k, ${argumentColumn(position)}, count(*) FROM ${inputView} WHERE ${groupCondition('k')} AND ${argumentColumn(position)} IS NOT NULL GROUP BY 1, 2;`,
  ]);
  const markLost = `IF mz_lost > 0 THEN PERFORM mz_local.note_rows_lost(${id}); END IF;`;

  const refreshFunction = `CREATE FUNCTION mz_local.${quoteIdentifier(`mv_r_${id}`)}(bigint, boolean, integer) RETURNS boolean LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan AS $body$
    DECLARE
      mz_keys ${keyType}[];
      mz_lost bigint;
    BEGIN
      PERFORM set_config('mz_local.delta_since', $1::text, true);
      IF mz_local.any_changed((SELECT m.check_relations FROM mz_local.maintained_views m WHERE m.id = ${id})) THEN
        PERFORM set_config('mz_local.delta_since', '', true);
        RETURN false;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM mz_local.maintained_views u
                      WHERE u.id IN (SELECT unnest(m.upstream_ids) FROM mz_local.maintained_views m WHERE m.id = ${id})
                        AND coalesce(u.lost_xid, 0) > $1) THEN
        -- Only rows gained since its refresh: folded into their groups' kept rows.
        IF $2 THEN
          ${fold(true)}
          ${markLost}
        ELSE
          ${fold(false)}
        END IF;
        PERFORM set_config('mz_local.delta_since', '', true);
        RETURN true;
      END IF;
      -- Rows lost too (a min, a max or a value's last row may be gone): the changed groups recomputed.
      SELECT array_agg(DISTINCT k) INTO mz_keys FROM (SELECT ${key} FROM ${definition} LIMIT $3 + 1) AS changed_rows(k);
      PERFORM set_config('mz_local.delta_since', '', true);
      IF mz_keys IS NULL THEN RETURN true; END IF;
      IF cardinality(mz_keys) > $3 THEN RETURN false; END IF;
      IF $2 THEN
        WITH gone AS (DELETE FROM ${kept} WHERE ${groupCondition(key)} RETURNING *),
             added AS (INSERT INTO ${kept} SELECT * FROM ${definition} WHERE ${groupCondition(key)} RETURNING *),
             logged AS (INSERT INTO ${changeLog} SELECT * FROM gone UNION ALL SELECT * FROM added)
        SELECT count(*) INTO mz_lost FROM gone;
        ${markLost}
      ELSE
        DELETE FROM ${kept} WHERE ${groupCondition(key)};
        INSERT INTO ${kept} SELECT * FROM ${definition} WHERE ${groupCondition(key)};
      END IF;
      ${recount.join('\n      ')}
      RETURN true;
    END
    $body$`;
  return { setup, distinctColumns: distinct, refreshFunction };
}
