/**
 * A stand-in for Segment's Public API on 127.0.0.1, implementing what the documentation
 * (docs.segmentapis.com: Functions, Sources, Destinations) describes: Bearer auth,
 * GET /functions?resourceType=…&pagination.count=…&pagination.cursor=… (pages with
 * `pagination.next`), GET/PATCH /functions/{id}, POST /functions (answering the function's
 * `catalogId`); GET /sources and GET /sources/{id}/connected-destinations (paginated);
 * POST /destinations {sourceId, metadataId, name, enabled, settings} (404 for an unknown source or
 * metadata, 422 for missing fields), PATCH /destinations/{id}; sensitive settings answered masked
 * as ten dots and their last four characters (as in the documented Create Destination sample); `{ data }` answers, `{ errors: [{ type, message }] }` failures,
 * and 429 with Retry-After when told to rate-limit. Misbehaviours on demand: a 422 that echoes the
 * request body, a non-JSON error page (e.g. a proxy's, echoing what it got), list endpoints whose
 * pagination never ends.
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
  catalogId: string;
}

export interface StoredSource {
  id: string;
  slug: string;
  name: string;
}

export interface StoredDestination {
  id: string;
  sourceId: string;
  metadataId: string;
  name: string;
  enabled: boolean;
  settings: Record<string, unknown>;
}

export class FakeSegmentApi {
  readonly functions: StoredFunction[] = [];
  readonly sources: StoredSource[] = [];
  readonly destinations: StoredDestination[] = [];
  /** Answer the next n requests 429 (with Retry-After: 0). */
  rateLimitNext = 0;
  readonly calls: Array<{ method: string; path: string; query: Record<string, string> }> = [];
  /** Set to answer every request with this status and message. */
  failWith: { status: number; message: string } | undefined;
  /** Answer every POST/PATCH 422 `{ errors: [{ message: 'invalid settings: <the request body>' }] }`, as validators that echo their input do. */
  echoBodyOnWrite = false;
  /** Answer every POST/PATCH 502 with this non-JSON page (given what was sent, Authorization header included). */
  rawErrorOnWrite: ((request: { body: string; authorization: string }) => string) | undefined;
  /** List endpoints (functions, sources, connected destinations) page forever, each page with a new `pagination.next`: empty pages, or pages of one unrelated item. */
  endlessPages: 'empty' | 'full' | undefined;
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
      const id = `fn_${this.nextId++}`;
      this.functions.push({ id, displayName: `Other function ${index}`, resourceType: index % 3 === 0 ? 'SOURCE' : 'DESTINATION', code: 'async function onTrack() {}', settings: [], catalogId: `catalog_${id}` });
    }
  }

  addSources(...sources: Array<{ slug: string; name: string }>): StoredSource[] {
    return sources.map((source) => {
      const stored = { id: `src_${this.nextId++}`, ...source };
      this.sources.push(stored);
      return stored;
    });
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
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      response.end(JSON.stringify({ errors: [{ type: 'too-many-requests', message: 'Too many requests' }] }));
      return;
    }
    const write = method === 'POST' || method === 'PATCH';
    if (write && this.echoBodyOnWrite) return fail(422, 'validation', `invalid settings: ${body}`);
    if (write && this.rawErrorOnWrite) {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end(this.rawErrorOnWrite({ body, authorization: request.headers.authorization ?? '' }));
      return;
    }
    if (method === 'GET' && this.endlessPages) {
      const key = url.pathname === '/functions' ? 'functions' : url.pathname === '/sources' ? 'sources' : /^\/sources\/[^/]+\/connected-destinations$/.test(url.pathname) ? 'destinations' : undefined;
      if (key) {
        const page = Number(url.searchParams.get('pagination.cursor') ?? '0');
        const item = { functions: { id: `fn_endless_${page}`, displayName: `Endless ${page}`, resourceType: 'DESTINATION' }, sources: { id: `src_endless_${page}`, slug: `endless-${page}`, name: `Endless ${page}` }, destinations: { id: `dest_endless_${page}`, enabled: false, metadata: { id: 'other' }, settings: {} } }[key];
        return send(200, { data: { [key]: this.endlessPages === 'full' ? [item] : [], pagination: { current: String(page), next: String(page + 1) } } });
      }
    }
    const destinationRoute = this.handleSourcesAndDestinations(method, url, body, send, fail);
    if (destinationRoute) return;

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
      const id = `fn_${this.nextId++}`;
      const created: StoredFunction = { id, displayName: input.displayName, resourceType: input.resourceType, code: input.code, settings: input.settings ?? [], catalogId: `catalog_${id}`, ...(input.description ? { description: input.description } : {}) };
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

  /** Sources and destinations; true when the request was one of theirs (and is answered). */
  private handleSourcesAndDestinations(method: string, url: URL, body: string, send: (status: number, payload: unknown) => void, fail: (status: number, type: string, message: string) => void): boolean {
    const paginate = <T>(items: T[], key: string) => {
      const count = Number(url.searchParams.get('pagination.count') ?? '10');
      if (!Number.isInteger(count) || count < 1 || count > 200) return fail(400, 'validation', 'pagination.count must be 1–200');
      const start = Number(url.searchParams.get('pagination.cursor') ?? '0');
      const next = start + count < items.length ? String(start + count) : null;
      send(200, { data: { [key]: items.slice(start, start + count), pagination: { current: String(start), next, totalEntries: items.length } } });
    };
    const sensitive = (fnCatalogId: string) => {
      const fn = this.functions.find((item) => item.catalogId === fnCatalogId);
      return new Set(((fn?.settings ?? []) as Array<{ name: string; sensitive?: boolean }>).filter((setting) => setting.sensitive).map((setting) => setting.name));
    };
    const answer = (destination: StoredDestination) => {
      const hidden = sensitive(destination.metadataId);
      const settings = Object.fromEntries(Object.entries(destination.settings).map(([key, value]) => [key, hidden.has(key) && typeof value === 'string' ? '••••••••••' + value.slice(-4) : value]));
      return { id: destination.id, name: destination.name, enabled: destination.enabled, sourceId: destination.sourceId, metadata: { id: destination.metadataId }, settings };
    };
    if (method === 'GET' && url.pathname === '/sources') {
      paginate(this.sources, 'sources');
      return true;
    }
    const connected = /^\/sources\/([^/]+)\/connected-destinations$/.exec(url.pathname);
    if (method === 'GET' && connected) {
      if (!this.sources.some((source) => source.id === connected[1])) fail(404, 'not-found', 'source not found');
      else paginate(this.destinations.filter((destination) => destination.sourceId === connected[1]).map(answer), 'destinations');
      return true;
    }
    const input = body ? (JSON.parse(body) as Partial<StoredDestination>) : {};
    if (method === 'POST' && url.pathname === '/destinations') {
      if (!input.sourceId || !input.metadataId || !input.settings) fail(422, 'validation', 'sourceId, metadataId and settings are required');
      else if (!this.sources.some((source) => source.id === input.sourceId)) fail(404, 'not-found', `source ${input.sourceId} not found`);
      else if (!this.functions.some((fn) => fn.catalogId === input.metadataId)) fail(404, 'not-found', `destination metadata ${input.metadataId} not found`);
      else {
        const created: StoredDestination = { id: `dest_${this.nextId++}`, sourceId: input.sourceId, metadataId: input.metadataId, name: input.name ?? '', enabled: input.enabled ?? false, settings: input.settings };
        this.destinations.push(created);
        send(200, { data: { destination: answer(created) } });
      }
      return true;
    }
    const destinationId = /^\/destinations\/([^/]+)$/.exec(url.pathname);
    if (method === 'PATCH' && destinationId) {
      const found = this.destinations.find((destination) => destination.id === destinationId[1]);
      if (!found) fail(404, 'not-found', 'destination not found');
      else if (input.settings && Object.values(input.settings).some((value) => typeof value === 'string' && value.startsWith('•'))) fail(422, 'validation', 'a masked value was sent back as a setting');
      else {
        if (input.name !== undefined) found.name = input.name;
        if (input.enabled !== undefined) found.enabled = input.enabled;
        if (input.settings !== undefined) found.settings = input.settings;
        send(200, { data: { destination: answer(found) } });
      }
      return true;
    }
    return false;
  }
}
