/**
 * PGlite is a single PostgreSQL session. Every user of it — each wire connection's protocol
 * messages and the webhook API's appends — goes through this one queue, which:
 * - runs one job at a time;
 * - while a wire connection has a transaction open, runs only that connection's messages, so
 *   nothing else lands inside its transaction;
 * - runs local jobs (webhook appends) only outside transactions, and gives up on each one that is
 *   still waiting after its `maxWaitMs`, whatever it waits behind (another client's transaction, a
 *   long statement, a crowd of subscription snapshots), rather than holding an HTTP request forever;
 * - ends a connection that sits idle in a transaction longer than `idleInTransactionTimeoutMs`
 *   (as PostgreSQL's idle_in_transaction_session_timeout does), so a forgotten BEGIN cannot stall
 *   ingestion indefinitely.
 *
 * It implements the interface @electric-sql/pglite-socket's connection handler expects of its
 * query queue (enqueue / clearQueueForHandler / clearTransactionIfNeeded).
 */
import type { LocalDatabase } from './engine.ts';
import { frame, readCString } from './protocol-bytes.ts';

/** Parse, Bind, Describe, Execute, Close, Flush: messages that leave a sequence open until Sync. */
const EXTENDED_QUERY_MESSAGES = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((type) => type.charCodeAt(0)));

export class QueueBusyError extends Error {}
export class QueueClosedError extends Error {}

interface WireJob {
  kind: 'wire';
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

interface LocalJob {
  kind: 'local';
  run: (db: LocalDatabase) => Promise<unknown>;
  /** The SQL it runs, when it reads what clients see: kept views are caught up first, as for a client's statement. */
  reads: string | null;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Fails the job if it is still queued at its deadline (cleared when it starts). */
  expiry: NodeJS.Timeout | null;
  /** Work nobody waits on at once (subscription snapshots and refreshes): it yields to the rest. */
  background: boolean;
}

type Job = WireJob | LocalJob;

export interface SessionQueueOptions {
  idleInTransactionTimeoutMs: number;
  /** Called when a connection idled in a transaction too long; it should close the connection. */
  onIdleInTransaction: (handlerId: number) => void;
  /**
   * Runs a wire message against the database (translation and response rewriting live there).
   * It hands the message to the database before its first await: messages of one extended query
   * are started without waiting for each other, and must reach the database in order.
   */
  execute: (handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) => Promise<number>;
  /**
   * A session per connection (connection-state.ts): brings the session's settings to this
   * connection's before its message runs; null when they are in place.
   */
  enter?: (handlerId: number) => Promise<void> | null;
  /** The database as the server's own work (local jobs, catch-ups) uses it: under the server's settings. */
  serverDatabase?: LocalDatabase;
}

export class SessionQueue {
  private jobs: Job[] = [];
  /** Jobs started and not finished: one, or several messages of one extended query (see pipeline). */
  private running = 0;
  /** The connection whose last started message leaves its extended query open until Sync. */
  private openSequence: number | null = null;
  private pipelining = false;
  private transactionOwner: number | null = null;
  /** The connection whose message is running (several of one extended query may be); null for local work. */
  private runningHandler: number | null = null;
  /**
   * Connections that went away while a message of theirs was running: whatever it leaves open (a
   * transaction, an extended query without its Sync) is ended when it finishes. Left as it was, the
   * dead connection owned the session and every other client, webhook append and refresh waited
   * for it forever (its idle timeout finds no connection to end).
   */
  private readonly departed = new Set<number>();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The last job started was background work: a foreground job waiting goes next. */
  private lastWasBackground = false;
  private catchUp: ((db: LocalDatabase, statement: string | null) => Promise<void>) | null = null;
  private readonly serverDb: LocalDatabase;

  constructor(
    private readonly db: LocalDatabase,
    private readonly options: SessionQueueOptions,
  ) {
    this.serverDb = options.serverDatabase ?? db;
  }

  /** Nothing running and nothing waiting: a job queued now starts at once. */
  get idle(): boolean {
    return this.running === 0 && this.jobs.length === 0;
  }

  /** Whether this wire connection has a transaction open in the database. */
  ownsTransaction(handlerId: number): boolean {
    return this.transactionOwner === handlerId;
  }

  /** Queues a wire protocol message (called by the pglite-socket handler). */
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new QueueClosedError('the local server is shutting down'));
      this.jobs.push({ kind: 'wire', handlerId, message, onData, resolve, reject });
      this.pump();
    });
  }

  /**
   * Runs before every client statement that starts outside a transaction, and before local jobs
   * that read like one: brings kept materialized views up to date after writes (maintained-views.ts),
   * so the statement reads their kept rows instead of computing them.
   */
  setCatchUp(catchUp: (db: LocalDatabase, statement: string | null) => Promise<void>): void {
    this.catchUp = catchUp;
  }

  /**
   * Runs `run` outside any wire transaction, or fails with QueueBusyError after maxWaitMs.
   * `reads`: the SQL it runs, which reads views as a client's would (kept views are caught up first).
   * `background`: after each background job, a job that is not waiting goes first if one waits, so a
   * crowd of them (200 SUBSCRIBEs opened at once) takes at most every other turn from appends.
   */
  runLocal<T>(run: (db: LocalDatabase) => Promise<T>, maxWaitMs: number, options: { reads?: string; background?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new QueueClosedError('the local server is shutting down'));
      const job: LocalJob = {
        kind: 'local',
        run,
        reads: options.reads ?? null,
        background: options.background ?? false,
        resolve: resolve as (value: unknown) => void,
        reject,
        expiry: null,
      };
      job.expiry = setTimeout(() => this.expire(job, maxWaitMs), maxWaitMs);
      job.expiry.unref();
      this.jobs.push(job);
      this.pump();
    });
  }

  /** Whether a message of this connection waits in the queue (not yet handed to the database). */
  hasQueued(handlerId: number): boolean {
    return this.jobs.some((job) => job.kind === 'wire' && job.handlerId === handlerId);
  }

  clearQueueForHandler(handlerId: number): void {
    this.jobs = this.jobs.filter((job) => {
      if (job.kind === 'wire' && job.handlerId === handlerId) {
        job.reject(new Error('connection closed'));
        return false;
      }
      return true;
    });
  }

  /** A connection went away: roll back the transaction it left open, if any. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.running > 0 && this.runningHandler === handlerId) {
      // Its message is still running (its connection's close stops a statement): ended after it.
      this.departed.add(handlerId);
      return;
    }
    if (this.transactionOwner === handlerId) await this.endSessionOf(handlerId);
  }

  /** Rejects everything queued and accepts nothing more; waits for the running job. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs) {
      if (job.kind === 'local' && job.expiry) clearTimeout(job.expiry);
      job.reject(new QueueClosedError('the local server is shutting down'));
    }
    this.jobs = [];
    this.clearIdleTimer();
    while (this.running) await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.transactionOwner !== null) await this.db.exec('ROLLBACK').catch(() => {});
  }

  private nextJob(): Job | undefined {
    if (this.transactionOwner === null) {
      if (this.lastWasBackground) {
        const index = this.jobs.findIndex((job) => !(job.kind === 'local' && job.background));
        if (index !== -1) return this.jobs.splice(index, 1)[0];
      }
      return this.jobs.shift();
    }
    const index = this.jobs.findIndex((job) => job.kind === 'wire' && job.handlerId === this.transactionOwner);
    if (index === -1) return undefined;
    return this.jobs.splice(index, 1)[0];
  }

  private pump(): void {
    if (this.running > 0) return this.pipeline();
    const job = this.nextJob();
    if (!job) {
      this.armTimers();
      return;
    }
    this.clearIdleTimer();
    this.start(job, false);
  }

  private start(job: Job, pipelined: boolean): void {
    this.lastWasBackground = job.kind === 'local' && job.background;
    this.runningHandler = job.kind === 'wire' ? job.handlerId : null;
    this.running++;
    void this.runJob(job, pipelined).finally(() => {
      this.running--;
      if (this.running === 0) this.afterRunning();
    });
  }

  /** Nothing runs: the next job starts, once a departed connection's leftovers are ended. */
  private afterRunning(): void {
    const owner = this.transactionOwner;
    const ownerDeparted = owner !== null && this.departed.has(owner);
    // Every connection noted here had its messages running until now, and none of it is queued.
    this.departed.clear();
    if (ownerDeparted) void this.endSessionOf(owner);
    else this.pump();
  }

  /**
   * Ends what a connection that went away left open, as PostgreSQL does when a client disconnects:
   * its transaction is rolled back, never committed. ROLLBACK ends an explicit transaction and the
   * implicit one of an extended query cut off before its Sync; after an error inside such a query
   * PostgreSQL ignores everything until a Sync, so one follows (ending what the error left), and a
   * second ROLLBACK ends an explicit transaction that Sync left failed.
   */
  private async endSessionOf(handlerId: number): Promise<void> {
    this.clearIdleTimer();
    // Counted as running: nothing else starts until the session is free.
    this.running++;
    try {
      await this.db.exec('ROLLBACK').catch(() => {});
      await this.db.execProtocolRawStream(SYNC_MESSAGE, { onRawData: () => {} }).catch(() => {});
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => {});
    } finally {
      this.running--;
      if (this.transactionOwner === handlerId) this.transactionOwner = null;
      this.openSequence = null;
      this.pump();
    }
  }

  /**
   * Starts the next messages of the extended query in flight (Bind, Describe, Execute, Sync after
   * a Parse…) without waiting for the answer to the one before: the database answers them in
   * order, and until its Sync nobody else's message could run anyway. With the database on a
   * thread of its own, each wait would cost a round trip.
   */
  private pipeline(): void {
    if (this.pipelining) return;
    this.pipelining = true;
    try {
      while (this.openSequence !== null) {
        const index = this.jobs.findIndex((job) => job.kind === 'wire' && job.handlerId === this.openSequence);
        if (index === -1) return;
        this.start(this.jobs.splice(index, 1)[0]!, true);
      }
    } finally {
      this.pipelining = false;
    }
  }

  private async runJob(job: Job, pipelined: boolean): Promise<void> {
    if (job.kind === 'local') {
      if (job.expiry) clearTimeout(job.expiry);
      this.openSequence = null;
      try {
        if (job.reads !== null) await this.catchUp?.(this.serverDb, job.reads);
        job.resolve(await job.run(this.serverDb));
      } catch (error) {
        job.reject(error);
      }
      return;
    }
    try {
      // A statement starting outside a transaction (inside one, it reads what the transaction sees;
      // a pipelined message is inside an extended query whose Parse or Bind caught up already).
      if (!pipelined && this.transactionOwner === null && startsStatement(job.message)) await this.catchUp?.(this.serverDb, statementText(job.message));
      const entering = pipelined ? null : (this.options.enter?.(job.handlerId) ?? null);
      if (entering) await entering;
      const executing = this.options.execute(job.handlerId, job.message, job.onData);
      // Handed to the database: the connection's next message may follow it at once. Its sender
      // (pglite-socket reads a connection's next message once the last is settled) is told so now;
      // the answer still reaches it through onData, in order. A failure past this point is the
      // database's own (SQL errors are answers), and fails the Sync that ends the query too.
      this.openSequence = EXTENDED_QUERY_MESSAGES.has(job.message[0]!) ? job.handlerId : null;
      if (this.openSequence !== null) job.resolve(0);
      this.pipeline();
      job.resolve(await executing);
    } catch (error) {
      job.reject(error);
    } finally {
      // Between an extended-protocol message and its Sync the connection owns the session too:
      // another user's statements there would clobber its unnamed statement and portal.
      const midExtendedQuery = EXTENDED_QUERY_MESSAGES.has(job.message[0]!);
      this.transactionOwner = this.db.isInTransaction() || midExtendedQuery ? job.handlerId : null;
    }
  }

  /** A local job still queued at its deadline fails with why it waited (the caller answers 503). */
  private expire(job: LocalJob, waitedMs: number): void {
    const index = this.jobs.indexOf(job);
    if (index === -1) return;
    this.jobs.splice(index, 1);
    const holder = this.transactionOwner !== null ? 'a SQL session holds a transaction open' : this.running > 0 ? 'a statement is still running' : 'the queue is full';
    job.reject(new QueueBusyError(`${holder} on the local server (waited ${(waitedMs / 1000).toFixed(1)} s)`));
  }

  private armTimers(): void {
    if (this.transactionOwner === null || this.closed) return;
    const owner = this.transactionOwner;
    if (!this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.transactionOwner === owner) this.options.onIdleInTransaction(owner);
      }, this.options.idleInTransactionTimeoutMs);
      this.idleTimer.unref();
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

const SYNC_MESSAGE = frame('S', []);
const QUERY = 'Q'.charCodeAt(0);
const PARSE = 'P'.charCodeAt(0);
const BIND = 'B'.charCodeAt(0);

/** A simple query, a Parse, or a Bind of a statement prepared earlier (Sync, Close, … run nothing). */
function startsStatement(message: Uint8Array): boolean {
  return message[0] === QUERY || message[0] === PARSE || message[0] === BIND;
}

/** The SQL of a simple query or of a Parse message; null for a Bind (its statement's text is not at hand). */
function statementText(message: Uint8Array): string | null {
  try {
    if (message[0] === QUERY) return readCString(message, 5).value;
    if (message[0] === PARSE) return readCString(message, readCString(message, 5).next).value;
  } catch {
    // A malformed message: the statement's own handling reports it.
  }
  return null;
}
