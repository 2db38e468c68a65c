/**
 * The activation checkpoint, kept in the target itself (schema `segment_materialize_activations`,
 * beside the deploy state's `segment_materialize`), so a worker on any machine resumes where the
 * last one stopped.
 *
 * What is stored is what each receiver was sent: per activation, per key, the last row delivered
 * (a log of changes, each change's newest row being the state). Resuming diffs a fresh SUBSCRIBE
 * snapshot against it — Materialize keeps no history to `SUBSCRIBE … AS OF` an old checkpoint
 * (only about a second unless RETAIN HISTORY is set) and the local server none at all, while a
 * stored snapshot works on both, after any downtime, and across a blue/green swap.
 *
 * A batch is written here before it is sent (its changes, under a new generation) and committed
 * after (a row in `commits`). A generation without a commit is a batch that may have been partly
 * delivered: the next worker sends it again first, with the same message ids, before anything
 * else. Everything is plain INSERTs (and DELETEs outside transactions when compacting), which
 * Materialize and the local server both allow.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { processIdentity } from '../shared/process-identity.ts';
import type { Change, DeliveredState, Row } from './changes.ts';

export const ACTIVATION_SCHEMA = 'segment_materialize_activations';
const CHANGES = `"${ACTIVATION_SCHEMA}"."changes"`;
const COMMITS = `"${ACTIVATION_SCHEMA}"."commits"`;
const FAILURES = `"${ACTIVATION_SCHEMA}"."failures"`;
const LEASES = `"${ACTIVATION_SCHEMA}"."leases"`;
const STATUS = `"${ACTIVATION_SCHEMA}"."status"`;
const TOTALS = `"${ACTIVATION_SCHEMA}"."totals"`;

/** The statements that create the schema and tables (all idempotent). */
export const CHECKPOINT_DDL = [
  `CREATE SCHEMA IF NOT EXISTS "${ACTIVATION_SCHEMA}"`,
  `CREATE TABLE IF NOT EXISTS ${CHANGES} (
  activation text NOT NULL,
  generation bigint NOT NULL,
  key_text text NOT NULL,
  op text NOT NULL,
  row_json text NOT NULL,
  row_hash text NOT NULL,
  mz_timestamp text NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS ${COMMITS} (
  activation text NOT NULL,
  generation bigint NOT NULL,
  mz_timestamp text NOT NULL,
  base boolean NOT NULL,
  changes integer NOT NULL,
  failed integer NOT NULL,
  committed_at timestamptz NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS ${FAILURES} (
  activation text NOT NULL,
  generation bigint NOT NULL,
  mz_timestamp text NOT NULL,
  key_text text NOT NULL,
  message_id text NOT NULL,
  status integer,
  reason text NOT NULL,
  failed_at timestamptz NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS ${LEASES} (
  activation text NOT NULL,
  token text NOT NULL,
  holder text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  process_start text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
)`,
  // What the worker is doing (following, retrying, stopped), written when that changes (never per
  // batch): for the console and --list. One row per activation.
  `CREATE TABLE IF NOT EXISTS ${STATUS} (
  activation text NOT NULL,
  state text NOT NULL,
  detail text NOT NULL,
  destination text NOT NULL,
  holder text NOT NULL,
  updated_at timestamptz NOT NULL
)`,
  // The counts of commits compaction deleted, so "sent" stays a total.
  `CREATE TABLE IF NOT EXISTS ${TOTALS} (
  activation text NOT NULL,
  batches bigint NOT NULL,
  changes bigint NOT NULL,
  failed bigint NOT NULL
)`,
];

/** The tables CHECKPOINT_DDL creates. */
export const CHECKPOINT_TABLES = ['changes', 'commits', 'failures', 'leases', 'status', 'totals'] as const;

export interface PendingBatch {
  readonly generation: bigint;
  readonly mzTimestamp: string;
  readonly changes: Change[];
}

export interface LoadedCheckpoint {
  readonly delivered: DeliveredState;
  /** Batches written but not committed (at most one in practice), oldest first. */
  readonly pending: PendingBatch[];
  /** The timestamp of the last committed batch, if any. */
  readonly lastTimestamp: string | null;
}

export interface DeliveryFailure {
  readonly keyText: string;
  readonly messageId: string;
  readonly status: number | null;
  readonly reason: string;
}

export interface LeaseHolder {
  readonly holder: string;
  readonly expiresAt: string;
}

export class LeaseLostError extends Error {
  constructor(activation: string) {
    super(`activation ${activation}: the lease was lost (another worker took it after it expired); stopping this follower`);
  }
}

const INSERT_CHUNK = 500;

export class CheckpointStore {
  private nextGeneration = 1n;
  private token: string | null = null;
  private renewal: NodeJS.Timeout | undefined;
  private leaseLost = false;
  private logRows = 0;

  constructor(
    private readonly client: pg.Client,
    readonly activation: string,
    private readonly leaseTtlMs = 30_000,
  ) {}

  /**
   * Creates the schema and tables unless they are all there. A (re)start then only reads: each
   * `CREATE … IF NOT EXISTS` is DDL even when it creates nothing, and on the local server every DDL
   * statement moves the catalog — kept views are planned again and subscriptions' plans looked up
   * again — which cost ingest six times at every start and reconnect of every activation.
   */
  static async ensureSchema(client: Pick<pg.Client, 'query'>): Promise<void> {
    try {
      const found = await client.query<{ tables: string }>(
        `SELECT count(*)::text AS tables FROM mz_catalog.mz_tables t
           JOIN mz_catalog.mz_schemas s ON s.id = t.schema_id
           JOIN mz_catalog.mz_databases d ON d.id = s.database_id
          WHERE d.name = current_database() AND s.name = $1 AND t.name IN (${CHECKPOINT_TABLES.map((name) => `'${name}'`).join(', ')})`,
        [ACTIVATION_SCHEMA],
      );
      if (Number(found.rows[0]?.tables) === CHECKPOINT_TABLES.length) return;
    } catch {
      // A catalog that cannot answer: the idempotent DDL below decides.
    }
    for (const statement of CHECKPOINT_DDL) await client.query(statement);
  }

  static readonly holderName = `${os.hostname()} pid ${process.pid}`;

  /**
   * Takes this activation's lease, or returns who holds it (the caller waits and tries again). A
   * holder on this machine whose process is gone is taken over at once; elsewhere a lease expires
   * `leaseTtlMs` after its holder stopped renewing it.
   */
  async tryLease(): Promise<LeaseHolder | null> {
    const token = randomUUID();
    await this.client.query(`DELETE FROM ${LEASES} WHERE activation = $1 AND expires_at < now()`, [this.activation]);
    await this.client.query(
      `INSERT INTO ${LEASES} (activation, token, holder, host, pid, process_start, acquired_at, expires_at)
       SELECT $1::text, $2::text, $3::text, $4::text, $5::integer, $6::text, now(), now() + $7::interval
        WHERE NOT EXISTS (SELECT 1 FROM ${LEASES} WHERE activation = $1::text AND expires_at >= now())`,
      [this.activation, token, CheckpointStore.holderName, os.hostname(), process.pid, processIdentity(process.pid) ?? '', `${this.leaseTtlMs} milliseconds`],
    );
    const rows = await this.client.query<{ token: string; holder: string; host: string; pid: number; process_start: string; expires_at: string }>(
      `SELECT token, holder, host, pid, process_start, expires_at::text AS expires_at FROM ${LEASES} WHERE activation = $1`,
      [this.activation],
    );
    if (rows.rows.some((row) => row.token === token)) {
      this.token = token;
      this.leaseLost = false;
      this.renewal = setInterval(() => void this.renew(), this.leaseTtlMs / 3);
      this.renewal.unref();
      return null;
    }
    const other = rows.rows[0];
    if (other && other.host === os.hostname() && other.process_start !== '' && processIdentity(other.pid) !== other.process_start) {
      await this.client.query(`DELETE FROM ${LEASES} WHERE token = $1`, [other.token]);
      return this.tryLease();
    }
    return other ? { holder: other.holder, expiresAt: other.expires_at } : { holder: 'a worker that just stopped', expiresAt: 'now' };
  }

  private async renew(): Promise<void> {
    if (!this.token) return;
    try {
      const result = await this.client.query(`UPDATE ${LEASES} SET expires_at = now() + $2::interval WHERE token = $1`, [this.token, `${this.leaseTtlMs} milliseconds`]);
      if (result.rowCount === 0) this.leaseLost = true;
    } catch {
      // A failed renewal is retried at the next tick; a lost connection ends the follower anyway.
    }
  }

  /** Throws when the lease is known to be lost: nothing more may be sent. */
  assertLease(): void {
    if (this.leaseLost || !this.token) throw new LeaseLostError(this.activation);
  }

  async releaseLease(): Promise<void> {
    clearInterval(this.renewal);
    this.renewal = undefined;
    const token = this.token;
    this.token = null;
    if (token) await this.client.query(`DELETE FROM ${LEASES} WHERE token = $1`, [token]).catch(() => {});
  }

  /** The delivered state, and any batch written but not committed. */
  async load(keyColumns: readonly string[]): Promise<LoadedCheckpoint> {
    const marks = await this.client.query<{ base: string | null; committed: string | null; written: string | null; last_ts: string | null }>(
      `SELECT (SELECT max(generation)::text FROM ${COMMITS} WHERE activation = $1 AND base) AS base,
              (SELECT max(generation)::text FROM ${COMMITS} WHERE activation = $1) AS committed,
              (SELECT max(generation)::text FROM ${CHANGES} WHERE activation = $1) AS written,
              (SELECT mz_timestamp FROM ${COMMITS} WHERE activation = $1 ORDER BY generation DESC LIMIT 1) AS last_ts`,
      [this.activation],
    );
    const mark = marks.rows[0]!;
    const base = BigInt(mark.base ?? '0');
    const committed = BigInt(mark.committed ?? '0');
    const written = BigInt(mark.written ?? '0');
    this.nextGeneration = (committed > written ? committed : written) + 1n;
    const state = await this.client.query<{ key_text: string; op: string; row_json: string; row_hash: string }>(
      `SELECT DISTINCT ON (key_text) key_text, op, row_json, row_hash
         FROM ${CHANGES}
        WHERE activation = $1 AND generation >= $2::bigint
          AND generation IN (SELECT generation FROM ${COMMITS} WHERE activation = $1)
        ORDER BY key_text, ${CHANGES}.generation DESC`,
      [this.activation, base.toString()],
    );
    const delivered: DeliveredState = new Map();
    for (const row of state.rows) {
      if (row.op === 'delete') continue;
      delivered.set(row.key_text, { hash: row.row_hash, row: JSON.parse(row.row_json) as Row });
    }
    const counted = await this.client.query<{ rows: string }>(`SELECT count(*)::text AS rows FROM ${CHANGES} WHERE activation = $1`, [this.activation]);
    this.logRows = Number(counted.rows[0]?.rows ?? 0);
    const pendingRows = await this.client.query<{ generation: string; key_text: string; op: string; row_json: string; row_hash: string; mz_timestamp: string }>(
      `SELECT generation::text AS generation, key_text, op, row_json, row_hash, mz_timestamp
         FROM ${CHANGES}
        WHERE activation = $1 AND op <> 'base'
          AND generation NOT IN (SELECT generation FROM ${COMMITS} WHERE activation = $1)
        ORDER BY ${CHANGES}.generation, key_text`,
      [this.activation],
    );
    const pending = new Map<string, PendingBatch>();
    for (const row of pendingRows.rows) {
      let batch = pending.get(row.generation);
      if (!batch) pending.set(row.generation, (batch = { generation: BigInt(row.generation), mzTimestamp: row.mz_timestamp, changes: [] }));
      const rowValue = JSON.parse(row.row_json) as Row;
      const keyValues = JSON.parse(row.key_text) as unknown[];
      const key = Object.fromEntries(keyColumns.map((column, index) => [column, keyValues[index] ?? null]));
      batch.changes.push({ op: row.op as Change['op'], keyText: row.key_text, key, row: rowValue, rowHash: row.row_hash, mzTimestamp: row.mz_timestamp });
    }
    return { delivered, pending: [...pending.values()], lastTimestamp: mark.last_ts };
  }

  /** Writes a batch before it is sent; returns its generation. */
  async writeIntent(changes: readonly Change[]): Promise<bigint> {
    this.assertLease();
    const generation = this.nextGeneration++;
    await this.insertChanges(generation, changes.map((change) => [change.keyText, change.op, JSON.stringify(change.row), change.rowHash, change.mzTimestamp]));
    return generation;
  }

  private async insertChanges(generation: bigint, rows: ReadonlyArray<readonly [string, string, string, string, string]>): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const values: unknown[] = [this.activation, generation.toString()];
      const tuples = chunk.map((row) => {
        const at = values.length;
        values.push(...row);
        return `($1, $2::bigint, $${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5})`;
      });
      await this.client.query(`INSERT INTO ${CHANGES} (activation, generation, key_text, op, row_json, row_hash, mz_timestamp) VALUES ${tuples.join(', ')}`, values);
    }
    this.logRows += rows.length;
  }

  /**
   * Records a batch as delivered (failures included: they were reported, and are not retried).
   * Fenced by the lease: a worker whose lease was taken over cannot commit.
   */
  async commit(generation: bigint, mzTimestamp: string, changes: number, failures: readonly DeliveryFailure[], options: { base?: boolean } = {}): Promise<void> {
    this.assertLease();
    for (let start = 0; start < failures.length; start += INSERT_CHUNK) {
      const chunk = failures.slice(start, start + INSERT_CHUNK);
      const values: unknown[] = [this.activation, generation.toString(), mzTimestamp];
      const tuples = chunk.map((failure) => {
        const at = values.length;
        values.push(failure.keyText, failure.messageId, failure.status, failure.reason.slice(0, 2000));
        return `($1, $2::bigint, $3, $${at + 1}, $${at + 2}, $${at + 3}::integer, $${at + 4}, now())`;
      });
      await this.client.query(`INSERT INTO ${FAILURES} (activation, generation, mz_timestamp, key_text, message_id, status, reason, failed_at) VALUES ${tuples.join(', ')}`, values);
    }
    const result = await this.client.query(
      `INSERT INTO ${COMMITS} (activation, generation, mz_timestamp, base, changes, failed, committed_at)
       SELECT $1::text, $2::bigint, $3::text, $4::boolean, $5::integer, $6::integer, now()
        WHERE EXISTS (SELECT 1 FROM ${LEASES} WHERE activation = $1::text AND token = $7::text)`,
      [this.activation, generation.toString(), mzTimestamp, options.base ?? false, changes, failures.length, this.token],
    );
    if (result.rowCount === 0) {
      this.leaseLost = true;
      throw new LeaseLostError(this.activation);
    }
  }

  /**
   * Keeps the log small: once it holds more than twice the live rows (and at least `minRows`),
   * the state is written whole as a base generation and everything older is deleted.
   */
  async compactIfLarge(delivered: DeliveredState, mzTimestamp: string, minRows = 5_000): Promise<boolean> {
    if (this.logRows < Math.max(minRows, delivered.size * 2)) return false;
    this.assertLease();
    const generation = this.nextGeneration++;
    const rows = [...delivered].map(([keyText, entry]) => [keyText, 'base', JSON.stringify(entry.row), entry.hash, mzTimestamp] as const);
    this.logRows = 0;
    await this.insertChanges(generation, rows);
    await this.commit(generation, mzTimestamp, rows.length, [], { base: true });
    await this.client.query(`DELETE FROM ${CHANGES} WHERE activation = $1 AND generation < $2::bigint`, [this.activation, generation.toString()]);
    // (A kill between this INSERT and the DELETE counts those batches twice in the totals: a
    // statistic, never what is sent.)
    await this.client.query(
      `INSERT INTO ${TOTALS} (activation, batches, changes, failed)
       SELECT $1::text, count(*), coalesce(sum(changes), 0), coalesce(sum(failed), 0) FROM ${COMMITS} WHERE activation = $1::text AND NOT base AND generation < $2::bigint`,
      [this.activation, generation.toString()],
    );
    await this.client.query(`DELETE FROM ${COMMITS} WHERE activation = $1 AND generation < $2::bigint`, [this.activation, generation.toString()]);
    this.logRows = rows.length;
    return true;
  }

  /** What the worker is doing now (one row per activation, replaced): never per batch, only when it changes. */
  async writeStatus(state: WorkerState, detail: string, destination: string): Promise<void> {
    await this.client.query(`DELETE FROM ${STATUS} WHERE activation = $1`, [this.activation]);
    await this.client.query(`INSERT INTO ${STATUS} (activation, state, detail, destination, holder, updated_at) VALUES ($1, $2, $3, $4, $5, now())`, [
      this.activation,
      state,
      detail.slice(0, 2000),
      destination,
      CheckpointStore.holderName,
    ]);
  }
}

/** following: delivering as changes come; retrying: a batch waits for the receiver; stopped: a configuration error; error: retried after a failure. */
export type WorkerState = 'following' | 'retrying' | 'stopped' | 'error';

/** Per activation: what the checkpoint says (for `npm run activate -- --status` and the console). */
export interface CheckpointSummary {
  readonly activation: string;
  readonly batches: number;
  readonly changes: number;
  readonly failed: number;
  readonly lastTimestamp: string | null;
  readonly lastCommittedAt: string | null;
  readonly holder: string | null;
}

export async function readCheckpointSummaries(client: pg.Client): Promise<CheckpointSummary[]> {
  const exists = await client.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM mz_catalog.mz_tables t JOIN mz_catalog.mz_schemas s ON s.id = t.schema_id WHERE s.name = $1 AND t.name = 'commits') AS found`,
    [ACTIVATION_SCHEMA],
  );
  if (!exists.rows[0]?.found) return [];
  const rows = await client.query<{ activation: string; batches: string; changes: string; failed: string; last_ts: string | null; last_at: string | null; holder: string | null }>(
    `SELECT c.activation,
            count(*) FILTER (WHERE NOT c.base)::text AS batches,
            coalesce(sum(c.changes) FILTER (WHERE NOT c.base), 0)::text AS changes,
            coalesce(sum(c.failed), 0)::text AS failed,
            max(c.mz_timestamp) AS last_ts,
            max(c.committed_at)::text AS last_at,
            (SELECT min(l.holder) FROM ${LEASES} l WHERE l.activation = c.activation AND l.expires_at >= now()) AS holder
       FROM ${COMMITS} c
      GROUP BY c.activation
      ORDER BY c.activation`,
  );
  return rows.rows.map((row) => ({
    activation: row.activation,
    batches: Number(row.batches),
    changes: Number(row.changes),
    failed: Number(row.failed),
    lastTimestamp: row.last_ts,
    lastCommittedAt: row.last_at,
    holder: row.holder,
  }));
}
