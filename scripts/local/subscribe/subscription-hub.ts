/**
 * What feeds SUBSCRIBE on the local server. PGlite is one session, so a subscription cannot hold a
 * transaction open or wait inside the database: the server tells the hub after every write that
 * can change a result (a webhook append, a Kafka produce, a statement that writes), and the hub
 * recomputes each subscribed query once — however many subscribers share it — through the
 * session queue, diffs the result against the one before, and hands every subscriber one
 * consolidated batch of changes at a new timestamp. Queries using mz_now() are also recomputed
 * every second, so rows of a temporal filter leave as time passes.
 *
 * A write that names what it wrote (a client's plain INSERT, UPDATE, DELETE or TRUNCATE:
 * written-relations.ts) recomputes only the queries that scan one of those tables — their plan's
 * relations, looked up once per catalog change — and is ignored altogether when none does, so it
 * neither delays the next round nor costs one. (An activation worker writing its checkpoint after
 * each batch made the hub recompute its own 10,000-row subscription after every 500-row INSERT,
 * and the rounds that spacing then imposed held the next change back by 5–10 s.) While the
 * database has triggers, rules or functions of its users' (which may write or read anything),
 * every write recomputes every query, as a write that names nothing does.
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
  /** The names of the tables its plan scans ('all': anything may change it), as of a catalog version. */
  reads: { readonly catalogVersion: number; readonly names: ReadonlySet<string> | 'all' } | null;
}

/**
 * While writes keep coming (each within STREAMING_GAP refresh durations of the one before), the
 * next round waits REFRESH_SPACING times the last one's duration: subscriptions then take at most
 * 1/(1+9) = 10% of the session queue and appends keep the rest. (Without it, a subscribed query
 * costing 35 ms ran after every single-event append and ingest fell from ~560 to ~24 events/s; at
 * 4, 20%, one activation following the seed's high_value_customers — a mart recomputed whole at
 * each round — cost ingest 15–35% in bench/activation.ts, against a 10% goal.) The price is
 * freshness under sustained ingest only: a change then waits up to nine rounds' time. A write after
 * a quiet spell is refreshed at once. Appends wait in the session queue behind a round, so
 * "writes keep coming" is told by their spacing, not by whether they landed during a round.
 * A round's duration is the time from asking the session queue to having the changes (the wait
 * behind appends and the catch-up included: under heavy ingest that spaces rounds further), not
 * the time the changes took to reach the subscribers: sending a batch to 100 subscribers took
 * longer than computing it, and counting it made every other event wait ~4× that (p50 22–41 ms).
 */
const REFRESH_SPACING = 9;
const STREAMING_GAP = 4;

/**
 * While writes keep coming, rounds also start at least this far apart: Materialize itself gives a
 * source's data a new timestamp once per tick (its default timestamp interval is 1 s: "a change
 * becomes visible to queries only after the next tick", materialize.com/docs/transform-data/
 * freshness/subsecond-freshness/), so under sustained ingest a subscriber sees a batch per second.
 * Each round brings the kept views under the query up to date first (a dedup of every event
 * appended since the last round, then the marts over it): work that, with no subscriber, waits for
 * the background refresh once ingest pauses and is done there in one pass. Rounds a REFRESH_SPACING
 * apart came every 100–150 ms under 3,000 events/s and cost ingest ~25% of the server's CPU (one
 * activation following high_value_customers, bench/activation.ts). A write after a quiet spell is
 * still sent at once, and the tick waits only once STREAMING_TICK_WRITES writes came since the last
 * round began: single events a few round-durations apart (a person ordering, the activation
 * latency bench) are still sent a REFRESH_SPACING after the last round, not up to a second later.
 */
const STREAMING_TICK_MS = 1_000;
const STREAMING_TICK_WRITES = 3;

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
  /**
   * The part of a refresh round that computes and sends changes (not its wait before): a new
   * subscriber waits for this only, so its snapshot never waits out a round's spacing or tick.
   */
  private computing: Promise<void> | null = null;
  /** When the last refresh round ended, and how long computing its changes took (performance.now() milliseconds). */
  private lastRoundEnd = -Infinity;
  private lastRoundMs = 0;
  /** When the last round began (performance.now() milliseconds). */
  private lastRoundStart = -Infinity;
  /** The last write, and whether it came close after the one before (rounds are then spaced). */
  private lastWriteAt = -Infinity;
  private writesStreaming = false;
  /** Writes notified since the last round began. */
  private writesSinceRound = 0;
  /** What was written since the last round began: table names, or 'all' (not known). */
  private pendingWrites: Set<string> | 'all' = new Set();
  /** Moves with every catalog change: the relations a query scans are looked up again. */
  private catalogVersion = 0;
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
    // A round computing changes must finish first: the snapshot and its batch must not overlap.
    // A round still waiting to start (under ingest, up to a second) is waited for only by a
    // subscriber joining a query whose rows those writes may change: its snapshot is the query's
    // rows as of the last round, and a client's own write before its SUBSCRIBE must be in it. A new
    // query computes its rows now, writes included.
    for (;;) {
      while (this.computing) await this.computing;
      const joined = this.watched.get(sql);
      if (!joined || !this.refreshing || !this.dirty) break;
      if (this.pendingWrites !== 'all' && !mayRead(joined, [...this.pendingWrites], this.catalogVersion)) break;
      await this.refreshing;
    }
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

  /**
   * Something was written: recompute what is subscribed (coalescing writes that arrive meanwhile).
   * `written`: the tables written, when known (a write no subscribed query scans is ignored);
   * null: anything may have changed.
   */
  notifyWrite(written: readonly string[] | null = null): void {
    if (this.closed || this.watched.size === 0) return;
    if (written !== null && [...this.watched.values()].every((query) => !mayRead(query, written, this.catalogVersion))) return;
    if (written === null) this.pendingWrites = 'all';
    else if (this.pendingWrites !== 'all') for (const name of written) this.pendingWrites.add(name);
    const now = performance.now();
    this.writesStreaming = now - this.lastWriteAt < Math.max(1, this.lastRoundMs * STREAMING_GAP);
    this.lastWriteAt = now;
    this.writesSinceRound++;
    this.dirty = true;
    if (this.refreshing) return;
    this.refreshing = (async () => {
      try {
        while (this.dirty && !this.closed) {
          const tick = this.writesSinceRound >= STREAMING_TICK_WRITES ? this.lastRoundStart + STREAMING_TICK_MS : -Infinity;
          const wait = this.writesStreaming ? Math.max(this.lastRoundEnd + this.lastRoundMs * REFRESH_SPACING, tick) - performance.now() : 0;
          // Writes arriving meanwhile join this round (dirty stays set).
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (this.closed) break;
          this.dirty = false;
          this.lastRoundStart = performance.now();
          this.writesSinceRound = 0;
          const written = this.pendingWrites;
          this.pendingWrites = new Set();
          let computeMs = 0;
          this.computing = (async () => {
            for (const query of [...this.watched.values()]) {
              if (written !== 'all' && !(await this.reads(query, written))) continue;
              computeMs += await this.refresh(query);
            }
          })();
          try {
            await this.computing;
          } finally {
            this.computing = null;
          }
          this.lastRoundEnd = performance.now();
          this.lastRoundMs = computeMs;
        }
      } finally {
        this.refreshing = null;
      }
    })();
  }

  /** The catalog changed (a statement created, dropped or replaced something). */
  noteCatalogChange(): void {
    this.catalogVersion++;
  }

  /** Whether the query scans one of the `written` tables (its plan looked up when the catalog moved). */
  private async reads(query: WatchedQuery, written: ReadonlySet<string>): Promise<boolean> {
    if (query.reads?.catalogVersion !== this.catalogVersion) {
      const catalogVersion = this.catalogVersion;
      let names: ReadonlySet<string> | 'all';
      try {
        names = await this.queue.runLocal((db) => scannedTables(db, query.textQuery), this.maxWaitMs, { background: true });
      } catch {
        names = 'all';
      }
      query.reads = { catalogVersion, names };
    }
    return mayRead(query, [...written], this.catalogVersion);
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
    const query: WatchedQuery = { sql, columns, textQuery, rows: new Map(), listeners: new Set(), temporal: /\bmz_now\s*\(/i.test(sql), reads: null };
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

/** Whether a write to `written` may change the query's result (true while its plan's tables are not known). */
function mayRead(query: WatchedQuery, written: readonly string[], catalogVersion: number): boolean {
  const reads = query.reads;
  if (!reads || reads.catalogVersion !== catalogVersion || reads.names === 'all') return true;
  return written.some((name) => reads.names !== 'all' && reads.names.has(name));
}

/**
 * The names of the tables a query's plan scans (views expanded, a kept view's kept table and its
 * definition's sources both), or 'all' while the database has its users' own triggers, rules or
 * functions: a trigger writes other tables, a function in a query reads tables its plan does not show.
 */
async function scannedTables(db: { query<T>(sql: string): Promise<{ rows: T[] }> }, textQuery: string): Promise<ReadonlySet<string> | 'all'> {
  const hazards = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                     WHERE NOT t.tgisinternal AND p.pronamespace <> 'mz_local'::regnamespace)
         OR EXISTS (SELECT 1 FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
                     WHERE r.rulename <> '_RETURN' AND c.relnamespace <> 'pg_catalog'::regnamespace)
         OR EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'mz_catalog', 'mz_local')) AS found`,
  );
  if (hazards.rows[0]?.found !== false) return 'all';
  const explained = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${textQuery}`);
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const each of node) walk(each);
    else if (node && typeof node === 'object') {
      for (const [field, value] of Object.entries(node)) {
        if (field === 'Relation Name' && typeof value === 'string') names.add(value);
        else walk(value);
      }
    }
  };
  let plan = explained.rows[0]?.['QUERY PLAN'];
  if (typeof plan === 'string') plan = JSON.parse(plan) as unknown;
  walk(plan);
  return names;
}

/** PostgreSQL's text → Materialize's, for the types whose format differs. */
function formatValue(value: string | null, typeOid: number): string | null {
  if (value === null) return null;
  if (typeOid === JSONB_OID) return materializeJsonText(value);
  if (typeOid === NUMERIC_OID) return normalizeNumber(value);
  return value;
}
