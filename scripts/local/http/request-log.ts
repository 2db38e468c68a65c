/**
 * What the webhook HTTP API received, for the console: the last requests (time, status, size, event
 * types, and for a rejection the reason in words), counts per status per source, and per-second
 * request and event counts over the last minutes. Nothing secret is kept: no header values, no
 * body beyond the event types, never a signature.
 */

/** One request as the console shows it. */
export interface RequestRecord {
  readonly id: number;
  /** Milliseconds since the epoch, when the request arrived. */
  readonly time: number;
  /** `schema.source` for a webhook request, the path otherwise. */
  readonly target: string;
  readonly status: number;
  readonly bytes: number;
  /** Rows appended (0 unless accepted). */
  readonly events: number;
  /** Segment `type` values in the body (distinct, in order of first appearance), when it is JSON. */
  readonly eventTypes: readonly string[];
  /** Why it was rejected, in words, with what to do. */
  readonly reason?: string;
  readonly ms: number;
}

/** Per target: counts by status, and per-second buckets. */
export interface TargetSummary {
  readonly target: string;
  readonly statuses: Readonly<Record<string, number>>;
  /** Seconds since the epoch of the first bucket; buckets[i] is second `start + i`. */
  readonly start: number;
  readonly requests: readonly number[];
  readonly events: readonly number[];
}

export interface RequestLogSnapshot {
  readonly recent: readonly RequestRecord[];
  readonly targets: readonly TargetSummary[];
  readonly windowSeconds: number;
}

type Listener = (record: RequestRecord) => void;

const RECENT_LIMIT = 100;
/** Five minutes of per-second buckets. */
export const WINDOW_SECONDS = 300;
/** Bodies larger than this are not parsed for event types (the append already parsed them once). */
const TYPE_SCAN_LIMIT = 256 * 1024;

interface TargetState {
  statuses: Record<string, number>;
  /** Ring of per-second buckets indexed by second % WINDOW_SECONDS. */
  seconds: Int32Array;
  requests: Int32Array;
  events: Int32Array;
}

export class RequestLog {
  private readonly recent: RequestRecord[] = [];
  private readonly targets = new Map<string, TargetState>();
  private readonly listeners = new Set<Listener>();
  private nextId = 1;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Records a request. `body`: a webhook body, whose Segment event types are read only when the
   * record is looked at (a snapshot, a page's push), not on the append's path.
   */
  record(entry: Omit<RequestRecord, 'id' | 'eventTypes'> & { body?: Buffer }): RequestRecord {
    const { body, ...fields } = entry;
    const record = { id: this.nextId++, ...fields } as RequestRecord;
    defineEventTypes(record, body);
    this.recent.push(record);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    const state = this.targetState(record.target);
    state.statuses[record.status] = (state.statuses[record.status] ?? 0) + 1;
    const second = Math.floor(record.time / 1000);
    const slot = second % WINDOW_SECONDS;
    if (state.seconds[slot] !== second) {
      state.seconds[slot] = second;
      state.requests[slot] = 0;
      state.events[slot] = 0;
    }
    state.requests[slot]!++;
    state.events[slot]! += record.events;
    for (const listener of this.listeners) listener(record);
    return record;
  }

  /** Calls `listener` for every request recorded from now on; returns the unsubscribe. */
  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): RequestLogSnapshot {
    const last = Math.floor(this.now() / 1000);
    const start = last - WINDOW_SECONDS + 1;
    const targets = [...this.targets].map(([target, state]): TargetSummary => {
      const requests = new Array<number>(WINDOW_SECONDS).fill(0);
      const events = new Array<number>(WINDOW_SECONDS).fill(0);
      for (let second = start; second <= last; second++) {
        const slot = second % WINDOW_SECONDS;
        if (state.seconds[slot] !== second) continue;
        requests[second - start] = state.requests[slot]!;
        events[second - start] = state.events[slot]!;
      }
      return { target, statuses: { ...state.statuses }, start, requests, events };
    });
    return { recent: [...this.recent], targets: targets.sort((a, b) => a.target.localeCompare(b.target)), windowSeconds: WINDOW_SECONDS };
  }

  private targetState(target: string): TargetState {
    let state = this.targets.get(target);
    if (!state) {
      state = { statuses: {}, seconds: new Int32Array(WINDOW_SECONDS).fill(-1), requests: new Int32Array(WINDOW_SECONDS), events: new Int32Array(WINDOW_SECONDS) };
      this.targets.set(target, state);
    }
    return state;
  }
}

/**
 * `eventTypes` as an enumerable getter (JSON.stringify reads it), parsed from the body once, on
 * first read. Bodies too large to scan are not kept.
 */
function defineEventTypes(record: RequestRecord, body: Buffer | undefined): void {
  let types: string[] | undefined = body && body.length <= TYPE_SCAN_LIMIT ? undefined : [];
  let pending = types === undefined ? body : undefined;
  Object.defineProperty(record, 'eventTypes', {
    enumerable: true,
    get: () => {
      if (types === undefined) {
        types = segmentEventTypes(pending!);
        pending = undefined;
      }
      return types;
    },
  });
}

/**
 * The Segment `type` of each event in a JSON body (an event, a batch array, or Segment's
 * `{"batch": [...]}`), distinct and in order. Empty for anything else.
 */
export function segmentEventTypes(body: Buffer): string[] {
  if (body.length === 0 || body.length > TYPE_SCAN_LIMIT) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  const events = Array.isArray(parsed) ? parsed : isRecord(parsed) && Array.isArray(parsed.batch) ? parsed.batch : [parsed];
  const types = new Set<string>();
  for (const event of events) {
    if (isRecord(event) && typeof event.type === 'string') types.add(event.type.slice(0, 40));
    if (types.size >= 8) break;
  }
  return [...types];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
