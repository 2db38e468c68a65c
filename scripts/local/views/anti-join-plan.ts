/**
 * Follows a change of a relation read under a kept view's `NOT EXISTS` (a Segment delete request
 * arriving: `stg_segment_deletes` gains a user) by key instead of refreshing the view whole.
 *
 * Whether an input row is kept depends only on the set of rows of each NOT EXISTS relation r
 * (keyed-refresh-plan.ts proves each NOT EXISTS is a plain `SELECT … FROM r WHERE …`, r read
 * nowhere else). The server keeps a snapshot of r's rows as of the view's last refresh
 * (mz_local.mv_d_<id>_<n>, refilled by mz_local.mv_y_<id>() after each refresh that saw r change,
 * and by every whole refresh); r's rows now minus the snapshot are the rows r gained
 * (mv_g_<id>_<n>()), and both differences together the rows that changed (mv_h_<id>_<n>()). r may
 * be anything a NOT EXISTS of a kept view reads (a kept view, or a plain view over one, as the
 * seed's stg_segment_deletes): it is read whole, never as its change log, whose rows a view
 * reducing at its top does not give back exactly.
 *
 * - A view kept by its groups recomputes, besides the groups of its changed input rows, the groups
 *   of the input rows that match a changed row of r (mz_local.mv_j_<id>: its definition with that
 *   NOT EXISTS turned into EXISTS over the changed rows, the others dropped — more groups than
 *   needed is only work). Its changed input rows are found with every NOT EXISTS dropped
 *   (mz_local.mv_k_<id>): read as its change log, r would hide an input row lost in the same
 *   refresh as the row of r matching it.
 * - A view folding its groups (aggregate-refresh-sql.ts) folds its new input rows against the
 *   snapshot (r as of its last refresh), then subtracts the input rows that match a row r gained
 *   and no row of the snapshot (mz_local.mv_x_<id>) — rows that were counted and now must not be.
 *   That needs r to have only gained rows: a row of the snapshot gone from r puts input rows back,
 *   which a retraction does not do; the view is then refreshed whole.
 */
import type { LocalDatabase } from '../engine/engine.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import { andWhere, existsCondition, locateNotExists, rewriteNotExists, withoutHaving } from './anti-join-text.ts';

/** A relation read under one of the view's NOT EXISTS. */
export interface AntiJoinRelation {
  /** 1-based: its objects are mv_d_<id>_<n>, mv_g_<id>_<n>, mv_h_<id>_<n>. */
  readonly position: number;
  /** As the deparsed definition names it. */
  readonly name: string;
}

const local = (name: string) => `mz_local.${quoteIdentifier(name)}`;
export const snapshotTable = (id: string, position: number) => local(`mv_d_${id}_${position}`);
const gainedRows = (id: string, position: number) => `${local(`mv_g_${id}_${position}`)}()`;
const changedRows = (id: string, position: number) => `${local(`mv_h_${id}_${position}`)}()`;

/** A relation's name as the deparse writes it, and its columns with their types (a table's column list). */
export async function relationNameAndColumns(db: LocalDatabase, oid: number): Promise<{ name: string; columns: string }> {
  const { rows } = await db.query<{ name: string; columns: string }>(
    `SELECT $1::oid::regclass::text AS name,
            string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum) AS columns
       FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped`,
    [oid],
  );
  return rows[0]!;
}

/**
 * Creates the snapshots of the relations under the view's NOT EXISTS and the functions comparing
 * them with the relations now (each names its relation by OID, as a view does: a blue/green swap
 * renaming its schema does not break it). Their first fill is the view's first refresh, which is
 * whole. Returns the relations, as the deparse names them.
 */
export async function setUpSnapshots(db: LocalDatabase, id: string, relations: readonly number[]): Promise<AntiJoinRelation[]> {
  const described: Array<AntiJoinRelation & { columns: string }> = [];
  for (const [index, oid] of relations.entries()) {
    described.push({ position: index + 1, ...(await relationNameAndColumns(db, oid)) });
  }
  const reading = `SET mz_local.delta_since = ''`;
  for (const { position, name, columns } of described) {
    const snapshot = snapshotTable(id, position);
    await db.query(`CREATE TABLE ${snapshot} AS SELECT * FROM ${name} WITH NO DATA`);
    // Few rows (what changed since the last refresh): the planner is told so.
    await db.query(`CREATE FUNCTION ${gainedRows(id, position)} RETURNS TABLE (${columns}) LANGUAGE sql STABLE ROWS 10 ${reading}
      BEGIN ATOMIC SELECT * FROM ${name} EXCEPT SELECT * FROM ${snapshot}; END`);
    await db.query(`CREATE FUNCTION ${changedRows(id, position)} RETURNS TABLE (${columns}) LANGUAGE sql STABLE ROWS 10 ${reading}
      BEGIN ATOMIC SELECT * FROM (SELECT * FROM ${name} EXCEPT SELECT * FROM ${snapshot}) AS gained UNION (SELECT * FROM ${snapshot} EXCEPT SELECT * FROM ${name}); END`);
  }
  const lost = described.map(({ position, name }) => `EXISTS (SELECT * FROM ${snapshotTable(id, position)} EXCEPT SELECT * FROM ${name})`).join(' OR ');
  await db.query(`CREATE FUNCTION ${local(`mv_l_${id}`)}() RETURNS boolean LANGUAGE sql STABLE ${reading} BEGIN ATOMIC SELECT ${lost}; END`);
  // DELETE, not TRUNCATE: a new file would invalidate the refresh functions' kept plans.
  const refill = described.map(({ position, name }) => `DELETE FROM ${snapshotTable(id, position)}; INSERT INTO ${snapshotTable(id, position)} SELECT * FROM ${name};`).join(' ');
  await db.query(`CREATE FUNCTION ${local(`mv_y_${id}`)}() RETURNS void LANGUAGE sql VOLATILE ${reading} BEGIN ATOMIC ${refill} END`);
  return described.map(({ position, name }) => ({ position, name }));
}

/**
 * The views finding a view's changed keys (kept by its groups, not folding): mv_k_<id> over the
 * change logs of what it reads (its definition without HAVING — a group's rows over the changes
 * are not the group — and without its NOT EXISTS), and, with snapshots, mv_j_<id> over what it
 * reads now (the groups of input rows matching a changed row of a NOT EXISTS relation). Returns
 * the statements creating them.
 */
export function keysViewsSql(id: string, definition: string, relations: readonly AntiJoinRelation[], snapshots: boolean): string[] {
  const base = withoutHaving(definition);
  const terms = relations.map(({ name }) => ({ relation: name, readAs: name }));
  const statements = [`CREATE VIEW ${local(`mv_k_${id}`)} AS ${rewriteNotExists(base, terms, () => 'true')}`];
  if (snapshots && relations.length > 0) {
    const arms = relations.map(({ position, name }) =>
      rewriteNotExists(
        base,
        terms.map((term) => (term.relation === name ? { relation: name, readAs: changedRows(id, position) } : term)),
        (_term, subquery, index) => {
          if (index !== position - 1) return 'true';
          return existsCondition(subquery, changedRows(id, position));
        },
      ),
    );
    statements.push(`CREATE VIEW ${local(`mv_j_${id}`)} AS ${arms.map((arm) => `(${arm})`).join(' UNION ALL ')}`);
  }
  return statements;
}

/** A folding view's `FROM … WHERE …` reading each NOT EXISTS relation as its snapshot. */
export function snapshotFromClause(id: string, fromClause: string, relations: readonly AntiJoinRelation[]): string {
  return rewriteNotExists(fromClause, relations.map(({ position, name }) => ({ relation: name, readAs: snapshotTable(id, position) })), (term) => term);
}

/**
 * A folding view's `FROM … WHERE …` of the input rows to subtract: kept as of the snapshots, and
 * matching a row some NOT EXISTS relation gained since.
 */
export function retractedFromClause(id: string, fromClause: string, relations: readonly AntiJoinRelation[]): string {
  const matchesGained = relations.map(({ position, name }) => {
    const span = locateNotExists(fromClause, name);
    const subquery = `${fromClause.slice(span.subqueryStart, span.relationStart)}${gainedRows(id, position)}${fromClause.slice(span.relationEnd, span.subqueryEnd)}`;
    return existsCondition(subquery, gainedRows(id, position));
  });
  return andWhere(snapshotFromClause(id, fromClause, relations), `(${matchesGained.join(' OR ')})`);
}
