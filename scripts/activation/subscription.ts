/**
 * Following a relation with `SUBSCRIBE … ENVELOPE UPSERT (KEY (…)) WITH (PROGRESS)`, read through
 * a cursor (`BEGIN; DECLARE c CURSOR FOR SUBSCRIBE …; FETCH ALL c WITH (timeout = …)`, as
 * Materialize's drivers guide does), and handed on one closed timestamp at a time.
 *
 * A timestamp is closed when a progress row (or a row) with a later timestamp arrives: from then
 * on no more rows of it can come, so its changes are complete and can be delivered and
 * checkpointed. The first closed timestamp is the snapshot (every row, at the subscription's
 * AS OF), which the worker diffs against what it delivered before.
 */
import pg from 'pg';
import { quoteIdentifier } from '../shared/sql-scan.ts';
import type { Row } from './changes.ts';

export interface Update {
  readonly state: 'upsert' | 'delete';
  readonly row: Row;
}

export interface ClosedTimestamp {
  readonly mzTimestamp: string;
  /** The first closed timestamp of a subscription: its snapshot (all current rows, as upserts). */
  readonly snapshot: boolean;
  readonly updates: Update[];
  /** key_violation rows: the declared key is not unique in the relation at this timestamp. */
  readonly keyViolations: Row[];
}

export interface SubscriptionTarget {
  readonly database: string;
  readonly schema: string;
  readonly relation: string;
  readonly cluster: string;
  readonly key: readonly string[];
  /** Only these columns (key first); all of the relation's when absent. */
  readonly columns?: readonly string[];
}

// Values as receivers want them in JSON: timestamps as ISO text (pg's Dates would shift a
// timestamp without time zone by the worker's zone), numerics as numbers where exact.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1114) return (value: string) => `${value.replace(' ', 'T')}`;
    if (oid === 1184) return (value: string) => new Date(value).toISOString();
    if (oid === 1082) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

const NUMERIC = 1700;
const INT8 = 20;

/** Converts a FETCHed row: relation columns only, numerics as numbers when that loses nothing. */
function relationRow(raw: Record<string, unknown>, fields: readonly pg.FieldDef[]): Row {
  const row: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.name === 'mz_timestamp' || field.name === 'mz_progressed' || field.name === 'mz_state') continue;
    const value = raw[field.name];
    row[field.name] = (field.dataTypeID === NUMERIC || field.dataTypeID === INT8) && typeof value === 'string' ? exactNumber(value) : value;
  }
  return row;
}

function exactNumber(text: string): number | string {
  const number = Number(text);
  if (!Number.isFinite(number)) return text;
  // Keep the text when the number would not print back the same value (huge or over-precise).
  return String(number) === text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') ? number : text;
}

export class Subscription {
  private readonly client: pg.Client;
  private buffered = new Map<string, { updates: Update[]; keyViolations: Row[] }>();
  private snapshotTimestamp: string | null = null;
  private snapshotSent = false;
  private closed = false;
  /** The relation's columns, known after the first FETCH. */
  columns: string[] | null = null;

  private constructor(
    config: pg.ClientConfig,
    private readonly target: SubscriptionTarget,
    private readonly fetchTimeout: string,
  ) {
    this.client = new pg.Client({ application_name: 'segment-materialize activate', ...config, types });
    // A connection error between queries must not crash the process: the next FETCH fails instead.
    this.client.on('error', () => {});
  }

  static async open(config: pg.ClientConfig, target: SubscriptionTarget, options: { fetchTimeout?: string } = {}): Promise<Subscription> {
    const subscription = new Subscription(config, target, options.fetchTimeout ?? '1s');
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  private async start(): Promise<void> {
    await this.client.connect();
    await this.client.query(`SET cluster = ${quoteIdentifier(this.target.cluster)}`);
    await this.client.query('BEGIN');
    const relation = `${quoteIdentifier(this.target.schema)}.${quoteIdentifier(this.target.relation)}`;
    const key = this.target.key.map(quoteIdentifier).join(', ');
    // A projection keeps rows that differ only in columns nobody receives from changing at all.
    const what = this.target.columns ? `(SELECT ${this.target.columns.map(quoteIdentifier).join(', ')} FROM ${relation})` : relation;
    await this.client.query(`DECLARE activation_cursor CURSOR FOR SUBSCRIBE TO ${what} ENVELOPE UPSERT (KEY (${key})) WITH (PROGRESS)`);
  }

  /**
   * Reads until at least one timestamp is closed (or the fetch timeout passes with nothing
   * closed: an empty list), returning the closed timestamps in order.
   */
  async next(): Promise<ClosedTimestamp[]> {
    const result = await this.client.query(`FETCH ALL activation_cursor WITH (timeout = '${this.fetchTimeout}')`);
    if (!this.columns) this.columns = result.fields.map((field) => field.name).filter((name) => !name.startsWith('mz_'));
    let frontier: string | null = null;
    for (const raw of result.rows as Array<Record<string, unknown>>) {
      const timestamp = String(raw.mz_timestamp);
      if (this.snapshotTimestamp === null) this.snapshotTimestamp = timestamp;
      if (raw.mz_progressed === true) {
        frontier = maxTimestamp(frontier, timestamp);
        continue;
      }
      // Rows come in timestamp order: a row at a later timestamp closes the earlier ones too.
      frontier = maxTimestamp(frontier, timestamp);
      let bucket = this.buffered.get(timestamp);
      if (!bucket) this.buffered.set(timestamp, (bucket = { updates: [], keyViolations: [] }));
      const row = relationRow(raw, result.fields);
      if (raw.mz_state === 'upsert' || raw.mz_state === 'delete') bucket.updates.push({ state: raw.mz_state, row });
      else bucket.keyViolations.push(row);
    }
    return frontier === null ? [] : this.closeBefore(frontier);
  }

  /** Hands out every buffered timestamp below `frontier` (and the snapshot, even when empty). */
  private closeBefore(frontier: string): ClosedTimestamp[] {
    const closed: ClosedTimestamp[] = [];
    if (!this.snapshotSent && this.snapshotTimestamp !== null && compareTimestamps(this.snapshotTimestamp, frontier) < 0) {
      this.snapshotSent = true;
      const bucket = this.buffered.get(this.snapshotTimestamp);
      this.buffered.delete(this.snapshotTimestamp);
      closed.push({ mzTimestamp: this.snapshotTimestamp, snapshot: true, updates: bucket?.updates ?? [], keyViolations: bucket?.keyViolations ?? [] });
    }
    if (!this.snapshotSent) return closed;
    const ready = [...this.buffered.keys()].filter((timestamp) => compareTimestamps(timestamp, frontier) < 0).sort(compareTimestamps);
    for (const timestamp of ready) {
      const bucket = this.buffered.get(timestamp)!;
      this.buffered.delete(timestamp);
      closed.push({ mzTimestamp: timestamp, snapshot: false, ...bucket });
    }
    return closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Ending the connection ends the subscription (no COMMIT needed; it might wait behind a FETCH).
    await this.client.end().catch(() => {});
  }
}

/** A data row at t closes only the timestamps before t, as a progress row at t does. */
function maxTimestamp(current: string | null, timestamp: string): string {
  if (current === null) return timestamp;
  return compareTimestamps(timestamp, current) > 0 ? timestamp : current;
}

export function compareTimestamps(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** The relation's columns, in order (none: the relation does not exist). */
export async function relationColumns(client: pg.Client, id: string): Promise<string[]> {
  const rows = await client.query<{ name: string }>(`SELECT name FROM mz_catalog.mz_columns WHERE id = $1 ORDER BY position`, [id]);
  return rows.rows.map((row) => row.name);
}

/** The relation's catalog id (changes when it is dropped and created again, or swapped). */
export async function relationId(client: pg.Client, schema: string, relation: string): Promise<string | null> {
  const rows = await client.query<{ id: string }>(
    `SELECT r.id FROM mz_catalog.mz_relations r JOIN mz_catalog.mz_schemas s ON s.id = r.schema_id
      WHERE s.name = $1 AND r.name = $2`,
    [schema, relation],
  );
  return rows.rows[0]?.id ?? null;
}
