/**
 * Talking to the server: the console's own endpoints (graph, node, request log, SSE) and the local
 * server's SQL APIs as any client uses them — POST /api/sql, and the WebSocket API for statements
 * that stream (SUBSCRIBE). The console server passes both through to the local server's HTTP port.
 */

export type DeployStatus = 'deployed' | 'redeploying' | 'failed' | 'not_deployed' | 'changed';

export interface StatusEvent {
  time: number;
  status: DeployStatus;
  detail?: string;
}

export interface GraphNode {
  name: string;
  kind: string;
  schema: string;
  path: string;
  dependsOn: string[];
  dependents: string[];
  depth: number;
  status: DeployStatus;
  error?: string;
  location?: string;
  test?: { status: 'pass' | 'warn' | 'fail' | 'error'; failures: number };
  /** Unit tests: the view under test ('' when the test names none), and the last outcome. */
  unitTestOf?: string;
  unit?: UnitTestView;
  version: number;
  /** Bumped when the object is created or replaced. */
  deployedVersion: number;
  history: StatusEvent[];
}

/** A unit test's last outcome (scripts/console/unit-test-board.ts). */
export interface UnitTestView {
  name: string;
  model: string | null;
  outcome: 'pass' | 'fail' | 'invalid' | 'error';
  /** file:line of the test. */
  location: string;
  ms: number;
  ranAt: number;
  missing: Record<string, unknown>[];
  missingCount: number;
  unexpected: Record<string, unknown>[];
  unexpectedCount: number;
  error?: { message: string; location: string | null; hint: string | null };
}

export interface GraphSnapshot {
  project: string | null;
  note?: string;
  nodes: GraphNode[];
  version: number;
  counts: Record<string, number | null>;
}

export interface NodeDetail extends GraphNode {
  template: string | null;
  sql: string;
  description: string | null;
  cluster: string | null;
  tags: string[];
}

export interface RequestRecord {
  id: number;
  time: number;
  target: string;
  status: number;
  bytes: number;
  events: number;
  eventTypes: string[];
  reason?: string;
  ms: number;
}

export interface TargetSummary {
  target: string;
  statuses: Record<string, number>;
  start: number;
  requests: number[];
  events: number[];
}

export interface RequestLogSnapshot {
  recent: RequestRecord[];
  targets: TargetSummary[];
  windowSeconds: number;
}

export interface ConsoleInfo {
  mode: 'dev' | 'local';
  pgUrl: string;
  webhookBaseUrl: string;
  httpPort: number;
  pgPort: number;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export const fetchInfo = () => getJson<ConsoleInfo>('/console/api/info');
export const fetchGraph = () => getJson<GraphSnapshot>('/console/api/graph');
export const fetchNode = (name: string) => getJson<NodeDetail>(`/console/api/node/${encodeURIComponent(name)}`);
export const fetchRequests = () => getJson<RequestLogSnapshot>('/console/api/requests');

export interface ServerEvents {
  graph(data: { version: number }): void;
  nodes(data: { nodes: GraphNode[] }): void;
  counts(data: { counts: Record<string, number | null> }): void;
  requests(data: { records: RequestRecord[]; targets: TargetSummary[] }): void;
  /** The stream (re)connected: reload what may have been missed. */
  open(): void;
}

/** The console's event stream; EventSource reconnects by itself after a server restart. */
export function listenToServer(handlers: ServerEvents): () => void {
  const source = new EventSource('/console/api/events');
  source.onopen = () => handlers.open();
  for (const name of ['graph', 'nodes', 'counts', 'requests'] as const) {
    source.addEventListener(name, (event) => {
      (handlers[name] as (data: unknown) => void)(JSON.parse((event as MessageEvent<string>).data));
    });
  }
  return () => source.close();
}

export interface SqlColumn {
  name: string;
  type_oid: number;
}

export interface SqlError {
  message: string;
  code: string;
  detail?: string;
  hint?: string;
}

export type SqlResult = { tag: string; rows: unknown[][]; desc: { columns: SqlColumn[] } } | { ok: string } | { error: SqlError };

/** One request to the HTTP SQL API (statements in an implicit transaction, stopping at an error). */
export async function runSql(query: string): Promise<SqlResult[]> {
  const response = await fetch('/api/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const text = await response.text();
  if (!response.ok) return [{ error: { message: text || `HTTP ${response.status}`, code: String(response.status) } }];
  return (JSON.parse(text) as { results: SqlResult[] }).results;
}

/** What a WebSocket API request produces, message by message. */
export interface StatementHandlers {
  onColumns?(columns: SqlColumn[], streaming: boolean): void;
  onRow?(row: unknown[]): void;
  onComplete?(tag: string): void;
  onError?(error: SqlError): void;
  onNotice?(message: string): void;
  /** ReadyForQuery: the request finished (a SUBSCRIBE only when it ends). */
  onDone?(): void;
  /** The socket closed (server gone, or close() called). */
  onClosed?(): void;
}

/**
 * One WebSocket API session running one request. SUBSCRIBE keeps it open and streams rows; close()
 * ends it (the server drops the subscription with the socket).
 */
export class SqlSocket {
  private readonly socket: WebSocket;
  private closedByUs = false;

  constructor(query: string, handlers: StatementHandlers) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/experimental/sql`;
    this.socket = new WebSocket(url);
    let authenticated = false;
    let streaming = false;
    this.socket.onopen = () => this.socket.send(JSON.stringify({ user: 'materialize', password: '' }));
    this.socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; payload: unknown };
      switch (message.type) {
        case 'ReadyForQuery':
          if (!authenticated) {
            authenticated = true;
            this.socket.send(JSON.stringify({ query }));
          } else {
            handlers.onDone?.();
          }
          break;
        case 'CommandStarting':
          streaming = (message.payload as { is_streaming: boolean }).is_streaming;
          break;
        case 'Rows':
          handlers.onColumns?.((message.payload as { columns: SqlColumn[] }).columns, streaming);
          break;
        case 'Row':
          handlers.onRow?.(message.payload as unknown[]);
          break;
        case 'CommandComplete':
          handlers.onComplete?.(message.payload as string);
          break;
        case 'Error':
          handlers.onError?.(message.payload as SqlError);
          break;
        case 'Notice':
          handlers.onNotice?.((message.payload as { message: string }).message);
          break;
      }
    };
    this.socket.onclose = () => {
      if (!this.closedByUs) handlers.onClosed?.();
    };
  }

  close(): void {
    this.closedByUs = true;
    this.socket.close();
  }
}

/** "a"."b" with quotes doubled, as SQL wants identifiers. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
