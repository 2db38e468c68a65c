/**
 * The slice of Segment's Public API that function:deploy needs: list functions (paginated),
 * read one, create, update its code and settings; list sources and a source's connected
 * destinations (paginated), create and update a destination instance. Bearer token auth; answers
 * wrapped in `{ data }`, errors in `{ errors: [{ type, message }] }`; 429 answers are retried
 * after Retry-After (or a growing pause). The token is sent and never printed.
 * Shapes: https://docs.segmentapis.com/tag/Functions, /tag/Sources, /tag/Destinations.
 */

export const DEFAULT_API_URL = 'https://api.segmentapis.com';

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
  ) {
    super(`Segment Public API ${method} ${path} → ${status}: ${message}`);
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
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Every destination function with this display name, following the pagination cursor. */
  async findDestinationFunction(displayName: string): Promise<SegmentFunction | undefined> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    do {
      const query = new URLSearchParams({ resourceType: 'DESTINATION', 'pagination.count': '100' });
      if (cursor) query.set('pagination.cursor', cursor);
      const page = await this.request<{ functions?: SegmentFunction[]; pagination?: { next?: string | null } }>('GET', `/functions?${query}`);
      const found = (page.functions ?? []).find((item) => item.displayName === displayName);
      if (found) return found;
      cursor = page.pagination?.next ?? undefined;
      if (cursor && seen.has(cursor)) throw new PublicApiError(200, 'GET', '/functions', `pagination cursor '${cursor}' repeated`);
      if (cursor) seen.add(cursor);
    } while (cursor);
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

  /** Every item of a paginated list, following `pagination.next`. */
  private async paginate<T>(path: string, key: string, query: URLSearchParams): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const pageQuery = new URLSearchParams(query);
      pageQuery.set('pagination.count', '200');
      if (cursor) pageQuery.set('pagination.cursor', cursor);
      const page = await this.request<Record<string, unknown> & { pagination?: { next?: string | null } }>('GET', `${path}?${pageQuery}`);
      items.push(...((page[key] as T[] | undefined) ?? []));
      cursor = page.pagination?.next ?? undefined;
      if (cursor && seen.has(cursor)) throw new PublicApiError(200, 'GET', path, `pagination cursor '${cursor}' repeated`);
      if (cursor) seen.add(cursor);
    } while (cursor);
    return items;
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
      throw new PublicApiError(0, method, path.split('?')[0]!, `could not reach ${this.baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
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
      const message = errors?.length ? errors.map((error) => error.message ?? error.type ?? 'error').join('; ') : text.slice(0, 300) || response.statusText;
      const clean = message.split(this.token).join('[token]');
      if (response.status === 429) {
        const header = response.headers.get('retry-after');
        const seconds = header === null || header.trim() === '' ? Number.NaN : Number(header);
        throw new RateLimitedError(method, path.split('?')[0]!, clean, Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) * 1000 : undefined);
      }
      throw new PublicApiError(response.status, method, path.split('?')[0]!, clean);
    }
    const data = (parsed as { data?: T } | undefined)?.data;
    if (data === undefined) throw new PublicApiError(response.status, method, path.split('?')[0]!, 'the answer has no data');
    return data;
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
