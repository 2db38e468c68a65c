/**
 * Materialize's webhook HTTP API on 6876, plus a produce endpoint for local Kafka sources.
 *
 *   POST /api/webhook/<database>/<schema>/<source>   (segments percent-decoded)
 *   POST /topics/<topic>                              (one `data` row in every source on the topic)
 *   POST /api/sql                                     (Materialize's HTTP SQL API: http-sql-api.ts)
 *   GET  /api/experimental/sql (WebSocket upgrade)    (its WebSocket API: websocket-sql-api.ts)
 *
 * Status codes and texts follow Materialize (src/environmentd/src/http/webhook.rs): 200 empty;
 * 400 "failed to deserialize body as …", "failed to validate the request", "error occurred while
 * running validation"; 401 duplicate header; 404 "no object was found at the path …" or "the
 * required auth could not be found"; 413 over the body limit; 429 over the concurrency limit; 503
 * while shutting down. A 200 is sent only after the statement that appended the rows committed.
 *
 * Before any of that, every request and upgrade passes request-guard.ts: 421 for a `Host` that is
 * not this machine's loopback or the bound host (DNS rebinding), 403 for an `Origin` other than the
 * request's own (another site's page); and /api/sql takes only JSON (415 otherwise, as Materialize).
 */
import http from 'node:http';
import net from 'node:net';
import type { LocalDatabase } from '../engine/engine.ts';
import type { ParamValue } from '../engine/prepared-statement.ts';
import { listen } from '../../shared/listen.ts';
import { QueueBusyError, QueueClosedError, type SessionQueue } from '../engine/session-queue.ts';
import { AppendParam, WebhookSourceCache, type WebhookSource } from './webhook/webhook-sources.ts';
import { answerJsonPieces, isJsonContentType, JSON_CONTENT_TYPE_REQUIRED, SqlApiRequestError, type HttpSqlApi } from './http-sql-api.ts';
import type { WebSocketSqlApi } from './websocket-sql-api.ts';
import type { RequestLog } from './request-log.ts';
import { refuseUpgrade, RequestGuard } from './request-guard.ts';
import {
  CHECK_ERROR_REASON,
  concurrencyReason,
  failedCheckReason,
  MISSING_SECRET_REASON,
  tooLargeReason,
  unknownSourceReason,
} from './webhook/rejection-reasons.ts';
import { bodyRows, collectHeaders, filterHeaders, hstoreLiteral, RequestPartError, type BodyRows } from './webhook/request-parts.ts';

/** How long a stopping server keeps idle keep-alive connections open to answer (503) instead of resetting. */
const SHUTDOWN_GRACE_MS = 300;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Materialize's defaults (DESIGN.md): 2 MB bodies, 500 requests in flight. */
export const WEBHOOK_MAX_BODY_BYTES = 2 * 1024 * 1024;
export const WEBHOOK_CONCURRENCY_LIMIT = 500;

export interface WebhookServerOptions {
  queue: SessionQueue;
  sources: WebhookSourceCache;
  host: string;
  port: number;
  maxBodyBytes?: number;
  concurrencyLimit?: number;
  /** How long an append may wait behind a SQL session's open transaction before a 503. */
  maxQueueWaitMs?: number;
  /** Serves POST /api/sql when given. */
  sqlApi?: HttpSqlApi;
  /** Called after rows were appended (subscriptions look again). */
  onWrite?: () => void;
  /** Serves the WebSocket API (upgrades to /api/experimental/sql) when given. */
  websocketApi?: WebSocketSqlApi;
  /** Records every webhook and topic request, with the reason of each rejection (the console). */
  requestLog?: RequestLog;
}

/** A body's rows for a source; undefined when it refuses the body (appendOne reads it again for the error). */
function sourceRows(body: Buffer, source: WebhookSource): BodyRows | undefined {
  try {
    return bodyRows(body, source.bodyFormat);
  } catch {
    return undefined;
  }
}

/** A webhook request waiting for its group's statement. */
interface PendingRequest {
  readonly body: Buffer;
  readonly headers: Map<string, string>;
  readonly receivedAt: Date;
  /**
   * Its body read for the source as it was known when the request arrived (undefined rows: the
   * body was refused). Read then, it overlaps the statement in flight instead of delaying the next.
   */
  readonly read: { readonly source: WebhookSource; readonly rows: BodyRows | undefined } | undefined;
  resolve(inserted: number): void;
  reject(error: unknown): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The same in words for the console's request log. */
    readonly reason: string = message,
  ) {
    super(message);
  }
}

/** The answer to a request the append refused: its CHECK's secret is missing (404) or it failed (400). */
function checkRefusal(source: WebhookSource, headers: Map<string, string>, ok: boolean, secretsFound: boolean): HttpError | null {
  if (!secretsFound) return new HttpError(404, 'the required auth could not be found', MISSING_SECRET_REASON);
  if (!ok) return new HttpError(400, 'failed to validate the request', failedCheckReason(source.checkShape!, headers));
  return null;
}


export class WebhookServer {
  private server: http.Server | null = null;
  private readonly connections = new Set<net.Socket>();
  private inFlight = 0;
  private shuttingDown = false;
  private readonly maxBodyBytes: number;
  private readonly concurrencyLimit: number;
  private readonly maxQueueWaitMs: number;
  /** Refuses requests from web pages of other sites, and under names other than this machine's (request-guard.ts). */
  private readonly guard: RequestGuard;
  /** Per source (database, schema, name): requests waiting for the queue job that appends them. */
  private readonly pendingGroups = new Map<string, PendingRequest[]>();
  /**
   * Requests acknowledged with 200, and rows they appended (for the server's summary line);
   * `grouped`: requests answered from a grouped statement (group commit at work).
   */
  readonly stats = { accepted: 0, rows: 0, rejected: 0, grouped: 0 };

  constructor(private readonly options: WebhookServerOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES;
    this.concurrencyLimit = options.concurrencyLimit ?? WEBHOOK_CONCURRENCY_LIMIT;
    this.maxQueueWaitMs = options.maxQueueWaitMs ?? 5_000;
    this.guard = new RequestGuard(options.host);
  }

  async start(): Promise<number> {
    const server = http.createServer((request, response) => {
      void this.handle(request, response);
    });
    server.on('upgrade', (request, socket, head) => {
      const refused = this.guard.check(request.headers);
      if (refused) return refuseUpgrade(socket, refused);
      if (this.shuttingDown || !this.options.websocketApi?.handleUpgrade(request, socket, head)) socket.destroy();
    });
    server.on('connection', (socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    // A deep accept backlog: bursts of thousands of connections get queued, not reset.
    return listen(server, this.options.port, this.options.host, 4096);
  }

  /**
   * Drains, then closes: no new connections; requests already in flight finish and are answered;
   * a request arriving on an open keep-alive connection meanwhile gets 503 with `connection:
   * close` (retryable: the function retries it) rather than a reset; idle connections are closed
   * after a short grace, so a client about to reuse one is answered instead of cut off.
   */
  async stop(): Promise<void> {
    this.shuttingDown = true;
    const server = this.server;
    if (!server) return;
    this.server = null;
    // net.Server's close stops accepting without touching open connections; http.Server's own
    // close (Node 19+) would also cut idle keep-alive connections a client may be reusing.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    while (this.inFlight > 0) await sleep(5);
    if (this.connections.size > 0) {
      await sleep(SHUTDOWN_GRACE_MS);
      server.closeIdleConnections();
      // Connections answering a request end after it (connection: close); wait for them, briefly.
      for (let waited = 0; this.connections.size > 0 && waited < SHUTDOWN_GRACE_MS; waited += 10) await sleep(10);
    }
    server.closeAllConnections();
    await closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const receivedAt = new Date();
    const started = performance.now();
    const route = matchRoute(request.url ?? '/');
    let body: Buffer | null = null;
    let appended = 0;
    // Every webhook/topic request (and a POST to no route) goes to the request log, whatever its fate.
    const logged = route?.kind !== 'sql' && (route !== null || request.method === 'POST');
    // While stopping, every answer tells the client not to reuse the connection.
    const reply = (status: number, text: string, contentType?: string, reason?: string) => {
      if (this.shuttingDown) response.setHeader('connection', 'close');
      send(response, status, text, contentType);
      if (logged && this.options.requestLog) {
        this.options.requestLog.record({
          time: receivedAt.getTime(),
          target: route ? routeTarget(route) : (request.url ?? '/').split('?')[0]!,
          status,
          bytes: body?.length ?? (Number(request.headers['content-length']) || 0),
          events: status === 200 ? appended : 0,
          ...(body && route?.kind === 'webhook' ? { body } : {}),
          ...(status >= 300 ? { reason: reason ?? text } : {}),
          ms: performance.now() - started,
        });
      }
    };
    // Before anything else, webhooks included: an unsigned source would take any page's POST.
    const refused = this.guard.check(request.headers);
    if (refused) {
      request.resume();
      return reply(refused.status, refused.text, undefined, refused.text.trim());
    }
    if (!route) return reply(404, 'not found', undefined, 'not a webhook URL: POST to /api/webhook/<database>/<schema>/<source>');
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      return reply(405, '', undefined, `${request.method ?? 'this method'} is not allowed: webhooks take POST`);
    }
    if (this.shuttingDown) {
      request.resume();
      response.setHeader('connection', 'close');
      return reply(503, 'service unavailable', undefined, 'the server is stopping: the sender retries (503 is retryable)');
    }
    if (this.inFlight >= this.concurrencyLimit) {
      request.resume();
      return reply(429, 'too many requests', undefined, concurrencyReason(this.concurrencyLimit));
    }
    if (route.kind === 'sql' && this.options.sqlApi && !isJsonContentType(request.headers['content-type'])) {
      request.resume();
      return reply(415, JSON_CONTENT_TYPE_REQUIRED);
    }
    this.inFlight++;
    try {
      body = await readBody(request, this.maxBodyBytes);
      if (route.kind === 'sql') {
        await this.runSql(body, reply, request, response);
      } else if (route.kind === 'webhook') {
        // (The write is noted where it is committed: see appendGroup.)
        appended = await this.appendWebhook(route, request.rawHeaders, body, receivedAt);
        this.stats.accepted++;
        reply(200, '');
      } else {
        const rows = await this.produce(route.topic, body, request.headers.authorization);
        appended = rows;
        this.options.onWrite?.();
        reply(200, JSON.stringify({ topic: route.topic, sources: rows }), 'application/json');
      }
    } catch (error) {
      this.stats.rejected++;
      if (error instanceof HttpError || error instanceof RequestPartError) {
        if (error.status === 413) response.setHeader('connection', 'close');
        const reason = error.status === 413 ? tooLargeReason(error instanceof BodyTooLargeError ? error.bytes : 0, this.maxBodyBytes) : error.reason;
        reply(error.status, error.message, undefined, reason);
      } else if (error instanceof QueueClosedError) {
        reply(503, 'service unavailable', undefined, 'the server is stopping: the sender retries (503 is retryable)');
      } else if (error instanceof QueueBusyError) {
        // Nothing was appended: the sender retries (Segment retries a 503), after a second.
        response.setHeader('retry-after', '1');
        reply(503, `service unavailable: ${error.message}; retry`, undefined, `the database was busy past the wait bound (${error.message}): the sender retries`);
      } else {
        reply(500, `internal failure! ${(error as Error).message}`);
      }
    } finally {
      this.inFlight--;
    }
  }

  /** Materialize's HTTP SQL API (http-sql-api.ts): 200 with results, 400 for a malformed request. */
  private async runSql(
    body: Buffer,
    reply: (status: number, text: string, contentType?: string) => void,
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    const api = this.options.sqlApi;
    if (!api) return reply(404, 'not found');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return reply(400, `request body is not JSON: ${(error as Error).message}`);
    }
    // A client that gives up before its answer stops its statement (http-sql-api.ts run()).
    const gone = new AbortController();
    const onClose = () => {
      if (!response.writableFinished) gone.abort();
    };
    response.once('close', onClose);
    try {
      const answer = await api.run(parsed, gone.signal);
      if (gone.signal.aborted) return;
      await writeJsonPieces(response, answerJsonPieces(answer));
    } catch (error) {
      if (gone.signal.aborted) return;
      if (error instanceof SqlApiRequestError) return reply(400, error.message);
      throw error;
    } finally {
      response.off('close', onClose);
    }
  }

  /**
   * Appends the request's rows; resolves to how many. Requests to one source that wait in the
   * session queue together are appended by one statement (group commit, grouped-append.ts).
   */
  private appendWebhook(
    route: { database: string; schema: string; name: string },
    rawHeaders: string[],
    body: Buffer,
    receivedAt: Date,
  ): Promise<number> {
    const headers = collectHeaders(rawHeaders);
    const key = `${route.database}\u0000${route.schema}\u0000${route.name}`;
    const known = this.options.sources.peek(route.database, route.schema, route.name);
    const read = known ? { source: known, rows: sourceRows(body, known) } : undefined;
    return new Promise<number>((resolve, reject) => {
      const request: PendingRequest = { body, headers, receivedAt, read, resolve, reject };
      const waiting = this.pendingGroups.get(key);
      if (waiting) {
        waiting.push(request);
      } else {
        // In the group before the job is queued: an idle queue may start the job at once.
        const created = [request];
        this.pendingGroups.set(key, created);
        const startsAtOnce = this.options.queue.idle;
        this.options.queue
          .runLocal((db) => this.appendGroup(db, route, key, created, startsAtOnce), this.maxQueueWaitMs)
          .catch((error: unknown) => {
            // The job never ran (queue busy or closed): every request of the group gets the error.
            if (this.pendingGroups.get(key) === created) this.pendingGroups.delete(key);
            for (const request of created.splice(0)) request.reject(error);
          });
      }
    });
  }

  /** Runs inside one queue job: every request gathered for the source so far. */
  private async appendGroup(
    db: LocalDatabase,
    route: { database: string; schema: string; name: string },
    key: string,
    group: PendingRequest[],
    startsAtOnce: boolean,
  ): Promise<void> {
    // An idle queue starts this job in the tick the first request arrived: wait until the requests
    // read in the same I/O phase have joined. A job queued behind another has been gathering its
    // group all along, and waiting would only leave the database idle.
    if (startsAtOnce) await new Promise((resolve) => setImmediate(resolve));
    // Requests arriving from now on start the next group.
    if (this.pendingGroups.get(key) === group) this.pendingGroups.delete(key);
    const requests = group.splice(0);
    const answered = new Set<PendingRequest>();
    const answer = (request: PendingRequest, outcome: { count: number } | { error: unknown }) => {
      answered.add(request);
      // Noted at once, before the queue moves on: the next statement (a read) must find kept
      // views stale and catch them up. Answered once the queue has moved on: its next job reaches
      // the database first, and the responses are written while that runs.
      if ('count' in outcome) this.options.onWrite?.();
      setImmediate(() => ('count' in outcome ? request.resolve(outcome.count) : request.reject(outcome.error)));
    };
    try {
      await this.appendRequests(db, route, requests, answer);
    } catch (error) {
      // Whatever failed (the catalog lookup, the session): no request is left without an answer.
      for (const request of requests) if (!answered.has(request)) answer(request, { error });
    }
  }

  private async appendRequests(
    db: LocalDatabase,
    route: { database: string; schema: string; name: string },
    requests: readonly PendingRequest[],
    answer: (request: PendingRequest, outcome: { count: number } | { error: unknown }) => void,
  ): Promise<void> {
    const source = await this.options.sources.resolve(db, route.database, route.schema, route.name);
    if (!source) {
      const known = this.options.requestLog ? await this.options.sources.names(db) : [];
      const error = new HttpError(404, `no object was found at the path "'${route.database}.${route.schema}.${route.name}'"`, unknownSourceReason(route.database, route.schema, route.name, known));
      for (const request of requests) answer(request, { error });
      return;
    }
    // Each body is read once; a refused one (rows undefined) takes the one-by-one path, which
    // answers it as Materialize does.
    const one: Array<{ request: PendingRequest; rows: BodyRows | undefined }> = [];
    const grouped: Array<{ request: PendingRequest; rows: BodyRows }> = [];
    for (const request of requests) {
      // Read on arrival unless the source was not known then, or has been replaced since.
      const rows = request.read?.source === source ? request.read.rows : sourceRows(request.body, source);
      if (source.grouped && requests.length > 1 && rows && (rows.kind !== 'json' || rows.wrap !== undefined)) grouped.push({ request, rows });
      else one.push({ request, rows });
    }
    if (grouped.length > 1) {
      try {
        const { outcomes } = await source.grouped!.run(
          grouped.map(({ request, rows }) => ({
            body: request.body,
            headers: hstoreLiteral(request.headers),
            receivedAt: request.receivedAt,
            filteredHeaders: source.includeHeaders ? hstoreLiteral(filterHeaders(request.headers, source.includeHeaders)) : null,
            wrap: rows.kind === 'json' ? rows.wrap! : false,
            mappedHeaders: source.mappedHeaders.map((mapped) => request.headers.get(mapped.header) ?? null),
          })),
        );
        this.stats.grouped += grouped.length;
        grouped.forEach(({ request, rows }, index) => {
          const outcome = outcomes[index]!;
          const refused = checkRefusal(source, request.headers, outcome.ok, outcome.secretsFound);
          if (refused) answer(request, { error: refused });
          else {
            const count = rows.kind === 'json' ? rows.count : 1;
            this.stats.rows += count;
            answer(request, { count });
          }
        });
      } catch {
        // The statement failed as a whole (a body PostgreSQL refuses, a CHECK that errors):
        // nothing of it was applied; each request is appended on its own and answered for itself.
        one.push(...grouped);
      }
    } else {
      one.push(...grouped);
    }
    for (const { request, rows } of one) {
      let count: number;
      try {
        count = await this.appendOne(source, request, rows);
      } catch (error) {
        answer(request, { error });
        continue;
      }
      answer(request, { count });
    }
  }

  /**
   * One request in its own statement (the CHECK and the insert together). `read`: its body's rows,
   * undefined when the body was refused (read again here for the error).
   */
  private async appendOne(source: WebhookSource, request: PendingRequest, read: BodyRows | undefined): Promise<number> {
    const { body, headers, receivedAt } = request;
    let rows: BodyRows;
    try {
      rows = read ?? bodyRows(body, source.bodyFormat);
    } catch (error) {
      // Materialize validates before it parses: a bad body with a bad signature is a CHECK failure.
      if (source.check) await this.runCheckOnly(source, body, headers, receivedAt);
      throw error;
    }
    const params = appendParams(source, body, headers, receivedAt, rows);
    let result: Array<string | null>;
    try {
      result = (await source.append.run(params))!;
    } catch (error) {
      if (source.check) await this.runCheckOnly(source, body, headers, receivedAt);
      // The CHECK passed (or there is none): the body is what PostgreSQL refused.
      const type = source.bodyFormat === 'text' ? 'String' : source.bodyFormat === 'bytes' ? 'Bytes' : 'Jsonb';
      throw new HttpError(400, `failed to deserialize body as ${type}: ${(error as Error).message}`);
    }
    const [ok, secretsFound, inserted] = result;
    const refused = checkRefusal(source, headers, ok === 't', secretsFound === 't');
    if (refused) throw refused;
    this.stats.rows += Number(inserted);
    return Number(inserted);
  }

  /** Evaluates the CHECK alone and throws the response it calls for; returns if it passes. */
  private async runCheckOnly(source: WebhookSource, body: Buffer, headers: Map<string, string>, receivedAt: Date): Promise<void> {
    let verdict: Array<string | null>;
    try {
      verdict = (await source.check!.run([body, hstoreLiteral(headers), receivedAt]))!;
    } catch {
      // No detail: the error could quote a secret.
      throw new HttpError(400, 'error occurred while running validation', CHECK_ERROR_REASON);
    }
    const [ok, secretsFound] = verdict;
    if (secretsFound !== 't') throw new HttpError(404, 'the required auth could not be found', MISSING_SECRET_REASON);
    if (ok !== 't') throw new HttpError(400, 'failed to validate the request', failedCheckReason(source.checkShape!, headers));
  }

  /** Appends the body as one `data` row to every Kafka source reading `topic`, in one statement. */
  private async produce(topic: string, body: Buffer, authorization: string | undefined): Promise<number> {
    return this.options.queue.runLocal(async (db) => {
      const sources = await db.query<{ table_name: string; username: string | null; password: string | null }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
                conn.options->>'sasl username' AS username,
                (SELECT convert_from(s.value, 'UTF8') FROM mz_local.secrets s
                  WHERE s.id = conn.secret_ids[((conn.options->'sasl password'->>'secret')::int) + 1]) AS password
           FROM mz_local.kafka_sources k
           JOIN pg_class c ON c.oid = k.relid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN mz_local.connections conn ON conn.id = k.connection_id
          WHERE k.topic = $1
          ORDER BY 1`,
        [topic],
      );
      if (sources.rows.length === 0) throw new HttpError(404, `no source reads topic '${topic}'`, `no Kafka source reads topic '${topic}': check the topic name, or deploy the source`);
      if (authorization !== undefined) checkBasicAuth(authorization, sources.rows);
      const statements = sources.rows.map((row, index) => `i${index} AS (INSERT INTO ${row.table_name} (data) VALUES ($1::bytea) RETURNING 1)`);
      await db.query(`WITH ${statements.join(', ')} SELECT 1`, [body]);
      return sources.rows.length;
    }, this.maxQueueWaitMs);
  }
}

/** Basic auth, when sent, must match a connection's SASL credentials (as a hosted Kafka's would). */
function checkBasicAuth(authorization: string, sources: Array<{ username: string | null; password: string | null }>): void {
  const match = /^Basic\s+(.+)$/i.exec(authorization);
  if (!match) throw new HttpError(401, 'unsupported authorization scheme: use Basic');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (!sources.some((source) => source.username === username && source.password === password)) {
    throw new HttpError(401, 'invalid credentials for this topic');
  }
}

function appendParams(
  source: WebhookSource,
  body: Buffer,
  headers: Map<string, string>,
  receivedAt: Date,
  rows: BodyRows,
): ParamValue[] {
  const params: ParamValue[] = [];
  params[AppendParam.Body - 1] = body;
  params[AppendParam.Headers - 1] = hstoreLiteral(headers);
  params[AppendParam.ReceivedAt - 1] = receivedAt;
  params[AppendParam.Rows - 1] = rows.kind === 'json' ? rows.arrayText : rows.kind === 'text' ? rows.text : null;
  params[AppendParam.FilteredHeaders - 1] = source.includeHeaders ? hstoreLiteral(filterHeaders(headers, source.includeHeaders)) : null;
  source.mappedHeaders.forEach((mapped, index) => {
    const value = headers.get(mapped.header);
    params[AppendParam.FirstMappedHeader - 1 + index] = value === undefined ? null : mapped.bytes ? Buffer.from(value, 'latin1') : value;
  });
  return params;
}

/** How the request log names a route's target. */
function routeTarget(route: Route): string {
  if (route.kind === 'webhook') return `${route.schema}.${route.name}`;
  if (route.kind === 'topic') return `topic ${route.topic}`;
  return '/api/sql';
}

type Route = { kind: 'webhook'; database: string; schema: string; name: string } | { kind: 'topic'; topic: string } | { kind: 'sql' };

function matchRoute(url: string): Route | null {
  const pathname = url.split('?')[0]!;
  const segments = pathname.split('/').slice(1);
  try {
    if (pathname === '/api/sql') return { kind: 'sql' };
    if (segments.length === 5 && segments[0] === 'api' && segments[1] === 'webhook') {
      const [database, schema, name] = segments.slice(2).map((segment) => decodeURIComponent(segment));
      if (database && schema && name) return { kind: 'webhook', database, schema, name };
    }
    if (segments.length === 2 && segments[0] === 'topics' && segments[1]) {
      return { kind: 'topic', topic: decodeURIComponent(segments[1]) };
    }
  } catch {
    return null;
  }
  return null;
}

/** A 413, with how large the body was (declared, or read so far). */
class BodyTooLargeError extends HttpError {
  constructor(readonly bytes: number) {
    super(413, 'Failed to buffer the request body: length limit exceeded');
  }
}

function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      reject(new BodyTooLargeError(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLargeError(size));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    request.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

/** A 200 JSON answer written piece by piece, each written when the client has taken the last. */
async function writeJsonPieces(response: http.ServerResponse, pieces: Iterable<string>): Promise<void> {
  response.statusCode = 200;
  response.setHeader('content-type', 'application/json');
  for (const piece of pieces) {
    if (response.destroyed) return;
    if (!response.write(piece)) await new Promise<void>((resolve) => {
      const done = () => {
        response.off('drain', done).off('close', done);
        resolve();
      };
      response.once('drain', done).once('close', done);
    });
  }
  response.end();
}

function send(response: http.ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  if (response.headersSent) return;
  response.statusCode = status;
  if (text) response.setHeader('content-type', contentType);
  response.setHeader('content-length', Buffer.byteLength(text));
  response.end(text);
}
