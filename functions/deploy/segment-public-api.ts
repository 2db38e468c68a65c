/**
 * The slice of Segment's Public API that function:deploy needs: list functions (paginated),
 * read one, create, update its code and settings. Bearer token auth; answers wrapped in `{ data }`,
 * errors in `{ errors: [{ type, message }] }`. The token is sent and never printed.
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
  readonly code?: string;
  readonly settings?: readonly FunctionSetting[];
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
      throw new PublicApiError(response.status, method, path.split('?')[0]!, message.split(this.token).join('[token]'));
    }
    const data = (parsed as { data?: T } | undefined)?.data;
    if (data === undefined) throw new PublicApiError(response.status, method, path.split('?')[0]!, 'the answer has no data');
    return data;
  }
}
