/**
 * A history of Segment events written straight into a webhook source's table, for benches whose
 * subject is what happens on top of a large history (kept views right after a batch, reads), not
 * how the history arrived. Loading 1,000,000 events through the webhook took ~10 minutes here
 * (signing, HTTP, and the kept views' refreshes between bursts); written by INSERT … SELECT inside
 * the database it takes well under a minute, and the kept views then hydrate from it as they do
 * after a deploy over existing data.
 *
 * The events are functions/samples/traffic.ts's (the bench's webhook traffic): a pool of up to
 * POOL_SIZE of them, its retried deliveries included and its delete requests left out, written
 * `count / pool` times over — each time with the messageIds suffixed by the round (`…-r3`; a
 * retried delivery stays the same messageId as its original within a round) and the seconds and
 * milliseconds of the times redrawn within their minute, so that a day, a minute and a person keep
 * the share of events the sample gives them. Then the sample's five delete requests (the newest
 * events). Each row's headers are those a signed delivery through the webhook stored.
 */
import type { LocalServer } from '../scripts/local/local-server.ts';
import { sampleTraffic } from '../functions/samples/traffic.ts';

export interface HistoryOptions {
  /** Seed of the sample traffic (default 23). */
  readonly seed?: number;
  /** How many days back the first events are (default 7). */
  readonly days?: number;
  /** Distinguishes messageIds from other traffic (default 'history'). */
  readonly runId?: string;
}

export interface LoadedHistory {
  /** Rows written (retried deliveries counted as delivered). */
  readonly rows: number;
  /** Distinct events in the pool, and how many times it was written. */
  readonly pool: number;
  readonly rounds: number;
  readonly ms: number;
}

/** Events of the sample written each round: the pool (the sample's user count is reached from 4,800 events on). */
export const POOL_SIZE = 50_000;

const MESSAGE = '@@message@@';
const TIMESTAMP = '@@timestamp@@';
const SENT = '@@sent@@';

/** Each pool event as JSON text with its messageId and times left as markers, and what fills them. */
function poolRows(count: number, options: HistoryOptions): Array<{ message_id: string; n: number; minute: string; sent_offset: number; template: string }> {
  // A minute back: a time redrawn within its minute stays in the past.
  const events = sampleTraffic(count, { seed: options.seed ?? 23, days: options.days ?? 7, runId: options.runId ?? 'history', now: new Date(Date.now() - 60_000) });
  return events
    .filter((event) => event.type !== 'delete')
    .map((event, n) => {
      const at = Date.parse(String(event.timestamp));
      const sent = Date.parse(String(event.sentAt));
      const template = JSON.stringify({ ...event, messageId: MESSAGE, timestamp: TIMESTAMP, originalTimestamp: TIMESTAMP, sentAt: SENT, receivedAt: SENT });
      // n: the same for a retried delivery and its original (their times are redrawn alike).
      return { message_id: String(event.messageId), n: Number(String(event.messageId).replace(/^.*-/, '')) || n, minute: new Date(at).toISOString().slice(0, 17), sent_offset: Math.min(sent - at, 390), template };
    });
}

/**
 * Writes `count` events of history into the webhook source `schema.source` of the server (after
 * one signed delivery through its webhook: its stored headers are every row's). Tells the kept
 * views, which catch up as after any write.
 */
export async function loadHistory(server: LocalServer, schema: string, source: string, count: number, options: HistoryOptions = {}): Promise<LoadedHistory> {
  const started = performance.now();
  const table = `${quoteName(schema)}.${quoteName(source)}`;
  const headers = await server.db.query<{ headers: string | null }>(`SELECT headers::text AS headers FROM ${table} WHERE headers IS NOT NULL LIMIT 1`);
  if (!headers.rows[0]) throw new Error(`${schema}.${source} holds no delivery to take headers from: send one through its webhook first`);
  const deletes = Math.min(5, Math.floor(count / 400));
  const poolSize = Math.min(count, POOL_SIZE);
  const rounds = Math.max(1, Math.round((count - deletes) / poolSize));
  const pool = poolRows(poolSize, options);
  await server.db.query(`CREATE TEMP TABLE bench_history_pool (message_id text, n bigint, minute text, sent_offset int, template text)`);
  try {
    for (let index = 0; index < pool.length; index += 5_000) {
      await server.db.query(`INSERT INTO bench_history_pool SELECT * FROM json_populate_recordset(NULL::bench_history_pool, $1::json)`, [JSON.stringify(pool.slice(index, index + 5_000))]);
    }
    // Round r: each time's seconds and milliseconds redrawn within its minute (room left for its
    // sentAt, 150–390 ms later); the body written as text and parsed once (cheaper than jsonb_set).
    const stamp = (ms: string) => `p.minute || lpad((${ms} / 1000)::text, 2, '0') || '.' || lpad((${ms} % 1000)::text, 3, '0') || 'Z'`;
    const written = await server.db.query(
      `INSERT INTO ${table} (body, headers)
       SELECT replace(replace(replace(p.template, '${MESSAGE}', p.message_id || '-r' || r), '${TIMESTAMP}', ${stamp('x.ms')}), '${SENT}', ${stamp('(x.ms + p.sent_offset)')})::jsonb, $2::hstore
         FROM generate_series(0, $1::int - 1) AS r, bench_history_pool p,
         LATERAL (SELECT ((p.n * 7919 + r * 104729) % 59600)::int AS ms) AS x`,
      [rounds, headers.rows[0].headers],
    );
    let rows = written.affectedRows ?? 0;
    if (deletes > 0) {
      // The sample's delete requests: people who are in it (low numbers are the most active), the newest events.
      const people = Math.min(800, Math.max(20, Math.round(poolSize / 6)));
      const deleted = await server.db.query(
        `INSERT INTO ${table} (body, headers)
         SELECT jsonb_build_object('type', 'delete', 'messageId', $1::text || '-delete-' || k, 'anonymousId', 'anon-' || ((u::bigint * 2654435761) % 4294967296),
                                   'userId', 'user_' || u, 'timestamp', at, 'originalTimestamp', at, 'sentAt', at, 'receivedAt', at,
                                   'writeKey', 'sample-write-key-not-forwarded', 'version', 2, 'integrations', '{}'::jsonb,
                                   'context', '{"library": {"name": "segment-gdpr", "version": "1.0.0"}}'::jsonb), $2::hstore
           FROM generate_series(0, $3::int - 1) AS k,
           LATERAL (SELECT (k * 157 + 11) % $4::int AS u, to_char(now() AT TIME ZONE 'UTC' - ($3::int - k) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at) AS d`,
        [options.runId ?? 'history', headers.rows[0].headers, deletes, people],
      );
      rows += deleted.affectedRows ?? 0;
    }
    server.maintainedViews.noteWrite();
    return { rows, pool: pool.length, rounds, ms: performance.now() - started };
  } finally {
    await server.db.query(`DROP TABLE IF EXISTS bench_history_pool`);
  }
}

const quoteName = (name: string) => `"${name.replace(/"/g, '""')}"`;
