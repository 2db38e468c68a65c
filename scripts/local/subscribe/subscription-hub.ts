/**
 * What feeds SUBSCRIBE on the local server. PGlite is one session, so a subscription cannot hold a
 * transaction open or wait inside the database: the server tells the hub after every write that
 * can change a result (a webhook append, a Kafka produce, a statement that writes), and the hub
 * recomputes each subscribed query once — however many subscribers share it — through the
 * session queue, diffs the result against the one before, and hands every subscriber one
 * consolidated batch of changes at a new timestamp. Queries using mz_now() are also recomputed
 * every second, so rows of a temporal filter leave as time passes.
 *
 * Timestamps are Materialize's: milliseconds since the epoch, never decreasing, one per batch.
 */
import type { SessionQueue } from '../engine/session-queue.ts';
import { materializeJsonText, normalizeNumber } from '../sql/text-formats.ts';

export interface SubscribedColumn {
  readonly name: string;
  readonly typeOid: number;
}

/** Values as Materialize's text format spells them (null for NULL). */
export type RowValues = ReadonlyArray<string | null>;

export interface Update {
  readonly values: RowValues;
  readonly diff: number;
}

export interface Batch {
  readonly timestamp: number;
  readonly updates: readonly Update[];
}

export interface Subscription {
  readonly columns: readonly SubscribedColumn[];
  /** The snapshot: the current rows (diff = their count) at `timestamp`. */
  readonly snapshot: Batch;
  unsubscribe(): void;
}

type Listener = (batch: Batch) => void;

interface WatchedQuery {
  readonly sql: string;
  readonly columns: SubscribedColumn[];
  readonly textQuery: string;
  /** Row key → values and multiplicity. */
  rows: Map<string, { values: RowValues; count: number }>;
  readonly listeners: Set<Listener>;
  readonly temporal: boolean;
}

/**
 * While writes keep coming (each within this many refresh durations of the one before), the next
 * round waits this many times the last one's duration: subscriptions then take at most 1/(1+4) =
 * 20% of the session queue and appends keep the rest. (Without it, a subscribed query costing
 * 35 ms ran after every single-event append and ingest fell from ~560 to ~24 events/s.) A write
 * after a quiet spell is refreshed at once. Appends wait in the session queue behind a round, so
 * "writes keep coming" is told by their spacing, not by whether they landed during a round.
 * A round's duration is the time from asking the session queue to having the changes (the wait
 * behind appends and the catch-up included: under heavy ingest that spaces rounds further), not
 * the time the changes took to reach the subscribers: sending a batch to 100 subscribers took
 * longer than computing it, and counting it made every other event wait ~4× that (p50 22–41 ms).
 */
const REFRESH_SPACING = 4;

/**
 * How long one computation of a subscribed query may hold the database (the one session every
 * append waits for) by default: past it, SUBSCRIBE fails with a statement timeout rather than
 * freezing ingest.
 */
export const SUBSCRIBED_QUERY_TIMEOUT_MS = 10_000;

const JSONB_OID = 3802;
const NUMERIC_OID = 1700;

export class SubscriptionHub {
  private readonly watched = new Map<string, WatchedQuery>();
  /** Queries being set up: subscribers arriving meanwhile share the one setup. */
  private readonly starting = new Map<string, Promise<WatchedQuery>>();
  private lastTimestamp = 0;
  private dirty = false;
  private refreshing: Promise<void> | null = null;
  /** When the last refresh round ended, and how long computing its changes took (performance.now() milliseconds). */
  private lastRoundEnd = -Infinity;
  private lastRoundMs = 0;
  /** The last write, and whether it came close after the one before (rounds are then spaced). */
  private lastWriteAt = -Infinity;
  private writesStreaming = false;
  private readonly clock: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly queue: SessionQueue,
    /** How long a refresh may wait behind a client's open transaction. */
    private readonly maxWaitMs = 30_000,
    /** How long one computation of a subscribed query may run. */
    private readonly queryTimeoutMs = SUBSCRIBED_QUERY_TIMEOUT_MS,
  ) {
    // Temporal filters: their results change with time alone.
    this.clock = setInterval(() => {
      if ([...this.watched.values()].some((query) => query.temporal)) this.notifyWrite();
    }, 1_000);
    this.clock.unref();
  }

  /** A timestamp later than every one handed out before. */
  nextTimestamp(): number {
    this.lastTimestamp = Math.max(this.lastTimestamp + 1, Date.now());
    return this.lastTimestamp;
  }

  /** The last timestamp handed out (the frontier subscribers have seen). */
  get frontier(): number {
    return Math.max(this.lastTimestamp, Date.now());
  }

  async subscribe(sql: string, listener: Listener): Promise<Subscription> {
    // A refresh in flight must finish first: the snapshot and the next batch must not overlap.
    while (this.refreshing) await this.refreshing;
    let query = this.watched.get(sql);
    if (!query) {
      let setup = this.starting.get(sql);
      if (!setup) {
        setup = this.watch(sql).finally(() => this.starting.delete(sql));
        this.starting.set(sql, setup);
      }
      query = await setup;
      if (!this.watched.has(sql)) this.watched.set(sql, query);
      query = this.watched.get(sql)!;
    }
    query.listeners.add(listener);
    const watchedQuery = query;
    const timestamp = this.nextTimestamp();
    return {
      columns: query.columns,
      snapshot: { timestamp, updates: [...query.rows.values()].map((row) => ({ values: row.values, diff: row.count })) },
      unsubscribe: () => {
        watchedQuery.listeners.delete(listener);
        if (watchedQuery.listeners.size === 0 && this.watched.get(sql) === watchedQuery) this.watched.delete(sql);
      },
    };
  }

  /** Something was written: recompute what is subscribed (coalescing writes that arrive meanwhile). */
  notifyWrite(): void {
    if (this.closed || this.watched.size === 0) return;
    const now = performance.now();
    this.writesStreaming = now - this.lastWriteAt < Math.max(1, this.lastRoundMs * REFRESH_SPACING);
    this.lastWriteAt = now;
    this.dirty = true;
    if (this.refreshing) return;
    this.refreshing = (async () => {
      try {
        while (this.dirty && !this.closed) {
          const wait = this.writesStreaming ? this.lastRoundEnd + this.lastRoundMs * REFRESH_SPACING - performance.now() : 0;
          // Writes arriving meanwhile join this round (dirty stays set).
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (this.closed) break;
          this.dirty = false;
          let computeMs = 0;
          for (const query of [...this.watched.values()]) computeMs += await this.refresh(query);
          this.lastRoundEnd = performance.now();
          this.lastRoundMs = computeMs;
        }
      } finally {
        this.refreshing = null;
      }
    })();
  }

  /** Resolves once every write notified so far is reflected in what subscribers were sent. */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.clock);
    this.watched.clear();
  }

  private async watch(sql: string): Promise<WatchedQuery> {
    const described = await this.queue.runLocal((db) => db.query(`SELECT * FROM (${sql}) AS subscribed LIMIT 0`), this.maxWaitMs, { background: true });
    const columns = described.fields.map((field) => ({ name: field.name, typeOid: field.dataTypeID }));
    // Every value as text, positionally (names may repeat); Materialize's formats applied after.
    const aliases = columns.map((_, index) => `"c${index}"`);
    const textQuery = `SELECT ${aliases.map((alias) => `${alias}::text`).join(', ') || 'NULL'} FROM (${sql}) AS subscribed(${aliases.join(', ')})`;
    const query: WatchedQuery = { sql, columns, textQuery, rows: new Map(), listeners: new Set(), temporal: /\bmz_now\s*\(/i.test(sql) };
    query.rows = await this.compute(query);
    return query;
  }

  private async compute(query: WatchedQuery): Promise<Map<string, { values: RowValues; count: number }>> {
    const result = await this.queue.runLocal(
      (db) => db.query<string[]>(query.textQuery, [], { rowMode: 'array', timeoutMs: this.queryTimeoutMs }),
      this.maxWaitMs,
      { reads: query.textQuery, background: true },
    );
    const rows = new Map<string, { values: RowValues; count: number }>();
    for (const raw of result.rows) {
      const values = query.columns.length === 0 ? [] : raw.map((value, index) => formatValue(value, query.columns[index]!.typeOid));
      const key = JSON.stringify(values);
      const existing = rows.get(key);
      if (existing) existing.count++;
      else rows.set(key, { values, count: 1 });
    }
    return rows;
  }

  /** Sends the query's changes to its subscribers; returns how long computing them took, from asking the session queue (ms). */
  private async refresh(query: WatchedQuery): Promise<number> {
    const started = performance.now();
    let next: Map<string, { values: RowValues; count: number }>;
    try {
      next = await this.compute(query);
    } catch {
      // The query stopped working (an object it reads was dropped): its subscribers see no more.
      return performance.now() - started;
    }
    const updates: Update[] = [];
    for (const [key, row] of next) {
      const before = query.rows.get(key)?.count ?? 0;
      if (row.count !== before) updates.push({ values: row.values, diff: row.count - before });
    }
    for (const [key, row] of query.rows) if (!next.has(key)) updates.push({ values: row.values, diff: -row.count });
    query.rows = next;
    const computeMs = performance.now() - started;
    if (updates.length === 0) return computeMs;
    const batch: Batch = { timestamp: this.nextTimestamp(), updates };
    for (const listener of [...query.listeners]) listener(batch);
    return computeMs;
  }
}

/** PostgreSQL's text → Materialize's, for the types whose format differs. */
function formatValue(value: string | null, typeOid: number): string | null {
  if (value === null) return null;
  if (typeOid === JSONB_OID) return materializeJsonText(value);
  if (typeOid === NUMERIC_OID) return normalizeNumber(value);
  return value;
}
