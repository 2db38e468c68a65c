/**
 * Materialize's WebSocket SQL API at /api/experimental/sql on the HTTP port
 * (doc/user/content/integrations/websocket-api.md): an interactive session over a WebSocket, so a
 * browser can SUBSCRIBE. The first message authenticates (`{"user", "password"}` or `{"token"}`; any
 * is accepted locally) and is answered with ReadyForQuery; each request after it — `{"query"}` or
 * `{"queries": [{"query", "params"}]}` — is answered with messages `{"type", "payload"}`:
 * CommandStarting, Rows (`{"columns": [{name, type_oid, type_len, type_mod}]}`), Row (typed JSON
 * values), CommandComplete (the tag), Error (`{message, code}`), Notice, and one ReadyForQuery per
 * request. SUBSCRIBE streams Row messages as changes happen, until UP TO or the socket closes.
 *
 * Statements run on a wire connection of the session's own (the one translation point); SUBSCRIBE
 * is fed by the server's SubscriptionHub, as on the wire.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { jsonValue, parseRequest, runOne, SqlApiRequestError, type SqlApiError, type SqlApiNotice } from './http-sql-api.ts';
import { MzStatementError } from '../sql/mz-statements-error.ts';
import { SubscriberStream } from '../subscribe/subscriber-stream.ts';
import { parseSubscribeStatement } from '../subscribe/subscribe-statements.ts';
import type { SubscriptionHub } from '../subscribe/subscription-hub.ts';

export const WEBSOCKET_PATH = '/api/experimental/sql';

type Outgoing =
  | { type: 'ReadyForQuery'; payload: 'I' | 'T' | 'E' }
  | { type: 'CommandStarting'; payload: { has_rows: boolean; is_streaming: boolean } }
  | { type: 'Rows'; payload: { columns: Array<{ name: string; type_oid: number; type_len: number; type_mod: number }> } }
  | { type: 'Row'; payload: unknown[] }
  | { type: 'CommandComplete'; payload: string }
  | { type: 'Error'; payload: SqlApiError }
  | { type: 'Notice'; payload: SqlApiNotice };

export class WebSocketSqlApi {
  private readonly server = new WebSocketServer({ noServer: true });

  constructor(
    private readonly connection: () => { host: string; port: number },
    private readonly hub: () => SubscriptionHub,
  ) {
    this.server.on('connection', (socket) => this.serve(socket));
  }

  /** Takes an HTTP upgrade request for the API's path; false for any other. */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((request.url ?? '').split('?')[0] !== WEBSOCKET_PATH) return false;
    this.server.handleUpgrade(request, socket, head, (ws) => this.server.emit('connection', ws, request));
    return true;
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: WebSocket): void {
    const session = new WebSocketSession(socket, this.connection(), this.hub());
    let chain = Promise.resolve();
    // One request at a time, in order: a later one waits for a SUBSCRIBE before it to end.
    socket.on('message', (data) => {
      chain = chain.then(() => session.receive(data.toString()));
    });
    socket.on('close', () => session.close());
  }
}

class WebSocketSession {
  private authenticated = false;
  private client: pg.Client | null = null;
  private transaction: 'I' | 'T' | 'E' = 'I';
  private readonly streams = new Set<SubscriberStream>();
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly target: { host: string; port: number },
    private readonly hub: SubscriptionHub,
  ) {}

  async receive(text: string): Promise<void> {
    if (this.closed) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      if (!this.authenticated) return this.socket.close(1008, 'the first message must be JSON: {"user", "password"} or {"token"}');
      this.send({ type: 'Error', payload: { message: `request is not JSON: ${(error as Error).message}`, code: '08P01' } });
      return this.ready();
    }
    if (!this.authenticated) return this.authenticate(body);
    try {
      const request = parseRequest(body, true);
      const queries = request.kind === 'simple' ? request.statements.map((query) => ({ query, params: undefined })) : request.queries;
      for (const { query, params } of queries) {
        const ok = await this.execute(query, params);
        if (!ok) break;
      }
    } catch (error) {
      if (!(error instanceof SqlApiRequestError)) throw error;
      this.send({ type: 'Error', payload: { message: error.message, code: '0A000' } });
    }
    this.ready();
  }

  close(): void {
    this.closed = true;
    for (const stream of this.streams) stream.close();
    this.streams.clear();
    void this.client?.end().catch(() => {});
    this.client = null;
  }

  private async authenticate(body: unknown): Promise<void> {
    const record = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    if (typeof record.user !== 'string' && typeof record.token !== 'string') {
      this.socket.close(1008, 'authenticate first: {"user": "…", "password": "…"} or {"token": "…"}');
      return;
    }
    this.client = new pg.Client({ host: this.target.host, port: this.target.port, user: 'materialize', database: 'materialize', types: { getTypeParser: () => (value: string) => value } });
    this.client.on('error', () => {});
    this.client.on('notice', (notice: { severity?: string; message?: string }) => {
      this.send({ type: 'Notice', payload: { severity: (notice.severity ?? 'notice').toLowerCase(), message: notice.message ?? '' } });
    });
    await this.client.connect();
    this.authenticated = true;
    this.ready();
  }

  /** Runs one statement, sending its messages; false when it failed (the request stops there). */
  private async execute(query: string, params: Array<string | null> | undefined): Promise<boolean> {
    let subscribe;
    try {
      subscribe = parseSubscribeStatement(query, () => false);
    } catch (error) {
      if (!(error instanceof MzStatementError)) throw error;
      return this.fail({ message: error.message, code: error.code });
    }
    if (subscribe?.kind === 'subscribe') return this.stream(subscribe.spec);
    const result = await runOne(this.client!, query, params, []);
    if ('error' in result) return this.fail(result.error);
    const control = /^\s*(begin|start|commit|end|rollback|abort)\b/i.exec(query)?.[1]?.toLowerCase();
    if (control) this.transaction = control === 'begin' || control === 'start' ? 'T' : 'I';
    if ('ok' in result) {
      this.send({ type: 'CommandStarting', payload: { has_rows: false, is_streaming: false } });
      this.send({ type: 'CommandComplete', payload: result.ok });
      return true;
    }
    this.send({ type: 'CommandStarting', payload: { has_rows: true, is_streaming: false } });
    this.send({ type: 'Rows', payload: { columns: result.desc.columns } });
    for (const row of result.rowsJson) this.sendText(`{"type":"Row","payload":${row}}`);
    this.send({ type: 'CommandComplete', payload: result.tag });
    return true;
  }

  /** SUBSCRIBE: Row messages as the subscribed result changes, until UP TO or the socket closes. */
  private async stream(spec: Parameters<typeof SubscriberStream.open>[0]): Promise<boolean> {
    let stream: SubscriberStream;
    try {
      stream = await SubscriberStream.open(spec, this.hub);
    } catch (error) {
      const failure = error as Error & { code?: string };
      return this.fail({ message: failure.message, code: failure.code ?? 'XX000' });
    }
    this.streams.add(stream);
    this.send({ type: 'CommandStarting', payload: { has_rows: true, is_streaming: true } });
    this.send({ type: 'Rows', payload: { columns: stream.columns.map((column) => ({ name: column.name, type_oid: column.typeOid, type_len: column.typeSize, type_mod: -1 })) } });
    let sent = 0;
    while (!this.closed) {
      await stream.waitForRows(null);
      for (const row of stream.take('all')) {
        this.send({ type: 'Row', payload: row.map((value, index) => jsonValue(value, stream.columns[index]!.typeOid)) });
        sent++;
      }
      if (stream.finished && stream.available === 0) break;
    }
    stream.close();
    this.streams.delete(stream);
    this.send({ type: 'CommandComplete', payload: `SUBSCRIBE ${sent}` });
    return true;
  }

  private fail(error: SqlApiError): false {
    this.send({ type: 'Error', payload: error });
    if (this.transaction === 'T') this.transaction = 'E';
    return false;
  }

  private ready(): void {
    this.send({ type: 'ReadyForQuery', payload: this.transaction });
  }

  private send(message: Outgoing): void {
    this.sendText(JSON.stringify(message));
  }

  /** A message already in JSON (a Row built from its row's JSON text). */
  private sendText(text: string): void {
    if (!this.closed && this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }
}
