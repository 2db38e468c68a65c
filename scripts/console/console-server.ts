/**
 * The console on its own port (default 6874): the front end, and the few endpoints for what SQL
 * cannot give — the project graph with deploy status, the webhook request log, row counts — as
 * JSON and as one Server-Sent Events stream. Everything SQL can give comes from the local server's
 * own APIs: `/api/sql` and the WebSocket API (`/api/experimental/sql`, SUBSCRIBE) are passed
 * through to its HTTP port, so the page has one origin and uses exactly what any client would.
 *
 *   GET  /                         the page
 *   GET  /console/api/info         ports, URLs, mode
 *   GET  /console/api/graph        { project, nodes: [...], counts }
 *   GET  /console/api/node/<name>  template, compiled SQL, dependencies, status history
 *   GET  /console/api/requests     the request log's snapshot
 *   GET  /console/api/events       SSE: `graph`, `nodes`, `counts`, `requests`
 *   GET  /console/api/activations  activations: checkpoints and last calls (activations-board.ts)
 *
 * Every request and upgrade passes the local server's request guard first (request-guard.ts): a
 * `Host` other than loopback's or the bound host's gets 421 (DNS rebinding), an `Origin` other than
 * the console's own gets 403 (another site's page), so only this page can use the APIs it passes on.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { listen } from '../shared/listen.ts';
import path from 'node:path';
import type { RequestLog, RequestRecord } from '../local/http/request-log.ts';
import { refuseUpgrade, RequestGuard } from '../local/http/request-guard.ts';
import type { ConsoleAssets } from './console-bundle.ts';
import type { ActivationsBoard } from './activations-board.ts';
import type { ProjectBoard } from './project-board.ts';
import type { RowCounter } from './row-counts.ts';

export const DEFAULT_CONSOLE_PORT = 6874;

export interface ConsoleServerOptions {
  readonly host: string;
  readonly port: number;
  /** The local server's HTTP port (SQL API and WebSocket API are passed through to it). */
  readonly httpPort: number;
  readonly assets: ConsoleAssets;
  readonly board: ProjectBoard;
  readonly requestLog: RequestLog;
  readonly counter: RowCounter;
  readonly info: Readonly<Record<string, unknown>>;
  readonly activations?: ActivationsBoard;
}

/** How often new requests are pushed to open pages (batched: 1,000 requests/s is 4 messages/s). */
const REQUEST_PUSH_MS = 250;

export class ConsoleServer {
  private server: http.Server | null = null;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly sockets = new Set<net.Socket>();
  private pendingRequests: RequestRecord[] = [];
  private pushTimer: NodeJS.Timeout | null = null;
  private readonly unlisten: Array<() => void> = [];
  private readonly guard: RequestGuard;
  /** Where the local server's HTTP port is reached: the bound host, or loopback when bound to every interface. */
  private readonly upstreamHost: string;

  constructor(private readonly options: ConsoleServerOptions) {
    this.guard = new RequestGuard(options.host);
    // Connecting to 0.0.0.0 would also send `Host: 0.0.0.0:…`, which the HTTP port refuses.
    this.upstreamHost = options.host === '0.0.0.0' || options.host === '' ? '127.0.0.1' : options.host === '::' ? '::1' : options.host;
  }

  async start(): Promise<number> {
    const server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: Error) => send(response, 500, { error: error.message }));
    });
    server.on('upgrade', (request, socket, head) => this.proxyUpgrade(request, socket as net.Socket, head));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    const port = await listen(server, this.options.port, this.options.host);
    this.unlisten.push(
      this.options.board.listen((change) => {
        if (change.kind === 'graph') this.broadcast('graph', { version: this.options.board.snapshot().version });
        else this.broadcast('nodes', { nodes: change.nodes });
      }),
      this.options.requestLog.listen((record) => {
        // Pages load the log's snapshot when they connect: only what comes after is pushed.
        if (this.streams.size === 0) return;
        this.pendingRequests.push(record);
        this.pushTimer ??= setTimeout(() => this.pushRequests(), REQUEST_PUSH_MS);
      }),
    );
    return port;
  }

  /** Row counts changed: tell open pages. */
  countsChanged(counts: ReadonlyMap<string, number | null>): void {
    this.broadcast('counts', { counts: Object.fromEntries(counts) });
  }

  async stop(): Promise<void> {
    for (const stop of this.unlisten) stop();
    if (this.pushTimer) clearTimeout(this.pushTimer);
    for (const stream of this.streams) stream.end();
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private pushRequests(): void {
    this.pushTimer = null;
    const records = this.pendingRequests;
    this.pendingRequests = [];
    if (records.length === 0) return;
    const snapshot = this.options.requestLog.snapshot();
    this.broadcast('requests', { records: records.slice(-100), targets: snapshot.targets });
  }

  private broadcast(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of this.streams) stream.write(message);
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const refused = this.guard.check(request.headers);
    if (refused) {
      request.resume();
      return sendText(response, refused.status, refused.text, 'text/plain; charset=utf-8');
    }
    const url = new URL(request.url ?? '/', 'http://console');
    const route = url.pathname;
    if (route === '/api/sql') return this.proxySql(request, response);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET');
      return send(response, 405, { error: `${request.method} is not allowed here` });
    }
    const { assets, board, requestLog, counter, info } = this.options;
    if (route === '/' || route === '/index.html') return sendText(response, 200, assets.html, 'text/html; charset=utf-8');
    if (route === '/assets/app.js') return sendText(response, 200, assets.script, 'text/javascript; charset=utf-8');
    if (route === '/assets/app.css') return sendText(response, 200, assets.stylesheet, 'text/css; charset=utf-8');
    if (route === '/console/api/info') return send(response, 200, info);
    if (route === '/console/api/graph') return send(response, 200, { ...board.snapshot(), counts: Object.fromEntries(counter.current()) });
    if (route === '/console/api/requests') return send(response, 200, requestLog.snapshot());
    if (route === '/console/api/events') return this.openStream(response);
    if (route === '/console/api/activations' && this.options.activations) return send(response, 200, await this.options.activations.snapshot());
    const nodeMatch = /^\/console\/api\/node\/([^/]+)$/.exec(route);
    if (nodeMatch) return this.sendNode(decodeURIComponent(nodeMatch[1]!), response);
    send(response, 404, { error: `nothing at ${route}` });
  }

  private async sendNode(name: string, response: http.ServerResponse): Promise<void> {
    const { board } = this.options;
    const node = board.node(name);
    const project = board.compiled;
    const compiled = project?.nodes.get(name);
    if (!node || !project || !compiled) return send(response, 404, { error: `no model named ${name} in the project` });
    let template: string | null = null;
    try {
      template = await readFile(path.join(project.root, compiled.path), 'utf8');
    } catch {
      template = null;
    }
    send(response, 200, {
      ...node,
      template,
      sql: compiled.sql,
      description: compiled.description ?? null,
      cluster: compiled.cluster ?? null,
      tags: compiled.tags,
    });
  }

  private openStream(response: http.ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    response.write(': connected\n\n');
    this.streams.add(response);
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    response.on('close', () => {
      clearInterval(keepAlive);
      this.streams.delete(response);
    });
  }

  /** POST /api/sql → the local server's HTTP SQL API (its Content-Type as sent: the API refuses all but JSON). */
  private proxySql(request: http.IncomingMessage, response: http.ServerResponse): void {
    const contentType = request.headers['content-type'];
    const upstream = http.request(
      { host: this.upstreamHost, port: this.options.httpPort, path: '/api/sql', method: request.method, headers: contentType === undefined ? {} : { 'content-type': contentType } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => send(response, 502, { error: `the local server's SQL API did not answer: ${error.message}` }));
    // A page closed or a request aborted before its answer: the server stops the statement when its
    // own request goes away, so the proxy's goes too.
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  }

  /** The WebSocket API: the upgrade request and the socket, piped to the local server's HTTP port as they are. */
  private proxyUpgrade(request: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    // (The HTTP port checks again: `Host` and `Origin` are passed on as they are, the console's own.)
    const refused = this.guard.check(request.headers);
    if (refused) return refuseUpgrade(socket, refused);
    if ((request.url ?? '').split('?')[0] !== '/api/experimental/sql') return void socket.destroy();
    const upstream = net.connect(this.options.httpPort, this.upstreamHost, () => {
      const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
      for (let index = 0; index < request.rawHeaders.length; index += 2) lines.push(`${request.rawHeaders[index]}: ${request.rawHeaders[index + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    socket.on('error', end);
    socket.on('close', end);
    upstream.on('close', end);
  }
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  sendText(response, status, JSON.stringify(body), 'application/json');
}

function sendText(response: http.ServerResponse, status: number, text: string, contentType: string): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}
