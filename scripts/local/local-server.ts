/**
 * The local Materialize stand-in, embeddable in-process: PGlite behind a Postgres wire server and
 * Materialize's webhook HTTP API, sharing one transaction-aware session queue.
 *
 *   const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
 *   server.pgUrl; server.webhookUrl('segment_source', 'segment'); await server.stop();
 */
import { acquireLock, canonicalDataDir, type DataDirLock } from './data-dir-lock.ts';
import { isSharedBuffersSize, type LocalDatabase } from './engine/engine.ts';
import { LOCAL_DATABASE, LOCAL_USER } from './engine/database-identity.ts';
import { WorkerDatabase } from './engine/worker-database.ts';
import { HttpSqlApi } from './http/http-sql-api.ts';
import { WebSocketSqlApi } from './http/websocket-sql-api.ts';
import { MaintainedViews } from './views/maintained-views.ts';
import { WebhookServer } from './http/http-server.ts';
import { WebhookSourceCache } from './http/webhook/webhook-sources.ts';
import { RequestLog } from './http/request-log.ts';
import { WireServer } from './wire/wire-server.ts';
import { urlHost } from './reachable-host.ts';

export const DEFAULT_PG_PORT = 6875;
export const DEFAULT_HTTP_PORT = 6876;
export const DEFAULT_HOST = '127.0.0.1';

export interface LocalServerOptions {
  /** Persist here (locked against a second server). Ignored with `memory`. */
  dataDir?: string;
  memory?: boolean;
  host?: string;
  /** 0 picks a free port. */
  pgPort?: number;
  httpPort?: number;
  idleInTransactionTimeoutMs?: number;
  /** Webhook body limit, bytes (Materialize: 2 MB). */
  maxBodyBytes?: number;
  concurrencyLimit?: number;
  log?: (line: string) => void;
  /**
   * The database's thread ended without stop(): every statement and append fails from then on.
   * Default: said through `log`. The CLI stops the process.
   */
  onDatabaseLost?: (reason: Error) => void;
  /** Runs only for one command (a deploy's own server): others wait for it instead of using it. */
  ephemeral?: boolean;
  /**
   * How long a new materialized view or index reports itself as hydrating (mz_hydration_statuses,
   * mz_wallclock_global_lag); 0 by default (results here are computed when read). For testing tools
   * that wait for hydration, such as blue/green deploys.
   */
  hydrationDelayMs?: number;
  /**
   * Keep materialized views' results between writes (default true). false computes every one on
   * each read, as the local server once did: the baseline for benchmarks and equivalence tests.
   */
  keepMaterializedViews?: boolean;
  /** How long writes must pause before kept materialized views are refreshed (default 250 ms). */
  refreshQuietMs?: number;
  /** How long a webhook append may wait for the database before a 503 (default 5 s). */
  maxQueueWaitMs?: number;
  /** max_result_size for sessions that have not set it, in bytes (Materialize's default: 1 GiB). */
  maxResultBytes?: number;
  /**
   * The database's shared_buffers (engine.ts OpenDatabaseOptions): default the environment's
   * LOCAL_SERVER_SHARED_BUFFERS, else 128MB.
   */
  sharedBuffers?: string;
  /**
   * PGlite compiled already (engine/compiled-pglite.ts), for a process that starts many short-lived
   * servers, such as the test suite: each would otherwise compile the 9 MB module again. A
   * long-lived server compiles its own: its ingest measured less steady with a module compiled on
   * another thread (bench/session-cost.ts: 4.6–6.5k against 5.6–6.2k requests/s).
   */
  wasmModule?: WebAssembly.Module;
  /** How long one computation of a subscribed query may hold the database (default 10 s). */
  subscribedQueryTimeoutMs?: number;
  /**
   * Every wire connection shares PGlite's one session, as before each got its own
   * (connection-state.ts): only for measuring what sessions per connection cost (npm run bench).
   */
  sharedSession?: boolean;
  /**
   * A database opened already and lent to this server, which uses it instead of opening one and
   * gives it back on stop() instead of closing it (the test suite's pool, which resets a database
   * between servers: test/helpers/database-pool.ts). How the database is opened is the lender's:
   * dataDir, sharedBuffers, maxResultBytes and wasmModule are refused beside it, and the log lines
   * its thread says while it opens go to the lender.
   */
  database?: LentDatabase;
}

/** A database lent to one server at a time (LocalServerOptions.database). */
export interface LentDatabase {
  readonly db: LocalDatabase;
  /** Who hears, while this server holds the database, that its thread ended without close(). */
  onLost(listener: (reason: Error) => void): void;
  /** Takes the database back: called once by the server's stop(), or when its start fails. */
  giveBack(): Promise<void>;
}

export interface LocalServer {
  readonly db: LocalDatabase;
  readonly host: string;
  readonly pgPort: number;
  readonly httpPort: number;
  /** postgres://materialize@host:port/materialize */
  readonly pgUrl: string;
  /** http://host:port/api/webhook */
  readonly webhookBaseUrl: string;
  readonly dataDir: string | null;
  webhookUrl(source: string, schema?: string): string;
  /** The background refresh of materialized views (settled() waits for it). */
  readonly maintainedViews: MaintainedViews;
  readonly webhookStats: { accepted: number; rows: number; rejected: number; grouped: number };
  /** Every webhook request, with the reason of each rejection (the console's ingest view). */
  readonly requestLog: RequestLog;
  /** Calls `listener` after each write or catalog change (coalesce as needed); returns the unsubscribe. */
  onChange(listener: (what: 'write' | 'catalog') => void): () => void;
  stop(): Promise<void>;
}

/**
 * Shared buffers the environment asks for: every server a process starts, including the one a
 * deploy starts for an embedded target, so a machine short of memory (or a test run of many
 * short-lived servers: PGlite writes over all of them at start) sets it once.
 */
const SHARED_BUFFERS_VARIABLE = 'LOCAL_SERVER_SHARED_BUFFERS';

function sharedBuffersFromEnvironment(): string | undefined {
  const value = process.env[SHARED_BUFFERS_VARIABLE]?.trim();
  if (!value) return undefined;
  if (!isSharedBuffersSize(value)) throw new Error(`${SHARED_BUFFERS_VARIABLE}='${value}' is not a size such as 16MB or 1GB: set it to one, or unset it for the default 128MB`);
  return value;
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const host = options.host ?? DEFAULT_HOST;
  const sharedBuffers = options.sharedBuffers ?? sharedBuffersFromEnvironment();
  if (options.database && (options.dataDir || options.sharedBuffers || options.maxResultBytes !== undefined || options.wasmModule)) {
    throw new Error('a server given a database opens none: dataDir, sharedBuffers, maxResultBytes and wasmModule are for the database\'s lender to set');
  }
  const dataDir = options.memory || !options.dataDir ? null : canonicalDataDir(options.dataDir);
  const lock: DataDirLock | null = dataDir ? acquireLock(dataDir, { ephemeral: options.ephemeral ?? false }) : null;
  let db: LocalDatabase | null = null;
  let wire: WireServer | null = null;
  let webhooks: WebhookServer | null = null;
  let sqlApi: HttpSqlApi | null = null;
  let websocketApi: WebSocketSqlApi | null = null;
  const lost = (reason: Error) => (options.onDatabaseLost ?? ((error: Error) => options.log?.(error.message)))(reason);
  // What stop() (or a failed start) does with the database: give a lent one back, close one's own.
  const release = (open: LocalDatabase) => (options.database ? options.database.giveBack() : open.close());
  try {
    if (options.database) options.database.onLost(lost);
    db = options.database?.db ?? await WorkerDatabase.open({
      ...(dataDir ? { dataDir } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.maxResultBytes !== undefined ? { maxResultBytes: options.maxResultBytes } : {}),
      ...(sharedBuffers ? { sharedBuffers } : {}),
      ...(options.wasmModule ? { wasmModule: options.wasmModule } : {}),
      onLost: lost,
    });
    const sources = new WebhookSourceCache();
    const requestLog = new RequestLog();
    const changeListeners = new Set<(what: 'write' | 'catalog') => void>();
    const changed = (what: 'write' | 'catalog') => {
      for (const listener of changeListeners) listener(what);
    };
    let maintainedViews: MaintainedViews | null = null;
    wire = new WireServer({
      db,
      host,
      port: options.pgPort ?? DEFAULT_PG_PORT,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 120_000,
      ...(options.subscribedQueryTimeoutMs !== undefined ? { subscribedQueryTimeoutMs: options.subscribedQueryTimeoutMs } : {}),
      ...(options.sharedSession ? { sessionPerConnection: false } : {}),
      // PostgreSQL's default is 100; a dashboard with many subscribers needs more (each SUBSCRIBE holds one).
      maxConnections: 500,
      onCatalogChange: () => {
        sources.invalidate();
        maintainedViews?.noteCatalogChange();
        changed('catalog');
      },
      onWrite: () => {
        maintainedViews?.noteWrite();
        changed('write');
      },
    });
    maintainedViews = new MaintainedViews({
      queue: wire.queue,
      ...(options.log ? { log: options.log } : {}),
      ...(options.refreshQuietMs !== undefined ? { quietMs: options.refreshQuietMs } : {}),
      // Rows of a kept temporal view entered or left with time: subscriptions recompute.
      onTimeChange: () => wire?.hub.notifyWrite(),
    });
    const openViews = maintainedViews;
    const openWireForApi = wire;
    sqlApi = new HttpSqlApi(() => ({ host, port: openWireForApi.port }));
    websocketApi = new WebSocketSqlApi(() => ({ host, port: openWireForApi.port }), () => openWireForApi.hub);
    webhooks = new WebhookServer({
      queue: wire.queue,
      sources,
      sqlApi,
      websocketApi,
      requestLog,
      onWrite: () => {
        openWireForApi.hub.notifyWrite();
        openViews.noteWrite();
        changed('write');
      },
      host,
      port: options.httpPort ?? DEFAULT_HTTP_PORT,
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.concurrencyLimit !== undefined ? { concurrencyLimit: options.concurrencyLimit } : {}),
      ...(options.maxQueueWaitMs !== undefined ? { maxQueueWaitMs: options.maxQueueWaitMs } : {}),
    });
    const pgPort = await listenOrExplain(() => wire!.start(), 'Postgres wire', host, options.pgPort ?? DEFAULT_PG_PORT, '--pg-port');
    const httpPort = await listenOrExplain(() => webhooks!.start(), 'webhook HTTP', host, options.httpPort ?? DEFAULT_HTTP_PORT, '--http-port');
    const webhookBaseUrl = `http://${urlHost(host)}:${httpPort}/api/webhook`;
    await db.query(
      `INSERT INTO mz_local.settings (key, value) VALUES ('webhook_base_url', $1)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [webhookBaseUrl],
    );
    await db.query(
      `INSERT INTO mz_local.settings (key, value) VALUES ('hydration_delay_ms', $1), ('keep_materialized_views', $2)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [String(Math.max(0, Math.round(options.hydrationDelayMs ?? 0))), String(options.keepMaterializedViews ?? true)],
    );
    lock?.update({ host, pgPort, httpPort });
    const openDb = db;
    const openWire = wire;
    const openWebhooks = webhooks;
    let stopped: Promise<void> | null = null;
    return {
      db: openDb,
      host,
      pgPort,
      httpPort,
      pgUrl: `postgres://${LOCAL_USER}@${urlHost(host)}:${pgPort}/${LOCAL_DATABASE}`,
      webhookBaseUrl,
      dataDir,
      webhookStats: openWebhooks.stats,
      requestLog,
      onChange: (listener) => {
        changeListeners.add(listener);
        return () => changeListeners.delete(listener);
      },
      maintainedViews: openViews,
      webhookUrl: (source, schema = 'public') =>
        `${webhookBaseUrl}/${LOCAL_DATABASE}/${encodeURIComponent(schema)}/${encodeURIComponent(source)}`,
      stop() {
        stopped ??= (async () => {
          // Webhooks first (in-flight appends finish and are acknowledged), then SQL sessions,
          // then the database, whose close flushes everything to disk. The lock is released
          // whatever fails on the way: a lock left behind would refuse the next start.
          try {
            await openViews.close();
            await websocketApi?.close();
            await openWebhooks.stop();
            await sqlApi?.close();
            await openWire.stop();
          } finally {
            try {
              await release(openDb);
            } finally {
              lock?.release();
            }
          }
        })();
        return stopped;
      },
    };
  } catch (error) {
    await websocketApi?.close().catch(() => {});
    await webhooks?.stop().catch(() => {});
    await sqlApi?.close().catch(() => {});
    await wire?.stop().catch(() => {});
    if (db) await release(db).catch(() => {});
    lock?.release();
    throw error;
  }
}

/** A port another program holds: the user's to fix, not a crash. */
export class PortInUseError extends Error {}

async function listenOrExplain(listen: () => Promise<number>, what: string, host: string, port: number, flag: string): Promise<number> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new PortInUseError(`${host}:${port} is already in use, so the ${what} server cannot listen there. Stop what uses it, or pass ${flag} <port> (0 picks a free one).`);
    }
    throw error;
  }
}
