/**
 * The slice of Segment's Public API that function:deploy needs: list functions (paginated),
 * read one, create, update its code and settings; list sources and a source's connected
 * destinations (paginated), create and update a destination instance. Bearer token auth; answers
 * wrapped in `{ data }`, errors in `{ errors: [{ type, message }] }`; 429 answers are retried
 * after Retry-After (or a growing pause). Lists are followed page by page up to MAX_PAGES; an empty
 * page ends one whatever its `pagination.next` says.
 * Nothing sent is printed: every error's text goes through `redactor`, which knows the token and
 * whatever sensitive values the caller adds (the shared secret), in the forms an answer may echo
 * them (JSON-escaped, URL-encoded, cut short).
 * Shapes: https://docs.segmentapis.com/tag/Functions, /tag/Sources, /tag/Destinations.
 */
import { Redactor } from './redact.ts';

export const DEFAULT_API_URL = 'https://api.segmentapis.com';
/** Pages followed in one list before giving up (at 100–200 items a page, far beyond any workspace). */
export const MAX_PAGES = 1000;

export interface FunctionSetting {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly type: 'STRING' | 'BOOLEAN' | 'ARRAY' | 'TEXT_MAP';
  readonly required: boolean;
  readonly sensitive: boolean;
}

export interface SegmentFunction {
  readonly id: string;
  readonly displayName: string;
  readonly resourceType?: string;
  /** The metadata id a destination instance of this function is created with. */
  readonly catalogId?: string;
  readonly code?: string;
  readonly settings?: readonly FunctionSetting[];
}

export interface SegmentSource {
  readonly id: string;
  readonly slug: string;
  readonly name?: string;
}

export interface SegmentDestination {
  readonly id: string;
  readonly name?: string;
  readonly enabled: boolean;
  readonly sourceId?: string;
  readonly metadata?: { readonly id: string };
  /** Sensitive values come back masked (`••••••••1234`). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface DestinationInput {
  readonly name: string;
  readonly enabled: boolean;
  readonly settings: Readonly<Record<string, unknown>>;
}

export class PublicApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    message: string,
    text = `Segment Public API ${method} ${path} → ${status}: ${message}`,
  ) {
    super(text);
  }
}

/** A list whose pagination does not end (a repeated cursor, or more than MAX_PAGES pages). */
export class PaginationError extends PublicApiError {
  constructor(path: string, message: string) {
    super(200, 'GET', path, message, `Segment Public API GET ${path}: ${message}`);
  }
}

export class SegmentPublicApi {
  private readonly baseUrl: string;

  constructor(
    private readonly token: string,
    baseUrl: string = DEFAULT_API_URL,
    private readonly fetchImpl: typeof fetch = fetch,
    /** Pauses before retrying a 429 (tests shorten it). */
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    /** Redacts every error this client throws; add the sensitive values you send (the token is added here). */
    readonly redactor: Redactor = new Redactor(),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.redactor.add(token);
  }

  /** The destination function with this display name, following the pagination cursor until it is found. */
  async findDestinationFunction(displayName: string): Promise<SegmentFunction | undefined> {
    for await (const page of this.pages<SegmentFunction>('/functions', 'functions', new URLSearchParams({ resourceType: 'DESTINATION', 'pagination.count': '100' }))) {
      const found = page.find((item) => item.displayName === displayName);
      if (found) return found;
    }
    return undefined;
  }

  /** The source whose id, slug or name is `reference`, with near matches when none is. */
  async findSource(reference: string): Promise<{ found?: SegmentSource; all: SegmentSource[] }> {
    const all = await this.paginate<SegmentSource>('/sources', 'sources', new URLSearchParams());
    const found = all.find((source) => source.id === reference) ?? all.find((source) => source.slug === reference) ?? all.find((source) => source.name === reference);
    return found ? { found, all } : { all };
  }

  async connectedDestinations(sourceId: string): Promise<SegmentDestination[]> {
    return this.paginate<SegmentDestination>(`/sources/${encodeURIComponent(sourceId)}/connected-destinations`, 'destinations', new URLSearchParams());
  }

  async createDestination(input: DestinationInput & { sourceId: string; metadataId: string }): Promise<SegmentDestination> {
    return (await this.request<{ destination: SegmentDestination }>('POST', '/destinations', input)).destination;
  }

  async updateDestination(id: string, input: Partial<DestinationInput>): Promise<SegmentDestination> {
    return (await this.request<{ destination: SegmentDestination }>('PATCH', `/destinations/${encodeURIComponent(id)}`, input)).destination;
  }

  /** Every item of a paginated list. */
  private async paginate<T>(path: string, key: string, query: URLSearchParams): Promise<T[]> {
    const items: T[] = [];
    const pageQuery = new URLSearchParams(query);
    pageQuery.set('pagination.count', '200');
    for await (const page of this.pages<T>(path, key, pageQuery)) items.push(...page);
    return items;
  }

  /**
   * A list's pages, following `pagination.next`. It ends at a page with no next cursor, or with no
   * items whatever its cursor says (an API that keeps naming a next page of nothing would be
   * followed forever); a cursor seen before, or more than MAX_PAGES pages, is a PaginationError
   * naming the endpoint.
   */
  private async *pages<T>(path: string, key: string, query: URLSearchParams): AsyncGenerator<T[]> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let count = 1; ; count++) {
      const pageQuery = new URLSearchParams(query);
      if (cursor !== undefined) pageQuery.set('pagination.cursor', cursor);
      const page = await this.request<Record<string, unknown> & { pagination?: { next?: unknown } }>('GET', `${path}?${pageQuery}`);
      const items = page[key] ?? [];
      if (!Array.isArray(items)) throw this.error(200, 'GET', path, `the answer's ${key} is not a list`);
      yield items as T[];
      const next = page.pagination?.next;
      if (items.length === 0 || next === undefined || next === null || next === '') return;
      cursor = String(next);
      if (seen.has(cursor)) throw new PaginationError(path, this.redactor.redact(`page ${count + 1} would repeat the cursor '${cursor.slice(0, 60)}' of an earlier page; stopped`));
      if (count >= MAX_PAGES) throw new PaginationError(path, `stopped after ${MAX_PAGES} pages: pagination.next kept naming another page (the list does not end)`);
      seen.add(cursor);
    }
  }

  async getFunction(id: string): Promise<SegmentFunction> {
    return (await this.request<{ function: SegmentFunction }>('GET', `/functions/${encodeURIComponent(id)}`)).function;
  }

  async createFunction(input: { code: string; displayName: string; description: string; settings: readonly FunctionSetting[] }): Promise<SegmentFunction> {
    return (await this.request<{ function: SegmentFunction }>('POST', '/functions', { ...input, resourceType: 'DESTINATION' })).function;
  }

  async updateFunction(id: string, input: { code: string; settings: readonly FunctionSetting[] }): Promise<SegmentFunction> {
    return (await this.request<{ function: SegmentFunction }>('PATCH', `/functions/${encodeURIComponent(id)}`, input)).function;
  }

  private async request<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
    // Segment rate-limits per workspace: a 429 is waited out (Retry-After seconds, else 1, 2, 4, 8 s), five tries.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, body);
      } catch (error) {
        if (!(error instanceof RateLimitedError) || attempt >= 5) throw error;
        await this.sleep(error.retryAfterMs ?? 1000 * 2 ** (attempt - 1));
      }
    }
  }

  private async requestOnce<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw this.error(0, method, path, `could not reach ${this.baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const errors = (parsed as { errors?: Array<{ message?: string; type?: string }> } | undefined)?.errors;
      // Redacted before it is cut: a cut through a value would leave its start behind.
      const clean = errors?.length
        ? this.redactor.truncate(errors.map((error) => String(error.message ?? error.type ?? 'error')).join('; '), 1000)
        : this.redactor.truncate(text, 300) || response.statusText;
      if (response.status === 429) {
        const header = response.headers.get('retry-after');
        const seconds = header === null || header.trim() === '' ? Number.NaN : Number(header);
        throw new RateLimitedError(method, this.redactor.redact(path.split('?')[0]!), clean, Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) * 1000 : undefined);
      }
      throw this.error(response.status, method, path, clean);
    }
    const data = (parsed as { data?: T } | undefined)?.data;
    if (data === undefined) throw this.error(response.status, method, path, 'the answer has no data');
    return data;
  }

  /** An error about `path` (its query left out), redacted. */
  private error(status: number, method: string, path: string, message: string): PublicApiError {
    return new PublicApiError(status, method, this.redactor.redact(path.split('?')[0]!), this.redactor.redact(message));
  }
}

class RateLimitedError extends PublicApiError {
  constructor(
    method: string,
    path: string,
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(429, method, path, message);
  }
}
