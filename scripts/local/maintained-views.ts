/**
 * Keeps the local server's materialized views current in the background (maintained-views-sql.ts):
 * after writes, once they pause — for `quietMs`, and at least twice as long as the last refresh
 * took — every stale view is refreshed, one job per view through the session queue (outside client
 * transactions; appends and queries run between views). A read never needs it (a stale view is
 * computed when read, as before), but one arriving while a view is refreshed waits for that view,
 * as a webhook append does; the adaptive pause keeps that rare under steady traffic. Views that
 * cannot be kept are reported once, in the server log.
 */
import type { LocalDatabase } from './engine.ts';
import type { SessionQueue } from './session-queue.ts';

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

  /** How long the last background refresh took (all stale views), in milliseconds. */
  get lastRefreshDurationMs(): number {
    return this.lastRefreshMs;
  }

  constructor(private readonly options: MaintainedViewsOptions) {}

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

  private async refresh(): Promise<void> {
    const started = performance.now();
    try {
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
        db.query<{ name: string; reason: string }>(
          `SELECT n.nspname || '.' || c.relname AS name, r.not_maintained AS reason
             FROM mz_local.relations r JOIN pg_class c ON c.oid = r.relid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.not_maintained IS NOT NULL`,
        ),
      QUEUE_WAIT_MS,
    );
    for (const row of unkept.rows) {
      if (this.reported.has(row.name)) continue;
      this.reported.add(row.name);
      this.options.log(`materialized view ${row.name} is computed on every read, not kept: ${row.reason}`);
    }
  }
}
