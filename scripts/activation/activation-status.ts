/**
 * What the checkpoint says about each activation, in detail: for the console's Activations view
 * (and anyone with SQL: it is plain queries over schema segment_materialize_activations).
 *
 *   sent      changes delivered and accepted (committed batches, compacted ones included; refusals not)
 *   pending   changes written as a batch's intent and not committed: in flight, or waiting for a
 *             receiver that answers 429/5xx (then the status says `retrying`, with the reason)
 *   failed    changes refused for good (4xx), each with its key, message id and the answer
 *   status    what the worker holding the lease last said it was doing (following, retrying,
 *             stopped by a configuration error, error being retried), and when
 */
import type pg from 'pg';
import { ACTIVATION_SCHEMA, type WorkerState } from './checkpoint-store.ts';

export interface ActivationFailureRow {
  readonly keyText: string;
  readonly messageId: string;
  readonly status: number | null;
  readonly reason: string;
  readonly mzTimestamp: string;
  readonly failedAt: string;
}

export interface ActivationChangeRow {
  readonly keyText: string;
  readonly op: string;
  readonly mzTimestamp: string;
  readonly generation: string;
  readonly committed: boolean;
}

export interface ActivationStatusRow {
  readonly activation: string;
  readonly sent: number;
  readonly batches: number;
  readonly pending: number;
  readonly failed: number;
  readonly lastTimestamp: string | null;
  readonly lastCommittedAt: string | null;
  /** Who holds the lease now (null: no worker runs it). */
  readonly holder: string | null;
  readonly state: WorkerState | null;
  readonly detail: string | null;
  readonly destination: string | null;
  readonly stateSince: string | null;
  /** Newest first. */
  readonly failures: ActivationFailureRow[];
  /** The last changes written to the log, newest first (what was, or is being, sent). */
  readonly lastChanges: ActivationChangeRow[];
}

const table = (name: string) => `"${ACTIVATION_SCHEMA}"."${name}"`;

/** Every activation the checkpoint knows, by name (empty when no worker ever ran on this target). */
export async function readActivationStatus(client: pg.Client, options: { failures?: number; changes?: number } = {}): Promise<Map<string, ActivationStatusRow>> {
  const existing = new Set(
    (
      await client.query<{ name: string }>(
        `SELECT t.name FROM mz_catalog.mz_tables t JOIN mz_catalog.mz_schemas s ON s.id = t.schema_id WHERE s.name = $1`,
        [ACTIVATION_SCHEMA],
      )
    ).rows.map((row) => row.name),
  );
  const result = new Map<string, ActivationStatusRow>();
  if (!existing.has('commits') || !existing.has('changes')) return result;
  const totals = existing.has('totals')
    ? `(SELECT activation, sum(batches) AS batches, sum(changes) AS changes, sum(failed) AS failed FROM ${table('totals')} GROUP BY activation)`
    : `(SELECT NULL::text AS activation, 0::bigint AS batches, 0::bigint AS changes, 0::bigint AS failed WHERE false)`;
  const status = existing.has('status')
    ? `(SELECT activation, state, detail, destination, updated_at FROM ${table('status')})`
    : `(SELECT NULL::text AS activation, NULL::text AS state, NULL::text AS detail, NULL::text AS destination, NULL::timestamptz AS updated_at WHERE false)`;
  const rows = await client.query<{
    activation: string;
    batches: string;
    sent: string;
    failed: string;
    pending: string;
    last_ts: string | null;
    last_at: string | null;
    holder: string | null;
    state: WorkerState | null;
    detail: string | null;
    destination: string | null;
    since: string | null;
  }>(
    `WITH names AS (
       SELECT activation FROM ${table('commits')} UNION SELECT activation FROM ${table('changes')} UNION SELECT activation FROM ${status}
     ),
     committed AS (
       SELECT activation,
              count(*) FILTER (WHERE NOT base) AS batches,
              coalesce(sum(changes) FILTER (WHERE NOT base), 0) AS changes,
              coalesce(sum(failed), 0) AS failed,
              max(mz_timestamp) AS last_ts,
              max(committed_at) AS last_at
         FROM ${table('commits')} GROUP BY activation
     ),
     pending AS (
       SELECT c.activation, count(*) AS changes
         FROM ${table('changes')} c
        WHERE c.op <> 'base'
          AND NOT EXISTS (SELECT 1 FROM ${table('commits')} m WHERE m.activation = c.activation AND m.generation = c.generation)
        GROUP BY c.activation
     )
     SELECT n.activation,
            (coalesce(m.batches, 0) + coalesce(t.batches, 0))::text AS batches,
            (coalesce(m.changes, 0) + coalesce(t.changes, 0) - coalesce(m.failed, 0) - coalesce(t.failed, 0))::text AS sent,
            (coalesce(m.failed, 0) + coalesce(t.failed, 0))::text AS failed,
            coalesce(p.changes, 0)::text AS pending,
            m.last_ts,
            m.last_at::text AS last_at,
            (SELECT min(l.holder) FROM ${table('leases')} l WHERE l.activation = n.activation AND l.expires_at >= now()) AS holder,
            s.state, s.detail, s.destination, s.updated_at::text AS since
       FROM names n
       LEFT JOIN committed m ON m.activation = n.activation
       LEFT JOIN ${totals} t ON t.activation = n.activation
       LEFT JOIN pending p ON p.activation = n.activation
       LEFT JOIN ${status} s ON s.activation = n.activation
      ORDER BY n.activation`,
  );
  for (const row of rows.rows) {
    result.set(row.activation, {
      activation: row.activation,
      sent: Number(row.sent),
      batches: Number(row.batches),
      pending: Number(row.pending),
      failed: Number(row.failed),
      lastTimestamp: row.last_ts,
      lastCommittedAt: row.last_at,
      holder: row.holder,
      state: row.state,
      detail: row.detail,
      destination: row.destination,
      stateSince: row.since,
      failures: [],
      lastChanges: [],
    });
  }
  if (result.size === 0) return result;
  const failures = await client.query<{ activation: string; key_text: string; message_id: string; status: number | null; reason: string; mz_timestamp: string; failed_at: string }>(
    `SELECT activation, key_text, message_id, status, reason, mz_timestamp, failed_at::text AS failed_at FROM (
       SELECT f.*, row_number() OVER (PARTITION BY activation ORDER BY failed_at DESC, generation DESC, key_text) AS n FROM ${table('failures')} f
     ) ranked WHERE n <= $1 ORDER BY activation, failed_at DESC, key_text`,
    [options.failures ?? 20],
  );
  for (const row of failures.rows) {
    result.get(row.activation)?.failures.push({ keyText: row.key_text, messageId: row.message_id, status: row.status, reason: row.reason, mzTimestamp: row.mz_timestamp, failedAt: row.failed_at });
  }
  const changes = await client.query<{ activation: string; key_text: string; op: string; mz_timestamp: string; generation: string; committed: boolean }>(
    `SELECT activation, key_text, op, mz_timestamp, generation::text AS generation,
            EXISTS (SELECT 1 FROM ${table('commits')} m WHERE m.activation = ranked.activation AND m.generation = ranked.generation) AS committed
       FROM (SELECT c.*, row_number() OVER (PARTITION BY activation ORDER BY generation DESC, key_text) AS n FROM ${table('changes')} c WHERE c.op <> 'base') ranked
      WHERE n <= $1 ORDER BY activation, generation DESC, key_text`,
    [options.changes ?? 10],
  );
  for (const row of changes.rows) {
    result.get(row.activation)?.lastChanges.push({ keyText: row.key_text, op: row.op, mzTimestamp: row.mz_timestamp, generation: row.generation, committed: row.committed });
  }
  return result;
}
