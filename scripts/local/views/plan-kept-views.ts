/**
 * Plans kept materialized views after catalog changes (keyed-refresh-plan.ts decides from each
 * view's query tree) and indexes what a keyed refresh reads: the view's kept table on its key, and
 * the kept tables under it where recomputing one group would otherwise scan them whole.
 */
import { createHash } from 'node:crypto';
import { forEachOutsideQuotes, planIncrementalAggregates, topLevelClauses } from './aggregate-plan.ts';
import { aggregateRefreshSql } from './aggregate-refresh-sql.ts';
import { keysViewsSql, relationNameAndColumns, retractedFromClause, setUpSnapshots, snapshotFromClause, type AntiJoinRelation } from './anti-join-plan.ts';
import type { LocalDatabase } from '../engine/engine.ts';
import { NOT_DISTINCT_ON, planDedupRefresh, planKeyedRefresh, type DedupPlan, type RelationInfo } from './keyed-refresh-plan.ts';
import { isNode, listOf, parseQueryTree, type TreeValue } from './query-tree.ts';
import { planTemporalFilter, type TimeFunctions } from './temporal-plan.ts';
import { PLAN_VERSION } from '../catalog/bootstrap.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import { escapeRegExp } from '../../shared/regexp.ts';

/**
 * Plans every kept view not planned yet: keyed by what changed in the views it reads, or whole (the
 * reason kept, for the server log). A view whose planning fails is refreshed whole.
 */
export async function planKeptViews(db: LocalDatabase, log?: (line: string) => void): Promise<void> {
  const pending = await db.query<{ id: string; tree: string }>(
    `SELECT m.id::text AS id, w.ev_action::text AS tree
       FROM mz_local.maintained_views m
       JOIN pg_rewrite w ON w.ev_class = to_regclass(format('mz_local.%I', 'mv_q_' || m.id)) AND w.rulename = '_RETURN'
      WHERE NOT m.planned
      ORDER BY m.id`,
  );
  for (const view of pending.rows) {
    try {
      await planOne(db, view, log);
    } catch (error) {
      const reason = `it could not be planned: ${(error as Error).message}`;
      await db.query(`UPDATE mz_local.maintained_views SET planned = true, refresh_kind = NULL, not_keyed_reason = $2 WHERE id = $1`, [view.id, reason]);
    }
  }
}

async function planOne(db: LocalDatabase, view: { id: string; tree: string }, log?: (line: string) => void): Promise<void> {
  const lookup = (oid: number) => describeRelation(db, oid);
  const result = await planKeyedRefresh(view.tree, lookup);
  const timing = (
    await db.query<{ under: string | null; timed: boolean }>(
      `SELECT mz_local.unmaintainable_reason(format('mz_local.%I', 'mv_q_' || $1::text)::regclass, '') AS under,
              mz_local.uses_time(format('mz_local.%I', 'mv_q_' || $1::text)::regclass) AS timed`,
      [view.id],
    )
  ).rows[0]!;
  // A view under it replaced by one using the time (or reading a table): computed on every read.
  if (timing.under !== null) return computedOnRead(db, view.id, timing.under);
  await db.query(`SELECT mz_local.drop_temporal($1)`, [view.id]);
  if (timing.timed) {
    if (!('plan' in result)) return computedOnRead(db, view.id, `it uses mz_now(), and a temporal filter is kept only in a view kept by key, which it is not: ${result.reason}`);
    // Temporal filters are kept in views kept by their groups without HAVING (temporal-plan.ts
    // reads those shapes back from the deparsed definition).
    if (result.plan.having) return computedOnRead(db, view.id, 'it uses mz_now(), and a temporal filter is not kept in a view with HAVING');
    if (result.plan.keyCandidates) return computedOnRead(db, view.id, 'it uses mz_now(), and a temporal filter is kept only in a view with GROUP BY or DISTINCT ON');
    try {
      const kept = await setUpTemporal(db, view, result.plan.keyColumns);
      if (kept !== null) return computedOnRead(db, view.id, `it uses the time in a way that cannot be kept: ${kept}`);
    } catch (error) {
      return computedOnRead(db, view.id, `its temporal filter could not be set up: ${(error as Error).message}`);
    }
    const { keyColumns, upstreamIds, checkRelations } = result.plan;
    await db.query(
      `UPDATE mz_local.maintained_views SET planned = true, plan_version = $5, refresh_kind = 'view', key_columns = $2, upstream_ids = $3, check_relations = $4,
              key_column = NULL, delta_sql = NULL, source_oids = NULL, source_indexes = NULL, not_keyed_reason = NULL, temporal = true,
              next_change = 'infinity', refreshed_version = -1, refreshed_xid = NULL, refresh_function_sql = NULL, distinct_columns = NULL, keys_view = false, snapshots = false, rows_per_key = false WHERE id = $1`,
      [view.id, keyColumns, upstreamIds, checkRelations, PLAN_VERSION],
    );
    await dropFolding(db, view.id);
    await db.query(`SELECT mz_local.set_view_form($1)`, [view.id]);
    await indexKeptRows(db, view.id, keyColumns, log);
    await indexUpstreamForKeys(db, view.id, keyColumns, log);
    await db.query(`SELECT mz_local.drop_unused_source_indexes()`);
    return;
  }
  await db.query(`UPDATE mz_local.maintained_views SET temporal = false, next_change = NULL WHERE id = $1`, [view.id]);
  let reason = 'plan' in result ? '' : result.reason;
  if ('plan' in result) {
    const { upstreamIds, checkRelations } = result.plan;
    const keyColumns = result.plan.keyCandidates ? await comparableKey(db, view.id, result.plan.keyCandidates) : result.plan.keyColumns;
    if (keyColumns === null) {
      reason = 'it only filters, and none of its columns taken straight from what it reads has a type that can be compared (a key for its rows)';
    } else {
      await db.query(
        // Its next refresh is whole: the views it reads logged their changes only for readers
        // planned before (replace_keyed_rows). Stale now, so the pass that planned it refreshes it:
        // a view refreshed before it was planned (a pass racing its CREATE, or planned again by a
        // newer server) was left current, and the next write's catch-up could not key it.
        `UPDATE mz_local.maintained_views SET planned = true, plan_version = $5, refresh_kind = 'view', key_columns = $2, upstream_ids = $3, check_relations = $4,
                key_column = NULL, delta_sql = NULL, source_oids = NULL, source_indexes = NULL, not_keyed_reason = NULL,
                refreshed_version = -1, refreshed_xid = NULL, refresh_function_sql = NULL, distinct_columns = NULL, keys_view = false, snapshots = false, rows_per_key = $6 WHERE id = $1`,
        [view.id, keyColumns, upstreamIds, checkRelations, PLAN_VERSION, result.plan.keyCandidates !== undefined],
      );
      await dropFolding(db, view.id);
      const antiJoins = await setUpAntiJoins(db, view.id, checkRelations, result.plan.antiJoinsByKey, log);
      const folds = await setUpFolding(db, view, keyColumns, checkRelations, antiJoins, log);
      if (!folds) await setUpKeysViews(db, view.id, result.plan.having, antiJoins, log);
      // Rarely stale from now on: reads stop planning its definition (maintained_view_sql).
      await db.query(`SELECT mz_local.set_view_form($1)`, [view.id]);
      await indexKeptRows(db, view.id, keyColumns, log);
      await indexUpstreamForKeys(db, view.id, keyColumns, log);
      await db.query(`SELECT mz_local.drop_unused_source_indexes()`);
      return;
    }
  }
  const dedup = await planDedupRefresh(view.tree, lookup);
  if ('plan' in dedup) {
    try {
      await setUpDedup(db, view.id, dedup.plan, log);
      return;
    } catch (error) {
      reason = `its dedup refresh could not be set up: ${(error as Error).message}`;
    }
  } else if (dedup.reason !== NOT_DISTINCT_ON) {
    reason = dedup.reason;
  }
  await db.query(
    `UPDATE mz_local.maintained_views SET planned = true, plan_version = $3, refresh_kind = NULL, not_keyed_reason = $2,
            key_column = NULL, delta_sql = NULL, source_oids = NULL, source_indexes = NULL, key_columns = NULL, upstream_ids = NULL,
            check_relations = NULL, refresh_function_sql = NULL, distinct_columns = NULL, keys_view = false, snapshots = false, rows_per_key = false WHERE id = $1`,
    [view.id, reason, PLAN_VERSION],
  );
  await dropFolding(db, view.id);
  await db.query(`SELECT mz_local.set_view_form($1)`, [view.id]);
  await db.query(`SELECT mz_local.drop_unused_source_indexes()`);
}

/**
 * A view using the time in a shape that cannot be kept: every read computes it (the server log
 * says so once, with the reason).
 */
async function computedOnRead(db: LocalDatabase, id: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE mz_local.maintained_views SET planned = true, plan_version = $3, refresh_kind = NULL, not_keyed_reason = $2, temporal = false, next_change = '-infinity',
            key_column = NULL, delta_sql = NULL, source_oids = NULL, source_indexes = NULL, key_columns = NULL, upstream_ids = NULL,
            check_relations = NULL, refresh_function_sql = NULL, distinct_columns = NULL, keys_view = false, snapshots = false, rows_per_key = false WHERE id = $1`,
    [id, reason, PLAN_VERSION],
  );
  await dropFolding(db, id);
  await db.query(`SELECT mz_local.drop_temporal($1)`, [id]);
  await db.query(`SELECT mz_local.set_view_form($1)`, [id]);
  await db.query(`SELECT mz_local.drop_unused_source_indexes()`);
}

/**
 * A view keyed by its groups whose WHERE has temporal filters (temporal-plan.ts): its boundaries
 * view (mz_local.mv_w_<id>) and each group's earliest boundary (mz_local.mv_e_<id>, by time).
 * Returns why it cannot be kept, or null.
 */
async function setUpTemporal(db: LocalDatabase, view: { id: string; tree: string }, keyColumns: readonly string[]): Promise<string | null> {
  const functions = await db.query<{ oid: string; name: string }>(
    `SELECT p.oid::text AS oid, p.proname::text AS name FROM pg_proc p
      WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname IN ('mz_now', 'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday')`,
  );
  const mzNow = functions.rows.find((row) => row.name === 'mz_now' && row.oid);
  const operators = new Map<string, string>();
  for (const match of view.tree.matchAll(/:opno (\d+)/g)) operators.set(match[1]!, '');
  if (operators.size > 0) {
    const { rows } = await db.query<{ oid: string; name: string }>(`SELECT oid::text AS oid, oprname::text AS name FROM pg_operator WHERE oid = ANY ($1::oid[])`, [[...operators.keys()]]);
    for (const row of rows) operators.set(row.oid, row.name);
  }
  if (!mzNow) return 'mz_now() is not defined';
  const time: TimeFunctions = { mzNow: mzNow.oid, all: new Set(functions.rows.map((row) => row.oid)), operatorName: (oid) => operators.get(oid) || undefined };
  const deparsed = (await db.query<{ sql: string }>(`SELECT mz_local.qualified_viewdef(format('mz_local.%I', 'mv_q_' || $1::text)::regclass) AS sql`, [view.id])).rows[0]!.sql;
  const temporal = planTemporalFilter(view.tree, deparsed, keyColumns, time);
  if ('reason' in temporal) return temporal.reason;
  const boundaries = `mz_local.${quoteIdentifier(`mv_w_${view.id}`)}`;
  const earliest = `mz_local.${quoteIdentifier(`mv_e_${view.id}`)}`;
  const keys = keyColumns.map(quoteIdentifier).join(', ');
  await db.query(`CREATE VIEW ${boundaries} AS ${temporal.plan.boundariesSelect}`);
  await db.query(`CREATE TABLE ${earliest} AS SELECT ${keys}, at FROM ${boundaries} WITH NO DATA`);
  await db.query(`CREATE INDEX ON ${earliest} (at)`);
  await db.query(`CREATE INDEX ON ${earliest} (${keys})`);
  return null;
}

/** Deleting and recomputing a few groups finds them by index (a key type without a b-tree
 *  operator class, json say, scans instead). */
async function indexKeptRows(db: LocalDatabase, id: string, keyColumns: readonly string[], log?: (line: string) => void): Promise<void> {
  await db
    .query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`mv_b_${id}_key`)} ON mz_local.${quoteIdentifier(`mv_b_${id}`)} (${keyColumns.map(quoteIdentifier).join(', ')})`)
    .catch((error: Error) => log?.(`materialized view ${id}: no index on its key (${error.message}); a keyed refresh scans its kept rows`));
}

/**
 * A dedup view (planDedupRefresh) is refreshed by the keys of the rows appended to its sources
 * since its last refresh: its delta query is its definition, deparsed with every name qualified,
 * each source in it replaced by the rows of its append log newer than `:since`. Checked before it
 * is used: the delta reads append logs only. Its first refresh is whole (the append logs hold rows
 * from now on).
 */
async function setUpDedup(db: LocalDatabase, id: string, plan: DedupPlan, log?: (line: string) => void): Promise<void> {
  const deparsed = (await db.query<{ sql: string }>(`SELECT mz_local.qualified_viewdef(format('mz_local.%I', 'mv_q_' || $1::text)::regclass) AS sql`, [id])).rows[0]!.sql;
  let body = deparsed.trim().replace(/;$/, '');
  if (body.includes(':since')) throw new Error('its definition contains the text :since');
  for (const source of plan.sources) {
    const { rows } = await db.query<{ qualified: string; bare: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS qualified, format('%I', c.relname) AS bare FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`,
      [source],
    );
    const { qualified, bare } = rows[0]!;
    await db.query(`SELECT mz_local.ensure_append_log($1)`, [source]);
    body = replaceRelation(body, qualified, `(SELECT * FROM mz_local.${quoteIdentifier(`append_log_${source}`)} WHERE xmin::text::bigint > :since)`, bare);
  }
  const delta = `SELECT DISTINCT ${quoteIdentifier(plan.keyColumn)} FROM (${withoutDistinctOn(withoutFinalOrderBy(body))}) AS appended`;
  await checkReadsAppendLogsOnly(db, id, delta);
  await db.query(
    `UPDATE mz_local.maintained_views SET planned = true, plan_version = $5, refresh_kind = 'source', key_column = $2, delta_sql = $3, source_oids = $4,
            source_indexes = NULL, key_columns = NULL, upstream_ids = NULL, check_relations = NULL, not_keyed_reason = NULL,
            refreshed_version = -1, refreshed_xid = NULL, refresh_function_sql = NULL, distinct_columns = NULL, keys_view = false, snapshots = false, rows_per_key = false WHERE id = $1`,
    [id, plan.keyColumn, delta, plan.sources, PLAN_VERSION],
  );
  await dropFolding(db, id);
  await db.query(`SELECT mz_local.set_view_form($1)`, [id]);
  await indexKeptRows(db, id, [plan.keyColumn], log);
  const indexes = await indexSourcesForKey(db, id, plan, log);
  await db.query(`UPDATE mz_local.maintained_views SET source_indexes = $2 WHERE id = $1`, [id, indexes]);
  await db.query(`SELECT mz_local.drop_unused_source_indexes()`);
}

/**
 * A deparsed definition without its last top-level clause when that is ORDER BY: the delta query
 * wants a dedup's keys, and DISTINCT ON without its ORDER BY has the same keys. With it, the sort
 * kept every ORDER BY expression (the seed's parse of receivedAt, ~15 µs an event) evaluated for
 * each appended row only to find keys.
 */
export function withoutFinalOrderBy(sql: string): string {
  const { clauses } = topLevelClauses(sql);
  const last = clauses.at(-1);
  return last?.word === 'ORDER BY' ? sql.slice(0, last.index).trimEnd() : sql;
}

/**
 * A deparsed definition whose one top-level SELECT starts `SELECT DISTINCT ON (…)`, without that
 * DISTINCT ON (anything else: unchanged). For a dedup's appended keys: its keys are the keys of the
 * rows its WHERE keeps, whichever row of each wins. With DISTINCT ON in the subquery PostgreSQL
 * computed every output column of every appended row (the seed's two timestamp parses: ~35 ms per
 * 1,000 events, as much as recomputing their rows) and sorted on all of them; without it, only the
 * key and the WHERE are computed.
 */
export function withoutDistinctOn(sql: string): string {
  const selects = topLevelClauses(sql).clauses.filter((clause) => clause.word === 'SELECT');
  if (selects.length !== 1) return sql;
  const afterSelect = selects[0]!.index + 'SELECT'.length;
  const head = /^\s+DISTINCT\s+ON\s*\(/.exec(sql.slice(afterSelect));
  if (!head) return sql;
  const open = afterSelect + head[0].length - 1;
  // The parenthesis closing the DISTINCT ON list (quotes skipped).
  let close = -1;
  let depth = 0;
  forEachOutsideQuotes(sql.slice(open), (index, char) => {
    if (char === '(') depth++;
    else if (char === ')' && --depth === 0) {
      close = open + index;
      return true;
    }
  });
  return close === -1 ? sql : `${sql.slice(0, afterSelect)}${sql.slice(close + 1)}`;
}

/** Deparse keywords that may follow a FROM item; anything else there (lower case or quoted) is its alias. */
const ALIAS = /^\s+("(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)/;

/**
 * `sql` (a deparsed definition) with every reference to the relation `qualified` replaced by
 * `replacement`, aliased by the relation's own name where the deparse gave it no alias (its columns
 * are then written `name.column`). Throws when the relation is not found.
 */
export function replaceRelation(sql: string, qualified: string, replacement: string, bare: string): string {
  const escaped = escapeRegExp(qualified);
  const reference = new RegExp(`(?<=^|[\\s(])${escaped}(?=[\\s),;]|$)`, 'g');
  let found = false;
  const replaced = sql.replace(reference, (_match, offset: number) => {
    found = true;
    const rest = sql.slice(offset + qualified.length);
    return ALIAS.test(rest) ? replacement : `${replacement} ${bare}`;
  });
  if (!found) throw new Error(`${qualified} was not found in its deparsed definition`);
  return replaced;
}

/** Throws unless the delta query reads append logs only (no source left unreplaced). */
async function checkReadsAppendLogsOnly(db: LocalDatabase, id: string, delta: string): Promise<void> {
  const probe = `mz_local.${quoteIdentifier(`mv_t_${id}`)}`;
  await db.query(`DROP VIEW IF EXISTS ${probe}`);
  await db.query(`CREATE VIEW ${probe} AS ${delta.replaceAll(':since', '0')}`);
  try {
    const { rows } = await db.query<{ name: string }>(
      `SELECT DISTINCT d.refobjid::regclass::text AS name FROM pg_rewrite w
         JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
         JOIN pg_class c ON c.oid = d.refobjid
        WHERE w.ev_class = $1::regclass AND d.refobjid <> w.ev_class
          AND NOT (c.relnamespace = 'mz_local'::regnamespace AND c.relname LIKE 'append\\_log\\_%')`,
      [probe],
    );
    if (rows.length > 0) throw new Error(`its delta query still reads ${rows.map((row) => row.name).join(', ')}`);
  } finally {
    await db.query(`DROP VIEW IF EXISTS ${probe}`);
  }
}

/**
 * A GROUP BY view whose aggregates fold (aggregate-plan.ts) gets what folding needs
 * (aggregate-refresh-sql.ts): its input view, the value tables of its count(DISTINCT) columns and
 * its refresh function, which set_view_form installs. Any other keyed view recomputes its changed
 * groups. Returns whether it folds.
 *
 * A relation under a NOT EXISTS (`checkRelations`) is not read as such by the fold's input view:
 * while new rows are found every kept view reads as its changes, and NOT EXISTS over no rows kept
 * them all (a new event of a user deleted earlier, `daily_active_users`' `stg_segment_deletes`,
 * was counted). With snapshots (anti-join-plan.ts) it reads the relation's snapshot, as of its
 * last refresh, and takes out afterwards the rows the relation's new rows remove (retractions);
 * else it reads the relation whole through a function of its own (wholeReadsUnderNotExists), and
 * a change of the relation refreshes it whole.
 */
async function setUpFolding(
  db: LocalDatabase,
  view: { id: string; tree: string },
  keyColumns: readonly string[],
  checkRelations: readonly number[],
  antiJoins: readonly AntiJoinRelation[] | null,
  log?: (line: string) => void,
): Promise<boolean> {
  const definition = await db.query<{ sql: string }>(`SELECT pg_get_viewdef(format('mz_local.%I', 'mv_q_' || $1::text)::regclass) AS sql`, [view.id]);
  const folding = planIncrementalAggregates(view.tree, definition.rows[0]!.sql, keyColumns);
  if ('reason' in folding) return false;
  // Keys are collected into an array and compared with = ANY, and min and max fold with least and
  // greatest: types b-tree orders.
  const types = await db.query<{ name: string; type: string; ordered: boolean }>(
    `SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, mz_local.btree_ordered(a.atttypid) AS ordered
       FROM pg_attribute a
      WHERE a.attrelid = format('mz_local.%I', 'mv_b_' || $1::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [view.id],
  );
  const typeOf = new Map(types.rows.map((row) => [row.name, row]));
  const key = typeOf.get(folding.plan.keyColumn);
  const unordered = folding.plan.columns.filter((column) => column.kind === 'key' || column.kind === 'min' || column.kind === 'max').find((column) => !typeOf.get(column.name)?.ordered);
  if (!key || unordered) return false;
  try {
    const fromClause = antiJoins ? snapshotFromClause(view.id, folding.plan.fromClause, antiJoins) : await wholeReadsUnderNotExists(db, view.id, folding.plan.fromClause, checkRelations);
    const retraction = antiJoins && antiJoins.length > 0 ? { id: view.id, fromClause: retractedFromClause(view.id, await readingKeptRows(db, view.id, folding.plan.fromClause), antiJoins) } : undefined;
    const sql = aggregateRefreshSql(view.id, { ...folding.plan, fromClause }, key.type, retraction);
    for (const statement of sql.setup) await db.query(statement);
    // The input view must read no relation under a NOT EXISTS as such (in delta mode that is its changes).
    const direct = await db.query<{ name: string }>(
      `SELECT DISTINCT d.refobjid::regclass::text AS name FROM pg_rewrite w JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
        WHERE w.ev_class = format('mz_local.%I', 'mv_p_' || $1::text)::regclass AND d.refobjid = ANY ($2::oid[])`,
      [view.id, checkRelations],
    );
    if (direct.rows.length > 0) throw new Error(`its NOT EXISTS relation ${direct.rows.map((row) => row.name).join(', ')} is also read elsewhere in it`);
    await db.query(`UPDATE mz_local.maintained_views SET refresh_function_sql = $2, distinct_columns = $3 WHERE id = $1`, [view.id, sql.refreshFunction, sql.distinctColumns]);
    return true;
  } catch (error) {
    log?.(`materialized view ${view.id}: its groups are recomputed on change, not folded (${(error as Error).message})`);
    await db.query(`SELECT mz_local.drop_folding($1)`, [view.id]);
    return false;
  }
}

/** The relation right after a deparsed `FROM`: its name (one identifier or two, maybe quoted) and, last, the name alone. */
const DEPARSED_RELATION = /^FROM\s+((?:(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)\.)?("(?:[^"]|"")*"|[a-z_][a-z0-9_$]*))(?=[\s)]|$)/;

/**
 * A folding view's `FROM … WHERE …` reading the kept rows (mz_local.mv_b_<id>) of the kept view
 * it reads, when it reads one directly (else unchanged). For its retractions: they run after
 * that view's refresh, whose kept rows are then what it reads — without the three arms, one-time
 * filters and subquery scans of the view users see around each row (a third of the time of taking
 * a deleted user's 13,000 events out of daily_active_users at 1,000,000 events).
 */
async function readingKeptRows(db: LocalDatabase, id: string, fromClause: string): Promise<string> {
  const found = DEPARSED_RELATION.exec(fromClause);
  if (!found) return fromClause;
  const { rows } = await db.query<{ kept: string }>(
    `SELECT u.id::text AS kept FROM mz_local.maintained_views m JOIN mz_local.maintained_views u ON u.view_oid = to_regclass($2) AND u.id = ANY (m.upstream_ids)
      WHERE m.id = $1 AND u.next_change IS DISTINCT FROM '-infinity'`,
    [id, found[1]],
  );
  if (!rows[0]) return fromClause;
  const rest = fromClause.slice(found[0].length);
  // Without an alias, the deparse writes its columns `<name>.<column>`: the name becomes the alias.
  return `FROM mz_local.${quoteIdentifier(`mv_b_${rows[0].kept}`)}${ALIAS.test(rest) ? '' : ` ${found[2]}`}${rest}`;
}

/**
 * The snapshots of the relations under a view's NOT EXISTS (anti-join-plan.ts), when their
 * changes can be followed by key: null when they cannot (then a change refreshes it whole), else
 * the relations (none for a view without NOT EXISTS).
 */
async function setUpAntiJoins(db: LocalDatabase, id: string, checkRelations: readonly number[], notByKey: string | null, log?: (line: string) => void): Promise<AntiJoinRelation[] | null> {
  if (checkRelations.length === 0) return [];
  if (notByKey !== null) {
    log?.(`materialized view ${id}: a change of what its NOT EXISTS reads refreshes it whole (${notByKey})`);
    return null;
  }
  try {
    const relations = await setUpSnapshots(db, id, checkRelations);
    await db.query(`UPDATE mz_local.maintained_views SET snapshots = true WHERE id = $1`, [id]);
    return relations;
  } catch (error) {
    log?.(`materialized view ${id}: a change of what its NOT EXISTS reads refreshes it whole (${(error as Error).message})`);
    await db.query(`SELECT mz_local.drop_anti_joins($1)`, [id]);
    return null;
  }
}

/**
 * A view kept by its groups that does not fold finds its changed keys through mz_local.mv_k_<id>
 * (without HAVING and NOT EXISTS) and, with snapshots, mz_local.mv_j_<id> (anti-join-plan.ts).
 * Without them (none needed: no HAVING, no NOT EXISTS) its definition finds them. A HAVING whose
 * keys view cannot be made leaves the view refreshed whole.
 */
async function setUpKeysViews(db: LocalDatabase, id: string, having: boolean, antiJoins: readonly AntiJoinRelation[] | null, log?: (line: string) => void): Promise<void> {
  if (!having && (antiJoins === null || antiJoins.length === 0)) return;
  const definition = (await db.query<{ sql: string }>(`SELECT pg_get_viewdef(format('mz_local.%I', 'mv_q_' || $1::text)::regclass) AS sql`, [id])).rows[0]!.sql;
  try {
    for (const statement of keysViewsSql(id, definition, antiJoins ?? [], antiJoins !== null)) await db.query(statement);
    await db.query(`UPDATE mz_local.maintained_views SET keys_view = true WHERE id = $1`, [id]);
  } catch (error) {
    const reason = `its changed keys could not be found without its ${having ? 'HAVING' : 'NOT EXISTS'}: ${(error as Error).message}`;
    log?.(`materialized view ${id}: ${reason}`);
    await db.query(`SELECT mz_local.drop_anti_joins($1)`, [id]);
    if (having) {
      await db.query(`UPDATE mz_local.maintained_views SET refresh_kind = NULL, not_keyed_reason = $2, key_columns = NULL, upstream_ids = NULL, check_relations = NULL WHERE id = $1`, [id, reason]);
    } else {
      await db.query(`UPDATE mz_local.maintained_views SET snapshots = false WHERE id = $1`, [id]);
    }
  }
}

/** The first of a filtering view's key candidates whose type b-tree orders (= ANY and DISTINCT need it). */
async function comparableKey(db: LocalDatabase, id: string, candidates: readonly string[]): Promise<string[] | null> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT a.attname::text AS name FROM pg_attribute a
      WHERE a.attrelid = format('mz_local.%I', 'mv_b_' || $1::text)::regclass AND a.attname = ANY ($2::text[]) AND mz_local.btree_ordered(a.atttypid)`,
    [id, candidates],
  );
  const found = candidates.find((name) => rows.some((row) => row.name === name));
  return found === undefined ? null : [found];
}

/**
 * `fromClause` with each relation read under its NOT EXISTS replaced by mz_local.mv_f_<id>_<n>(),
 * a function returning that relation whole: it runs with delta mode off (its SET clause), whatever
 * the fold around it reads. A standard SQL body (BEGIN ATOMIC) names the relation by OID, as a view
 * does, so a blue/green swap renaming its schema does not break it. Throws when a relation is not
 * found where the deparse writes it (after FROM or JOIN).
 */
async function wholeReadsUnderNotExists(db: LocalDatabase, id: string, fromClause: string, relations: readonly number[]): Promise<string> {
  let rewritten = fromClause;
  for (const [index, oid] of relations.entries()) {
    const { name, columns } = await relationNameAndColumns(db, oid);
    const whole = `mz_local.${quoteIdentifier(`mv_f_${id}_${index + 1}`)}`;
    const reference = new RegExp(`(\\b(?:FROM|JOIN)\\s+)${escapeRegExp(name)}(?=[\\s)]|$)`, 'g');
    const replaced = rewritten.replace(reference, `$1${whole}()`);
    if (replaced === rewritten) throw new Error(`${name}, read under its NOT EXISTS, was not found in its deparsed definition`);
    await db.query(`CREATE FUNCTION ${whole}() RETURNS TABLE (${columns}) LANGUAGE sql STABLE SET mz_local.delta_since = '' BEGIN ATOMIC SELECT * FROM ${name}; END`);
    rewritten = replaced;
  }
  return rewritten;
}

/** Drops what an earlier plan of the view set up beside its kept rows (folding, snapshots, keys views). */
async function dropFolding(db: LocalDatabase, id: string): Promise<void> {
  await db.query(`SELECT mz_local.drop_folding($1)`, [id]);
  await db.query(`SELECT mz_local.drop_anti_joins($1)`, [id]);
}

/**
 * Recomputing one group reads the kept tables under the view: asks the planner how (a generic
 * plan of the definition with its keys as parameters) and indexes each kept table it would scan
 * whole — on the expression compared with a key, else on a column compared with a constant (the
 * other side of a NOT EXISTS, say). An expression PostgreSQL cannot index (not immutable, e.g.
 * date_trunc of a timestamptz) is left to the scan. An index whose columns lead another's on the
 * same table (one view's `(event_type)`, another's `(event_type, user_id)`) is dropped: the longer
 * one serves both lookups, and every index costs each refresh's writes.
 */
async function indexUpstreamForKeys(db: LocalDatabase, id: string, keyColumns: readonly string[], log?: (line: string) => void): Promise<void> {
  const condition = keyColumns.map((column, index) => `${quoteIdentifier(column)} = $${index + 1}`).join(' AND ');
  // exec: the simple protocol, where $1 may stay unbound (GENERIC_PLAN).
  const [explained] = await db.exec(`EXPLAIN (VERBOSE, GENERIC_PLAN, FORMAT JSON) SELECT * FROM mz_local.${quoteIdentifier(`mv_q_${id}`)} WHERE ${condition}`);
  const plan = explained?.rows[0]?.['QUERY PLAN'];
  for (const scan of keptTableScans(typeof plan === 'string' ? JSON.parse(plan) : plan)) {
    for (const columns of indexableExpressions(scan.filter, scan.alias)) {
      const list = columns.map((column) => `(${column})`).join(', ');
      const name = `mv_b_${scan.table.slice('mv_b_'.length)}_x_${createHash('md5').update(columns.join(', ')).digest('hex').slice(0, 8)}`;
      try {
        await db.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(name)} ON mz_local.${quoteIdentifier(scan.table)} (${list})`);
      } catch (error) {
        log?.(`materialized view ${id}: no index on ${list} (${(error as Error).message}); recomputing a group scans ${scan.table}`);
      }
    }
    await db.query(`SELECT mz_local.drop_covered_kept_indexes($1::regclass)`, [`mz_local.${quoteIdentifier(scan.table)}`]);
  }
}

interface KeptTableScan {
  readonly schema: string;
  readonly table: string;
  readonly alias: string;
  /** Its filter and the conditions an index already answers (`Index Cond`, `Recheck Cond`). */
  readonly filter: string;
}

/** Scans of kept tables (mz_local.mv_b_<id>) that read more than they keep, in an EXPLAIN (VERBOSE, FORMAT JSON) plan. */
export function keptTableScans(plan: unknown): KeptTableScan[] {
  return tableScans(plan, (schema, table) => schema === 'mz_local' && /^mv_b_\d+$/.test(table));
}

/** Scans of the tables `accept` names that read more than they keep, in an EXPLAIN (VERBOSE, FORMAT JSON) plan. */
export function tableScans(plan: unknown, accept: (schema: string, table: string) => boolean): KeptTableScan[] {
  const scans: KeptTableScan[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    const table = record['Relation Name'];
    const schema = record['Schema'];
    const filter = record['Filter'];
    // A whole scan with a filter, or an index scan whose filter still compares with a key (an index
    // on something else, made for another view, found these rows).
    const scansTooMuch = record['Node Type'] === 'Seq Scan' || (typeof filter === 'string' && / = \$\d+\)/.test(filter));
    if (scansTooMuch && typeof schema === 'string' && typeof table === 'string' && accept(schema, table) && typeof filter === 'string') {
      // An index made for another view may already answer part of it (the event type, say): those
      // conditions count too, so that the new index leads with them.
      const children = Array.isArray(record['Plans']) ? (record['Plans'] as Array<Record<string, unknown>>) : [];
      const answered = [record['Index Cond'], record['Recheck Cond'], ...children.map((child) => child['Index Cond'])].filter((text): text is string => typeof text === 'string');
      scans.push({ schema, table, alias: typeof record['Alias'] === 'string' ? record['Alias'] : table, filter: [filter, ...answered].join(' AND ') });
    }
    for (const value of Object.values(record)) if (typeof value === 'object') visit(value);
  };
  visit(plan);
  return scans;
}

/**
 * What to index so that a scan with this filter becomes an index lookup, as indexes' column lists:
 * each expression compared with a parameter (`(<expression> = $1)`), after the columns the filter
 * compares with constants — `(event_type, user_id)` for a user's identify events: on `user_id`
 * alone, PostgreSQL combined it with an index on `event_type`, whose every identify (~97,000 at
 * 1,000,000 events) it read to find one user's dozen; else the first column compared with a
 * constant. The scan's alias is dropped from column references (`mv_b_1.body` → `body`).
 */
export function indexableExpressions(filter: string, alias: string): string[][] {
  const unqualified = (expression: string) => expression.split(`${alias}.`).join('');
  const found: string[] = [];
  for (const match of filter.matchAll(/ = \$\d+\)/g)) {
    // Back from " = $n" to the parenthesis opening this comparison.
    let depth = 0;
    let start = -1;
    for (let index = match.index - 1; index >= 0; index--) {
      const char = filter[index];
      if (char === ')') depth++;
      else if (char === '(') {
        if (depth === 0) {
          start = index + 1;
          break;
        }
        depth--;
      }
    }
    if (start >= 0) found.push(unqualified(filter.slice(start, match.index)));
  }
  const constants = [...new Set(Array.from(filter.matchAll(new RegExp(`\\(${escapeRegExp(alias)}\\.([a-z_][a-z0-9_]*) = '(?:[^']|'')*'::[a-z ]+\\)`, 'g')), (match) => match[1]!))];
  if (found.length > 0) return [...new Set(found)].map((expression) => [...constants.filter((column) => column !== expression), expression]);
  return constants.length > 0 ? [[constants[0]!]] : [];
}

/**
 * Indexes a dedup view's sources where recomputing one key would scan them whole (a generic plan
 * of its definition for one key, as for kept tables): on the expression compared with the key —
 * only when evaluating it cannot fail (canNotFail). An index expression is evaluated for every row
 * appended to the source, whatever the view's WHERE says: an index on `(body->>'seq')::bigint` made
 * the source refuse every event whose seq is not a number. Returns the indexes made (recorded, so
 * that they are dropped with the view).
 */
async function indexSourcesForKey(db: LocalDatabase, id: string, plan: DedupPlan, log?: (line: string) => void): Promise<number[]> {
  const [explained] = await db.exec(`EXPLAIN (VERBOSE, GENERIC_PLAN, FORMAT JSON) SELECT * FROM mz_local.${quoteIdentifier(`mv_q_${id}`)} WHERE ${quoteIdentifier(plan.keyColumn)} = $1`);
  const value = explained?.rows[0]?.['QUERY PLAN'];
  const sources = await db.query<{ oid: number; schema: string; name: string }>(
    `SELECT c.oid::int AS oid, n.nspname::text AS schema, c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[])`,
    [plan.sources],
  );
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  // The plan already reads an index made for a view (this one planned again — an upgrade — or
  // another dedup of the same key): recorded too, or dropping the unrecorded ones would take it
  // away and leave every keyed refresh scanning the source (10 s a batch at 1,000,000 events).
  const used = [...new Set(indexesUsed(parsed).filter((name) => name.startsWith('mz_local_key_')))];
  const found = used.length
    ? await db.query<{ oid: number }>(
        `SELECT i.indexrelid::int AS oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ANY ($1::oid[]) AND c.relname = ANY ($2::text[])`,
        [plan.sources, used],
      )
    : { rows: [] };
  const made: number[] = found.rows.map((row) => row.oid);
  for (const scan of tableScans(parsed, (schema, table) => sources.rows.some((row) => row.schema === schema && row.name === table))) {
    const source = sources.rows.find((row) => row.schema === scan.schema && row.name === scan.table)!;
    for (const columns of indexableExpressions(scan.filter, scan.alias)) {
      const list = columns.map((column) => `(${column})`).join(', ');
      try {
        for (const column of columns) if (!(await canNotFail(db, id, source.oid, column))) throw new Error(`${column} may fail for some rows`);
        const name = `mz_local_key_${source.oid}_${createHash('md5').update(columns.join(', ')).digest('hex').slice(0, 8)}`;
        await db.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(name)} ON ${quoteIdentifier(source.schema)}.${quoteIdentifier(source.name)} (${list})`);
        const { rows } = await db.query<{ oid: number }>(`SELECT format('%I.%I', $1::text, $2::text)::regclass::oid::int AS oid`, [source.schema, name]);
        made.push(rows[0]!.oid);
      } catch (error) {
        log?.(`materialized view ${id}: no index on ${list} of ${source.schema}.${source.name} (${(error as Error).message}); recomputing a key scans it`);
      }
    }
  }
  return made;
}

/** The names of the indexes an EXPLAIN (FORMAT JSON) plan reads. */
export function indexesUsed(plan: unknown): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const name = (node as Record<string, unknown>)['Index Name'];
    if (typeof name === 'string') names.push(name);
    for (const child of Object.values(node)) if (typeof child === 'object') visit(child);
  };
  visit(plan);
  return names;
}

/** Functions (and the operators calling them) that return a value for any input, never an error. */
const FAIL_SAFE_FUNCTIONS = [
  'jsonb_object_field', 'jsonb_object_field_text', 'jsonb_array_element', 'jsonb_array_element_text', 'jsonb_extract_path', 'jsonb_extract_path_text',
  'json_object_field', 'json_object_field_text', 'json_array_element', 'json_array_element_text', 'json_extract_path', 'json_extract_path_text',
  'fetchval', 'textcat', 'lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'md5',
];
const TEXT_TYPE = '25';

/**
 * Whether `expression` over the source's columns cannot fail for any row: column references,
 * constants, COALESCE, binary-compatible casts, casts to text, and the functions above — read from
 * the query tree of a throwaway view selecting it.
 */
async function canNotFail(db: LocalDatabase, id: string, source: number, expression: string): Promise<boolean> {
  const probe = `mz_local.${quoteIdentifier(`mv_t_${id}`)}`;
  await db.query(`DROP VIEW IF EXISTS ${probe}`);
  const { rows } = await db.query<{ name: string }>(`SELECT $1::oid::regclass::text AS name`, [source]);
  await db.query(`CREATE VIEW ${probe} AS SELECT (${expression}) AS x FROM ${rows[0]!.name}`);
  try {
    const tree = (await db.query<{ tree: string }>(`SELECT ev_action::text AS tree FROM pg_rewrite WHERE ev_class = $1::regclass AND rulename = '_RETURN'`, [probe])).rows[0]!.tree;
    const safe = new Set(
      (await db.query<{ oid: string }>(`SELECT oid::text AS oid FROM pg_proc WHERE proname = ANY ($1::text[]) AND (pronamespace = 'pg_catalog'::regnamespace OR proname = 'fetchval')`, [FAIL_SAFE_FUNCTIONS])).rows.map((row) => row.oid),
    );
    const query = listOf(parseQueryTree(tree))[0];
    const target = isNode(query) ? listOf(query.fields.targetList)[0] : null;
    return isNode(target) && failSafe(target.fields.expr ?? null, safe);
  } finally {
    await db.query(`DROP VIEW IF EXISTS ${probe}`);
  }
}

function failSafe(node: TreeValue, safeFunctions: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.every((item) => failSafe(item, safeFunctions));
  if (!isNode(node)) return node === null;
  const fields = node.fields;
  const children = (...names: string[]) => names.every((name) => failSafe(fields[name] ?? null, safeFunctions));
  switch (node.type) {
    case 'VAR':
    case 'CONST':
      return true;
    case 'RELABELTYPE':
    case 'COLLATEEXPR':
      return children('arg');
    case 'COERCEVIAIO':
      // Output functions do not fail: a cast to text is safe, a cast from text to a number is not.
      return fields.resulttype === TEXT_TYPE && children('arg');
    case 'COALESCEEXPR':
    case 'ARRAYEXPR':
      return children(node.type === 'ARRAYEXPR' ? 'elements' : 'args');
    case 'OPEXPR':
      return safeFunctions.has(String(fields.opfuncid)) && children('args');
    case 'FUNCEXPR':
      return safeFunctions.has(String(fields.funcid)) && children('args');
    default:
      return false;
  }
}

/** A relation a kept view reads, as the planner needs it. */
async function describeRelation(db: LocalDatabase, oid: number): Promise<RelationInfo> {
  const { rows } = await db.query<{ name: string; relkind: string; maintained: string | null; tree: string | null; source: boolean }>(
    `SELECT c.oid::regclass::text AS name, c.relkind::text AS relkind, m.id::text AS maintained,
            EXISTS (SELECT 1 FROM mz_local.relations r WHERE r.relid = c.oid AND r.kind = 'source') AS source,
            (SELECT w.ev_action::text FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename = '_RETURN') AS tree
       FROM pg_class c LEFT JOIN mz_local.maintained_views m ON m.view_oid = c.oid
      WHERE c.oid = $1`,
    [oid],
  );
  const row = rows[0];
  if (!row) return { kind: 'other', name: `relation ${oid}` };
  if (row.maintained) return { kind: 'kept', maintainedId: row.maintained };
  if (row.relkind === 'v' && row.tree) return { kind: 'view', queryTree: row.tree };
  if (row.source) return { kind: 'source', name: row.name };
  return { kind: 'other', name: row.name };
}
