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
 *   mz_local.mv_x_<id>     with retractions (anti-join-plan.ts): the input rows a relation under its
 *                          NOT EXISTS now removes (k, a<n>), subtracted from their groups after the
 *                          fold: counts and sums subtract, count(DISTINCT) takes the values whose last
 *                          row went, a group whose count(*) reaches 0 goes; a min or max that may
 *                          have gone (the rows taken out reach it), a sum that may have become NULL
 *                          (it reaches 0), or any group of a view without count(*) (it may be empty)
 *                          is recomputed from the definition — those groups only
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

/** How a folding view takes out the input rows a relation under its NOT EXISTS now removes. */
export interface Retraction {
  /** `FROM … WHERE …` of those input rows (anti-join-plan.ts, retractedFromClause). */
  readonly fromClause: string;
  /** mz_local.mv_l_<id>() and mz_local.mv_y_<id>() exist (the snapshots' functions). */
  readonly id: string;
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

/** Column `position`'s value once the retracted rows' partials (r.r<n>, r.r0 their count) are taken out of the kept value (g). */
function retractedValue(column: AggregateColumn, position: number): string {
  const kept = `g.${quoteIdentifier(column.name)}`;
  const partial = column.kind === 'count' && column.argument === null ? 'r.r0' : `r.r${position}`;
  switch (column.kind) {
    case 'key':
      return 'r.k';
    case 'count':
      return `${kept} - ${partial}`;
    case 'count_distinct':
      return `${kept} - coalesce(x${position}.removed, 0)`;
    case 'sum':
      return `CASE WHEN ${partial} IS NULL THEN ${kept} ELSE ${kept} - ${partial} END`;
    case 'min':
    case 'max':
      return kept;
  }
}

/** Whether column `position` can only be known by recomputing the group once the rows are out. */
function retractionUnknown(column: AggregateColumn, position: number): string | null {
  const kept = `g.${quoteIdentifier(column.name)}`;
  const partial = `r.r${position}`;
  switch (column.kind) {
    // The rows left may all be NULL there (NULL, not 0), or the kept sum was NULL already.
    case 'sum':
      return `(${partial} IS NOT NULL AND (${kept} IS NULL OR ${kept} - ${partial} = 0))`;
    // The rows taken out reach the kept extreme: it may have gone with them.
    case 'min':
      return `(${partial} IS NOT NULL AND (${kept} IS NULL OR ${partial} <= ${kept}))`;
    case 'max':
      return `(${partial} IS NOT NULL AND (${kept} IS NULL OR ${partial} >= ${kept}))`;
    default:
      return null;
  }
}

export function aggregateRefreshSql(id: string, plan: AggregatePlan, keyType: string, retraction?: Retraction): AggregateRefreshSql {
  const inputView = `mz_local.${quoteIdentifier(`mv_p_${id}`)}`;
  const retractedView = `mz_local.${quoteIdentifier(`mv_x_${id}`)}`;
  const kept = `mz_local.${quoteIdentifier(`mv_b_${id}`)}`;
  const changeLog = `mz_local.${quoteIdentifier(`mv_c_${id}`)}`;
  const definition = `mz_local.${quoteIdentifier(`mv_q_${id}`)}`;
  const key = quoteIdentifier(plan.keyColumn);
  const positioned = plan.columns.map((column, index) => ({ column, position: index + 1 }));
  const inputs = positioned.filter(({ column }) => column.argument !== null);
  const distinct = positioned.filter(({ column }) => column.kind === 'count_distinct').map(({ position }) => position);

  const setup = [
    `CREATE VIEW ${inputView} AS SELECT ${[`${plan.keyExpression} AS k`, ...inputs.map(({ column, position }) => `${column.argument} AS ${argumentColumn(position)}`)].join(', ')} ${plan.fromClause}`,
    ...(retraction ? [`CREATE VIEW ${retractedView} AS SELECT ${[`${plan.keyExpression} AS k`, ...inputs.map(({ column, position }) => `${column.argument} AS ${argumentColumn(position)}`)].join(', ')} ${retraction.fromClause}`] : []),
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

  // Retraction (after the fold, delta mode off): the rows to take out, their partials per group,
  // each count(DISTINCT) value's rows taken out of its count (a value whose count reaches 0 leaves
  // the group: DELETE and UPDATE touch different rows of one statement), the groups' kept rows
  // replaced by what is left — or gone, or recomputed below (mz_keys).
  const countStar = positioned.find(({ column }) => column.kind === 'count' && column.argument === null);
  const retractPartials = positioned
    .map(({ column, position }) => {
      if (column.kind === 'key' || column.kind === 'count_distinct' || (column.kind === 'count' && column.argument === null)) return null;
      const input = quoteIdentifier(argumentColumn(position));
      return `${column.kind === 'count' ? 'count' : column.kind}(${input}) AS r${position}`;
    })
    .filter((text): text is string => text !== null);
  const unknown = positioned.map(({ column, position }) => retractionUnknown(column, position)).filter((text): text is string => text !== null);
  // Without count(*), whether a group is left empty is not known: its groups are recomputed.
  const redo = countStar ? unknown.join(' OR ') || 'false' : 'true';
  const emptied = countStar ? `g.${quoteIdentifier(countStar.column.name)} - r.r0 <= 0` : 'false';
  const retractWith = (logged: boolean) => [
    `rt AS MATERIALIZED (SELECT * FROM ${retractedView})`,
    `r AS MATERIALIZED (SELECT ${['k', 'count(*) AS r0', ...retractPartials].join(', ')} FROM rt GROUP BY k)`,
    ...distinct.flatMap((position) => [
      `rv${position} AS MATERIALIZED (SELECT k, ${argumentColumn(position)} AS v, count(*) AS c FROM rt WHERE ${argumentColumn(position)} IS NOT NULL GROUP BY 1, 2)`,
      `rd${position} AS (DELETE FROM ${valueTable(id, position)} t USING rv${position} x WHERE ARRAY[t.k] = ARRAY[x.k] AND t.v = x.v AND t.n <= x.c RETURNING t.k)`,
      `ru${position} AS (UPDATE ${valueTable(id, position)} t SET n = t.n - x.c FROM rv${position} x WHERE ARRAY[t.k] = ARRAY[x.k] AND t.v = x.v AND t.n > x.c RETURNING t.k)`,
      `x${position} AS (SELECT k, count(*) AS removed FROM rd${position} GROUP BY k)`,
    ]),
    `gone AS (DELETE FROM ${kept} b WHERE ${inKeys(`b.${key}`, 'ARRAY(SELECT k FROM r)', 'EXISTS (SELECT 1 FROM r WHERE k IS NULL)')} RETURNING b.*)`,
    // A group not found among the kept rows (it should be) is recomputed too.
    `nx AS (SELECT ${positioned.map(({ column, position }) => `${retractedValue(column, position)} AS ${quoteIdentifier(column.name)}`).join(', ')},
                     g.mz_found IS NULL OR ${redo} AS mz_redo, coalesce(${emptied}, false) AS mz_emptied
                FROM r LEFT JOIN (SELECT gone.*, true AS mz_found FROM gone) g ON ARRAY[g.${key}] = ARRAY[r.k]${distinct.map((position) => ` LEFT JOIN x${position} ON ARRAY[x${position}.k] = ARRAY[r.k]`).join('')})`,
    `added AS (INSERT INTO ${kept} SELECT ${positioned.map(({ column }) => quoteIdentifier(column.name)).join(', ')} FROM nx WHERE NOT mz_redo AND NOT mz_emptied RETURNING *)`,
    ...(logged ? [`logged AS (INSERT INTO ${changeLog} SELECT * FROM gone UNION ALL SELECT * FROM added)`] : []),
  ].join(',\n        ');
  const retract = (logged: boolean) => `WITH ${retractWith(logged)}
        SELECT (SELECT array_agg(${key}) FROM nx WHERE mz_redo AND NOT mz_emptied), (SELECT count(*) FROM gone) INTO mz_keys, mz_lost;
        IF mz_keys IS NOT NULL THEN
          ${logged ? `WITH added AS (INSERT INTO ${kept} SELECT * FROM ${definition} WHERE ${groupCondition(key)} RETURNING *) INSERT INTO ${changeLog} SELECT * FROM added;` : `INSERT INTO ${kept} SELECT * FROM ${definition} WHERE ${groupCondition(key)};`}
        END IF;`;
  const retractStep = retraction
    ? `IF mz_changed THEN
          -- Rows a relation under its NOT EXISTS now removes: taken out of their groups.
          PERFORM set_config('mz_local.delta_since', '', true);
          IF $2 THEN
            ${retract(true)}
            ${'IF mz_lost > 0 THEN PERFORM mz_local.note_rows_lost(' + id + '); END IF;'}
          ELSE
            ${retract(false)}
          END IF;
          PERFORM mz_local.${quoteIdentifier(`mv_y_${retraction.id}`)}();
        END IF;`
    : '';
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
      mz_changed boolean;
      mz_only_gained boolean;
    BEGIN
      PERFORM set_config('mz_local.delta_since', $1::text, true);
      mz_changed := mz_local.any_changed((SELECT m.check_relations FROM mz_local.maintained_views m WHERE m.id = ${id}));
      mz_only_gained := NOT EXISTS (SELECT 1 FROM mz_local.maintained_views u
                                     WHERE u.id IN (SELECT unnest(m.upstream_ids) FROM mz_local.maintained_views m WHERE m.id = ${id})
                                       AND coalesce(u.lost_xid, 0) > $1);
      -- A relation under its NOT EXISTS changed: ${retraction ? `followed by retractions when its input and that relation only gained rows (rows of a snapshot gone from the relation would put input rows back: whole)` : 'whole (its NOT EXISTS cannot be followed by key: anti-join-plan.ts)'}.
      IF mz_changed AND ${retraction ? `(NOT mz_only_gained OR mz_local.${quoteIdentifier(`mv_l_${retraction.id}`)}())` : 'true'} THEN
        PERFORM set_config('mz_local.delta_since', '', true);
        RETURN false;
      END IF;
      IF mz_only_gained THEN
        -- Only rows gained since its refresh: folded into their groups' kept rows${retraction ? ' (against the snapshots of its NOT EXISTS relations: as of its last refresh)' : ''}.
        IF $2 THEN
          ${fold(true)}
          ${markLost}
        ELSE
          ${fold(false)}
        END IF;
        PERFORM set_config('mz_local.delta_since', '', true);
        ${retractStep}
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
