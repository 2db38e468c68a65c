/**
 * Keeps the local server's materialized views current (catalog/kept-views.sql), two ways:
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
import type { LocalDatabase } from '../engine/engine.ts';
import { planKeptViews } from './plan-kept-views.ts';
import { QueueBusyError, type SessionQueue } from '../engine/session-queue.ts';
import { tokenize } from '../sql/tokens.ts';

export interface MaintainedViewsOptions {
  readonly queue: SessionQueue;
  readonly log?: (line: string) => void;
  /** How long writes must pause before stale views are refreshed, at least (default 250 ms). */
  readonly quietMs?: number;
  /** A kept view with a temporal filter changed with time alone (rows entered or left): SUBSCRIBE
   *  recomputes what it watches. */
  readonly onTimeChange?: () => void;
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

  /** Counts noteWrite/noteCatalogChange calls. */
  private notices = 0;
  /** The count as of the last catch-up of everything or complete background pass: while no notice
   *  came since, nothing is stale and statements skip the catch-up (a catalog query) altogether.
   *  -1: a previous run may have left views stale. */
  private caughtUpAtNotice = -1;
  /** Catalog changes since views were last planned. */
  private unplanned = true;
  private readonly catchUpFailures = new Set<string>();
  /** Statements' names (sorted, joined) → whether they reach a kept view (beforeStatement). */
  private readonly reach = new Map<string, boolean>();
  /** When the earliest kept temporal view changes next (ms since the epoch; Infinity: none). */
  private nextChangeMs = Infinity;
  private timeTimer: NodeJS.Timeout | null = null;

  /**
   * Time the database spent refreshing kept views, in milliseconds since the server started: in
   * catch-ups right before statements and subscription rounds, and in background passes. Benchmarks
   * read it to say where a workload's refresh work went (bench/activation.ts: a subscriber moves the
   * refresh into the ingest run; without one it waits for ingest to pause).
   */
  readonly refreshTime = { catchUpMs: 0, backgroundMs: 0 };

  /** How long the last background refresh took (all stale views), in milliseconds. */
  get lastRefreshDurationMs(): number {
    return this.lastRefreshMs;
  }

  constructor(private readonly options: MaintainedViewsOptions) {
    options.queue.setCatchUp((db, statement) => this.catchUp(db, statement));
    // A first pass: views a previous run left stale are refreshed, and once nothing is stale,
    // statements stop paying for a catch-up.
    this.schedule();
  }

  /** A source was written. */
  noteWrite(): void {
    this.notices++;
    this.schedule();
  }

  /** Something was created, dropped or replaced. */
  noteCatalogChange(): void {
    this.notices++;
    this.unplanned = true;
    this.reach.clear();
    this.schedule();
  }

  /**
   * Inside the session queue, right before a statement: keyed refreshes of the stale views it reads
   * (cheap); what needs a whole refresh stays stale, computed when read, for the background refresh.
   * Views it does not read wait: a lookup in one mart does not pay for refreshing another.
   */
  private async catchUp(db: LocalDatabase, statement: string | null): Promise<void> {
    if ((this.caughtUpAtNotice === this.notices && Date.now() < this.nextChangeMs) || this.closed) return;
    const names = statement === null ? null : identifiersIn(statement);
    // Only a catch-up of everything leaves nothing stale behind.
    if (names === null) this.caughtUpAtNotice = this.notices;
    else if (names.length === 0) return;
    const shape = names === null ? null : [...names].sort().join('\u0000');
    try {
      let answer: BeforeStatement | null = null;
      if (this.unplanned) {
        answer = await this.beforeStatement(db, names, shape, true);
        if (answer?.plan_first) {
          await this.planAfterCatalogChange(db);
          answer = null;
        }
        // Nothing (more) to plan until the catalog changes.
        this.unplanned = false;
      }
      answer ??= await this.beforeStatement(db, names, shape, false);
      if (!answer?.reaches) return;
      for (const failure of answer.failures ?? []) this.reportCatchUpFailure(failure);
      this.applyNextChange(answer.next_change_ms);
    } catch (error) {
      this.reportCatchUpFailure((error as Error).message);
    }
  }

  /**
   * One round trip (mz_local.before_statement): views left to plan, whether the statement reaches
   * a kept view — asked once per statement shape until the catalog or a plan changes: a statement
   * reaching none (an activation worker's checkpoint writes and lease renewals, written between
   * every batch) skips the catch-up, whose walk through the catalog cost each ~6 ms under ingest —
   * and if it does, the catch-up. Null: nothing to ask (the statement is known to reach none).
   */
  private async beforeStatement(db: LocalDatabase, names: readonly string[] | null, shape: string | null, checkPlans: boolean): Promise<BeforeStatement | null> {
    const known = shape === null ? true : this.reach.get(shape);
    if (known === false && !checkPlans) return null;
    const started = performance.now();
    this.catchingUp = true;
    const { rows } = await db
      .query<BeforeStatement>(`SELECT * FROM mz_local.before_statement($1, $2, $3)`, [names, checkPlans, known ?? null])
      .finally(() => {
        this.catchingUp = false;
        this.refreshTime.catchUpMs += performance.now() - started;
        this.postponePass(performance.now() - started);
      });
    const answer = rows[0]!;
    if (shape !== null && known === undefined && !answer.plan_first) {
      // Bounded: ad-hoc statements each name a set of their own.
      if (this.reach.size >= MAX_REMEMBERED_STATEMENT_SHAPES) this.reach.clear();
      this.reach.set(shape, answer.reaches === true);
    }
    return answer;
  }

  /**
   * When a kept temporal view changes next: statements before then need no catch-up for it, and a
   * background refresh is set for then (SUBSCRIBE shows rows entering and leaving when they do).
   */
  private async learnNextChange(db: LocalDatabase): Promise<void> {
    const { rows } = await db.query<{ at: number | null }>(`SELECT mz_local.next_change_ms() AS at`);
    this.applyNextChange(rows[0]?.at ?? null);
  }

  private applyNextChange(at: number | null): void {
    this.nextChangeMs = at === null ? Infinity : Number(at);
    if (this.timeTimer) clearTimeout(this.timeTimer);
    this.timeTimer = null;
    if (this.closed || this.nextChangeMs === Infinity) return;
    // Timers past ~24.8 days overflow; a refresh before then finds nothing due and sets another.
    const wait = Math.min(Math.max(this.nextChangeMs - Date.now(), 0) + 1, 2 ** 31 - 1);
    this.timeTimer = setTimeout(() => {
      this.timeTimer = null;
      this.timeChanged = true;
      this.schedule();
    }, wait);
    this.timeTimer.unref();
  }

  /** A temporal view came due: the next background pass tells subscriptions. */
  private timeChanged = false;

  /** Plans the views created since the last catalog change (once per change). */
  private async planAfterCatalogChange(db: LocalDatabase): Promise<void> {
    if (!this.unplanned) return;
    this.unplanned = false;
    this.reach.clear();
    await planKeptViews(db, this.options.log);
  }

  /** Once per distinct message: the read computes what is stale, as it would without kept views. */
  private reportCatchUpFailure(message: string): void {
    if (this.catchUpFailures.has(message)) return;
    this.catchUpFailures.add(message);
    this.options.log?.(`materialized view not caught up before a read (the read computes it): ${message}`);
  }

  /** A source was written or the catalog changed: refresh once things are quiet. */
  private schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.passDueAt = performance.now() + Math.max(this.options.quietMs ?? 250, this.lastRefreshMs * 2);
    this.armPassTimer();
  }

  /** When the pending pass may start (performance.now() milliseconds): writes paused that long. */
  private passDueAt = 0;
  /** A catch-up is running: it holds the session, so appends waiting behind it are no pause in writes. */
  private catchingUp = false;

  private armPassTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        // Due during a catch-up: its end postpones the pass (the timer stays pending meanwhile).
        if (this.catchingUp) return;
        if (performance.now() < this.passDueAt) this.armPassTimer();
        else this.startPass();
      },
      Math.max(0, this.passDueAt - performance.now()),
    );
  }

  /**
   * A catch-up held the session for `heldMs`: a pending pass waits that much longer. Appends queued
   * behind a catch-up (a subscription round's, 100–400 ms under load) land no write meanwhile, and
   * the pass started mid-ingest — refreshing every other stale view while events kept coming, then
   * again after them (bench/activation.ts at load 5–6: passes of up to 4 s inside a 3,000-event
   * run). Only the time held is added, so reads polling between writes cannot hold the pass off.
   */
  private postponePass(heldMs: number): void {
    if (!this.timer || this.running || this.closed) return;
    this.passDueAt += heldMs;
    this.armPassTimer();
  }

  /** The pass a timer set: now. */
  private startPass(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.refresh().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    });
  }

  /**
   * Resolves when no refresh is pending or running (tests and benchmarks wait for it). A pass
   * waiting for writes to pause starts at once: the caller has stopped writing, and the pause after
   * a long pass (twice its time: 150 s after hydrating 1,000,000 events) would only be waited out.
   */
  async settled(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else this.startPass();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.timeTimer) clearTimeout(this.timeTimer);
    this.timeTimer = null;
    this.timer = null;
    await this.running?.catch(() => {});
  }

  private async refresh(): Promise<void> {
    const started = performance.now();
    const noticesBefore = this.notices;
    const timeChanged = this.timeChanged;
    this.timeChanged = false;
    try {
      if (this.unplanned) await this.options.queue.runLocal((db) => this.planAfterCatalogChange(db), QUEUE_WAIT_MS);
      const stale = await this.options.queue.runLocal(
        (db: LocalDatabase) =>
          db.query<{ id: string }>(
            `SELECT m.id::text AS id FROM mz_local.maintained_views m
              WHERE m.refreshed_version <> (SELECT last_value FROM mz_local.write_sequence) OR (m.next_change > '-infinity' AND now() >= m.next_change)
              ORDER BY m.id`,
          ),
        QUEUE_WAIT_MS,
      );
      // One job per view, upstream first: webhook appends and queries run between them instead of
      // waiting for the whole refresh.
      for (const { id } of stale.rows) {
        if (this.closed) return;
        await this.options.queue.runLocal(async (db: LocalDatabase) => {
          const started = performance.now();
          try {
            return await db.query(`SELECT mz_local.refresh_maintained($1)`, [id]);
          } finally {
            this.refreshTime.backgroundMs += performance.now() - started;
          }
        }, QUEUE_WAIT_MS);
      }
      await this.options.queue.runLocal(async (db: LocalDatabase) => {
        await db.query(`SELECT mz_local.prune_change_logs()`);
        await this.learnNextChange(db);
      }, QUEUE_WAIT_MS);
      if (timeChanged) this.options.onTimeChange?.();
      // Every view refreshed as of the notices before the pass (any since still count).
      this.caughtUpAtNotice = Math.max(this.caughtUpAtNotice, noticesBefore);
      await this.reportUnkept();
    } catch (error) {
      // A view failing at refresh (then it fails when read too, with the error where the user sees
      // it): tried again after the next write. The queue busy past QUEUE_WAIT_MS (a client holding
      // a transaction open, a long statement): tried again after the pause, not left until the next
      // write — a pass left undone after a delete request left the next write's catch-ups facing
      // that request and lost rows at once, which only a whole refresh handles (reads computed the
      // views, and settled() had returned).
      if (!this.closed) {
        this.options.log?.(`materialized views not refreshed yet: ${(error as Error).message}`);
        if (error instanceof QueueBusyError) this.again = true;
      }
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
           SELECT n.nspname || '.' || c.relname, m.not_keyed_reason, m.next_change IS DISTINCT FROM '-infinity'
             FROM mz_local.maintained_views m JOIN pg_class c ON c.oid = m.view_oid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE m.planned AND m.refresh_kind IS NULL AND m.not_keyed_reason IS NOT NULL`,
        ),
      QUEUE_WAIT_MS,
    );
    for (const row of unkept.rows) {
      // Once per view and shape (a view replaced by another shape that cannot be kept is named again).
      const key = `${row.name}\n${row.kept}\n${row.reason}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.options.log(
        row.kept
          ? `materialized view ${row.name} is kept but refreshed whole after writes (a read right after a write computes it): ${row.reason}`
          : `materialized view ${row.name} is computed on every read, not kept: ${row.reason}`,
      );
    }
  }
}

/** mz_local.before_statement's answer. */
interface BeforeStatement {
  /** Views wait to be planned: nothing else was done. */
  plan_first: boolean;
  /** Whether the statement reaches a kept view (then the catch-up ran); null with plan_first. */
  reaches: boolean | null;
  failures: string[] | null;
  next_change_ms: number | null;
}

/** How many statements' name sets beforeStatement remembers before it starts over. */
const MAX_REMEMBERED_STATEMENT_SHAPES = 1_000;

/** Past this, a statement (a bulk INSERT, say) is not tokenized: everything stale is caught up. */
const MAX_SCANNED_STATEMENT = 64 * 1024;

/**
 * The relation names a statement may read (lower-cased words and quoted identifiers), or null when
 * it cannot be read as SQL or is too long to bother (then everything is caught up).
 */
export function identifiersIn(statement: string): string[] | null {
  if (statement.length > MAX_SCANNED_STATEMENT) return null;
  try {
    const names = new Set<string>();
    for (const token of tokenize(statement)) if (token.type === 'word' || token.type === 'quoted') names.add(token.value);
    return [...names];
  } catch {
    return null;
  }
}
