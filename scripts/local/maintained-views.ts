/**
 * Keeps the local server's materialized views current (maintained-views-sql.ts), two ways:
 * - right before a client's statement (or a subscription's recompute) after writes, every stale
 *   view a keyed refresh can bring up to date is refreshed — only what changed, milliseconds — so
 *   a read right after a webhook's 200 reads kept rows (catchUp, run by the session queue);
 * - in the background once writes pause — for `quietMs`, and at least twice as long as the last
 *   refresh took — every stale view, keyed or whole, one job per view through the session queue
 *   (outside client transactions; appends and queries run between views). A read never needs it
 *   (a stale view is computed when read), but one arriving while a view is refreshed waits for that
 *   view, as a webhook append does; the adaptive pause keeps that rare under steady traffic.
 * After a catalog change, views are planned from their query trees (keyed-refresh-plan.ts). Views
 * that cannot be kept, and kept views refreshed whole, are reported once in the server log.
 */
import { createHash } from 'node:crypto';
import type { LocalDatabase } from './engine.ts';
import { planKeyedRefresh, type RelationInfo } from './keyed-refresh-plan.ts';
import type { SessionQueue } from './session-queue.ts';
import { tokenize } from './sql/tokens.ts';

export interface MaintainedViewsOptions {
  readonly queue: SessionQueue;
  readonly log?: (line: string) => void;
  /** How long writes must pause before stale views are refreshed, at least (default 250 ms). */
  readonly quietMs?: number;
}

/** How long a refresh may wait for client transactions to end before it is tried again later. */
const QUEUE_WAIT_MS = 5_000;

export class MaintainedViews {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly reported = new Set<string>();
  /** How long the last refresh took: the next waits for a pause twice as long, so that refreshing
   *  (which holds the database, webhook appends included) never takes most of the time. */
  private lastRefreshMs = 0;

  /** Writes or catalog changes since the last catch-up. */
  private writtenSinceCatchUp = true;
  /** Catalog changes since views were last planned. */
  private unplanned = true;
  private readonly catchUpFailures = new Set<string>();

  /** How long the last background refresh took (all stale views), in milliseconds. */
  get lastRefreshDurationMs(): number {
    return this.lastRefreshMs;
  }

  constructor(private readonly options: MaintainedViewsOptions) {
    options.queue.setCatchUp((db, statement) => this.catchUp(db, statement));
  }

  /** A source was written. */
  noteWrite(): void {
    this.writtenSinceCatchUp = true;
    this.schedule();
  }

  /** Something was created, dropped or replaced. */
  noteCatalogChange(): void {
    this.writtenSinceCatchUp = true;
    this.unplanned = true;
    this.schedule();
  }

  /**
   * Inside the session queue, right before a statement: keyed refreshes of the stale views it reads
   * (cheap); what needs a whole refresh stays stale, computed when read, for the background refresh.
   * Views it does not read wait: a lookup in one mart does not pay for refreshing another.
   */
  private async catchUp(db: LocalDatabase, statement: string | null): Promise<void> {
    if (!this.writtenSinceCatchUp || this.closed) return;
    const names = statement === null ? null : identifiersIn(statement);
    // Only a catch-up of everything leaves nothing stale behind.
    if (names === null) this.writtenSinceCatchUp = false;
    else if (names.length === 0) return;
    try {
      if (this.unplanned) await this.planViews(db);
      const { rows } = await db.query<{ failures: string[] }>(`SELECT mz_local.catch_up($1) AS failures`, [names]);
      for (const failure of rows[0]?.failures ?? []) this.reportCatchUpFailure(failure);
    } catch (error) {
      this.reportCatchUpFailure((error as Error).message);
    }
  }

  /** Once per distinct message: the read computes what is stale, as it would without kept views. */
  private reportCatchUpFailure(message: string): void {
    if (this.catchUpFailures.has(message)) return;
    this.catchUpFailures.add(message);
    this.options.log?.(`materialized view not caught up before a read (the read computes it): ${message}`);
  }

  /** Plans every kept view not planned yet: keyed by what changed upstream, or whole. */
  private async planViews(db: LocalDatabase): Promise<void> {
    this.unplanned = false;
    const pending = await db.query<{ id: string; tree: string }>(
      `SELECT m.id::text AS id, w.ev_action::text AS tree
         FROM mz_local.maintained_views m
         JOIN pg_rewrite w ON w.ev_class = to_regclass(format('mz_local.%I', 'mv_q_' || m.id)) AND w.rulename = '_RETURN'
        WHERE NOT m.planned
        ORDER BY m.id`,
    );
    for (const view of pending.rows) {
      const result = await planKeyedRefresh(view.tree, (oid) => describeRelation(db, oid));
      if ('plan' in result) {
        const { keyColumns, upstreamIds, checkRelations } = result.plan;
        await db.query(
          // Its next refresh is whole: the views it reads logged their changes only for readers
          // planned before (replace_keyed_rows).
          `UPDATE mz_local.maintained_views SET planned = true, refresh_kind = 'view', key_columns = $2, upstream_ids = $3, check_relations = $4, refreshed_xid = NULL WHERE id = $1`,
          [view.id, keyColumns, upstreamIds, checkRelations],
        );
        // Deleting and recomputing a few groups finds them by index.
        await db.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`mv_b_${view.id}_key`)} ON mz_local.${quoteIdentifier(`mv_b_${view.id}`)} (${keyColumns.map(quoteIdentifier).join(', ')})`);
        await this.indexUpstreamForKeys(db, view.id, keyColumns);
      } else {
        await db.query(`UPDATE mz_local.maintained_views SET planned = true, not_keyed_reason = $2 WHERE id = $1`, [view.id, result.reason]);
      }
    }
  }

  /** A source was written or the catalog changed: refresh once things are quiet. */
  schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.refresh().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    }, Math.max(this.options.quietMs ?? 250, this.lastRefreshMs * 2));
  }

  /** Resolves when no refresh is pending or running (tests and benchmarks wait for it). */
  async settled(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /**
   * Recomputing one group reads the kept tables under the view: asks the planner how (a generic
   * plan of the definition with its keys as parameters) and indexes each kept table it would scan
   * whole — on the expression compared with a key, else on a column compared with a constant (the
   * other side of a NOT EXISTS, say). An expression PostgreSQL cannot index (not immutable, e.g.
   * date_trunc of a timestamptz) is left to the scan.
   */
  private async indexUpstreamForKeys(db: LocalDatabase, id: string, keyColumns: readonly string[]): Promise<void> {
    const condition = keyColumns.map((column, index) => `${quoteIdentifier(column)} = $${index + 1}`).join(' AND ');
    // exec: the simple protocol, where $1 may stay unbound (GENERIC_PLAN).
    const [explained] = await db.exec(`EXPLAIN (VERBOSE, GENERIC_PLAN, FORMAT JSON) SELECT * FROM mz_local.${quoteIdentifier(`mv_q_${id}`)} WHERE ${condition}`);
    const plan = explained?.rows[0]?.['QUERY PLAN'];
    for (const scan of keptTableScans(typeof plan === 'string' ? JSON.parse(plan) : plan)) {
      for (const expression of indexableExpressions(scan.filter, scan.alias)) {
        const name = `mv_b_${scan.table.slice('mv_b_'.length)}_x_${createHash('md5').update(expression).digest('hex').slice(0, 8)}`;
        try {
          await db.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(name)} ON mz_local.${quoteIdentifier(scan.table)} ((${expression}))`);
        } catch (error) {
          this.options.log?.(`materialized view ${id}: no index on ${expression} (${(error as Error).message}); recomputing a group scans ${scan.table}`);
        }
      }
    }
  }

  private async refresh(): Promise<void> {
    const started = performance.now();
    try {
      if (this.unplanned) await this.options.queue.runLocal((db) => this.planViews(db), QUEUE_WAIT_MS);
      const stale = await this.options.queue.runLocal(
        (db: LocalDatabase) =>
          db.query<{ id: string }>(
            `SELECT m.id::text AS id FROM mz_local.maintained_views m WHERE m.refreshed_version <> (SELECT last_value FROM mz_local.write_sequence) ORDER BY m.id`,
          ),
        QUEUE_WAIT_MS,
      );
      // One job per view, upstream first: webhook appends and queries run between them instead of
      // waiting for the whole refresh.
      for (const { id } of stale.rows) {
        if (this.closed) return;
        await this.options.queue.runLocal((db: LocalDatabase) => db.query(`SELECT mz_local.refresh_maintained($1)`, [id]), QUEUE_WAIT_MS);
      }
      await this.options.queue.runLocal((db: LocalDatabase) => db.query(`SELECT mz_local.prune_change_logs()`), QUEUE_WAIT_MS);
      await this.reportUnkept();
    } catch (error) {
      // A client holding a transaction open, or a view failing at refresh (then it fails when read
      // too, with the error where the user sees it): try again after the next write.
      if (!this.closed) this.options.log?.(`materialized views not refreshed yet: ${(error as Error).message}`);
    } finally {
      this.lastRefreshMs = performance.now() - started;
    }
  }

  private async reportUnkept(): Promise<void> {
    if (!this.options.log) return;
    const unkept = await this.options.queue.runLocal(
      (db: LocalDatabase) =>
        db.query<{ name: string; reason: string; kept: boolean }>(
          `SELECT n.nspname || '.' || c.relname AS name, r.not_maintained AS reason, false AS kept
             FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.not_maintained IS NOT NULL
           UNION ALL
           SELECT m.view_oid::regclass::text, m.not_keyed_reason, true FROM mz_local.maintained_views m
            WHERE m.planned AND m.refresh_kind IS NULL AND m.not_keyed_reason IS NOT NULL`,
        ),
      QUEUE_WAIT_MS,
    );
    for (const row of unkept.rows) {
      if (this.reported.has(row.name)) continue;
      this.reported.add(row.name);
      this.options.log(
        row.kept
          ? `materialized view ${row.name} is kept but refreshed whole after writes (a read right after a write computes it): ${row.reason}`
          : `materialized view ${row.name} is computed on every read, not kept: ${row.reason}`,
      );
    }
  }
}

/**
 * The relation names a statement may read (lower-cased words and quoted identifiers), or null when
 * it cannot be read as SQL (then everything is caught up).
 */
export function identifiersIn(statement: string): string[] | null {
  try {
    const names = new Set<string>();
    for (const token of tokenize(statement)) if (token.type === 'word' || token.type === 'quoted') names.add(token.value);
    return [...names];
  } catch {
    return null;
  }
}

interface KeptTableScan {
  readonly table: string;
  readonly alias: string;
  readonly filter: string;
}

/** Scans of kept tables (mz_local.mv_b_<id>) that read more than they keep, in an EXPLAIN (VERBOSE, FORMAT JSON) plan. */
export function keptTableScans(plan: unknown): KeptTableScan[] {
  const scans: KeptTableScan[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    const table = record['Relation Name'];
    const filter = record['Filter'];
    // A whole scan with a filter, or an index scan whose filter still compares with a key (an index
    // on something else, made for another view, found these rows).
    const scansTooMuch = record['Node Type'] === 'Seq Scan' || (typeof filter === 'string' && / = \$\d+\)/.test(filter));
    if (scansTooMuch && record['Schema'] === 'mz_local' && typeof table === 'string' && /^mv_b_\d+$/.test(table) && typeof filter === 'string') {
      scans.push({ table, alias: typeof record['Alias'] === 'string' ? record['Alias'] : table, filter });
    }
    for (const value of Object.values(record)) if (typeof value === 'object') visit(value);
  };
  visit(plan);
  return scans;
}

/**
 * What to index so that a scan with this filter becomes an index lookup: the expressions compared
 * with a parameter (`(<expression> = $1)`), else the first column compared with a constant. The
 * scan's alias is dropped from column references (`mv_b_1.body` → `body`).
 */
export function indexableExpressions(filter: string, alias: string): string[] {
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
  if (found.length > 0) return [...new Set(found)];
  const constant = new RegExp(`\\(${alias.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.([a-z_][a-z0-9_]*) = '(?:[^']|'')*'::[a-z ]+\\)`).exec(filter);
  return constant ? [constant[1]!] : [];
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A relation a kept view reads, as the planner needs it. */
async function describeRelation(db: LocalDatabase, oid: number): Promise<RelationInfo> {
  const { rows } = await db.query<{ name: string; relkind: string; maintained: string | null; tree: string | null }>(
    `SELECT c.oid::regclass::text AS name, c.relkind::text AS relkind, m.id::text AS maintained,
            (SELECT w.ev_action::text FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename = '_RETURN') AS tree
       FROM pg_class c LEFT JOIN mz_local.maintained_views m ON m.view_oid = c.oid
      WHERE c.oid = $1`,
    [oid],
  );
  const row = rows[0];
  if (!row) return { kind: 'other', name: `relation ${oid}` };
  if (row.maintained) return { kind: 'kept', maintainedId: row.maintained };
  if (row.relkind === 'v' && row.tree) return { kind: 'view', queryTree: row.tree };
  return { kind: 'other', name: row.name };
}
