/**
 * A stand-in for Segment's Public API functions endpoints on 127.0.0.1, implementing what the
 * documentation describes: Bearer auth, GET /functions?resourceType=…&pagination.count=…
 * &pagination.cursor=… (pages with `pagination.next`), GET/PATCH /functions/{id}, POST /functions,
 * `{ data }` answers and `{ errors: [{ type, message }] }` failures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredFunction {
  id: string;
  displayName: string;
  resourceType: string;
  code: string;
  description?: string;
  settings: unknown[];
}

export class FakeSegmentApi {
  readonly functions: StoredFunction[] = [];
  readonly calls: Array<{ method: string; path: string; query: Record<string, string> }> = [];
  /** Set to answer every request with this status and message. */
  failWith: { status: number; message: string } | undefined;
  private readonly server: http.Server;
  private nextId = 1;

  constructor(readonly token: string) {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.handle(request, Buffer.concat(chunks).toString('utf8'), response));
    });
  }

  /** Adds functions of other names (and other types) so the lookup has to page. */
  seed(count: number): void {
    for (let index = 0; index < count; index++) {
      this.functions.push({ id: `fn_${this.nextId++}`, displayName: `Other function ${index}`, resourceType: index % 3 === 0 ? 'SOURCE' : 'DESTINATION', code: 'async function onTrack() {}', settings: [] });
    }
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: http.IncomingMessage, body: string, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    this.calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const fail = (status: number, type: string, message: string) => send(status, { errors: [{ type, message }] });
    if (request.headers.authorization !== `Bearer ${this.token}`) return fail(401, 'unauthorized', 'invalid or missing token');
    if (this.failWith) return fail(this.failWith.status, 'error', this.failWith.message);

    const byId = /^\/functions\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && url.pathname === '/functions') {
      const resourceType = url.searchParams.get('resourceType');
      if (!resourceType) return fail(400, 'validation', 'resourceType is required');
      const count = Number(url.searchParams.get('pagination.count') ?? '10');
      if (!Number.isInteger(count) || count < 1 || count > 200) return fail(400, 'validation', 'pagination.count must be 1–200');
      const matching = this.functions.filter((fn) => fn.resourceType === resourceType);
      const start = Number(url.searchParams.get('pagination.cursor') ?? '0');
      const page = matching.slice(start, start + count).map(({ code: _code, ...item }) => item);
      const next = start + count < matching.length ? String(start + count) : null;
      return send(200, { data: { functions: page, pagination: { current: String(start), next, totalEntries: matching.length } } });
    }
    if (method === 'GET' && byId) {
      const found = this.functions.find((fn) => fn.id === byId[1]);
      return found ? send(200, { data: { function: found } }) : fail(404, 'not-found', 'function not found');
    }
    const input = body ? (JSON.parse(body) as Partial<StoredFunction>) : {};
    if (method === 'POST' && url.pathname === '/functions') {
      if (!input.code || !input.displayName || !input.resourceType) return fail(400, 'validation', 'code, displayName and resourceType are required');
      const created: StoredFunction = { id: `fn_${this.nextId++}`, displayName: input.displayName, resourceType: input.resourceType, code: input.code, settings: input.settings ?? [], ...(input.description ? { description: input.description } : {}) };
      this.functions.push(created);
      return send(200, { data: { function: created } });
    }
    if (method === 'PATCH' && byId) {
      const found = this.functions.find((fn) => fn.id === byId[1]);
      if (!found) return fail(404, 'not-found', 'function not found');
      if (input.code !== undefined) found.code = input.code;
      if (input.settings !== undefined) found.settings = input.settings;
      return send(200, { data: { function: found } });
    }
    return fail(404, 'not-found', `no route ${method} ${url.pathname}`);
  }
}
