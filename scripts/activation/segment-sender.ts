/**
 * Segment destination: changes become Tracking API calls through Segment's own Node library,
 * `@segment/analytics-node` (its batching to `POST <base>/v1/batch`, write key as basic-auth user,
 * its retries with backoff on 429 and 5xx). Each call carries a deterministic `messageId`
 * (activation, key, timestamp, slot), which Segment deduplicates on.
 *
 * An upsert sends the declared call (identify, track or group) with the mapped traits or
 * properties; a retraction sends what `on_delete` says (identify/group with the traits set to
 * null, or a `delete_event` track), built from the row as last delivered. The library's own
 * retries are kept short; past them a transiently failed call is sent again by this sender, with
 * the same messageId, until Segment takes it — so the batch, and the checkpoint, wait for it. A
 * call Segment refuses for good (400, 401, 403, …) is reported with its key and the answer.
 */
import { Analytics } from '@segment/analytics-node';
import { ProjectError } from '../runner/errors.ts';
import { messageId, type Change, type Row } from './changes.ts';
import type { Activation, SegmentMapping } from './declarations.ts';
import type { DeliveryFailure } from './checkpoint-store.ts';
import { backoffMs, isTransientStatus, shortAnswer, sleep, type DeliverOptions, type Sender } from './sender.ts';

export const DEFAULT_TRACKING_URL = 'https://api.segment.io';

export interface SegmentCall {
  readonly type: 'identify' | 'track' | 'group';
  readonly messageId: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly groupId?: string;
  readonly event?: string;
  readonly traits?: Record<string, unknown>;
  readonly properties?: Record<string, unknown>;
  readonly timestamp: Date;
  readonly context: { readonly materialize: { readonly activation: string; readonly op: Change['op']; readonly mz_timestamp: string } };
}

/** A call that cannot be built from the row (a null user id, say): reported like a refusal. */
export class MappingError extends Error {}

/** The Segment calls one change sends (none, one, or — never more than one here — per the mapping). */
export function segmentCalls(activation: string, mapping: SegmentMapping, change: Change): SegmentCall[] {
  const row = change.row;
  const context = { materialize: { activation, op: change.op, mz_timestamp: change.mzTimestamp } };
  const timestamp = callTimestamp(mapping, row, change.mzTimestamp);
  const identity = {
    ...optionalId('userId', mapping.userId, row),
    ...optionalId('anonymousId', mapping.anonymousId, row),
  };
  if (mapping.call !== 'group' && !identity.userId && !identity.anonymousId) {
    throw new MappingError(`${mapping.userId ?? mapping.anonymousId} is null: a Segment ${mapping.call} needs a user id`);
  }
  const id = (slot: string) => messageId(activation, change.keyText, change.mzTimestamp, slot);
  const mapped = (columns: ReadonlyMap<string, string>, values: Row | null) => Object.fromEntries([...columns].map(([name, column]) => [name, values ? (values[column] ?? null) : null]));
  if (change.op === 'delete') {
    if (mapping.onDelete === 'nothing') return [];
    if (mapping.onDelete === 'track') {
      const properties = mapping.call === 'track' ? mapped(mapping.properties, row) : mapped(mapping.traits, row);
      return [{ type: 'track', messageId: id('delete'), ...identity, event: mapping.deleteEvent!, properties, timestamp, context }];
    }
    // null_traits: identify or group with every mapped trait set to null.
    if (mapping.call === 'group') return [{ type: 'group', messageId: id('delete'), ...identity, groupId: groupIdOf(mapping, row), traits: mapped(mapping.traits, null), timestamp, context }];
    return [{ type: 'identify', messageId: id('delete'), ...identity, traits: mapped(mapping.traits, null), timestamp, context }];
  }
  switch (mapping.call) {
    case 'identify':
      return [{ type: 'identify', messageId: id('main'), ...identity, traits: mapped(mapping.traits, row), timestamp, context }];
    case 'group':
      return [{ type: 'group', messageId: id('main'), ...identity, groupId: groupIdOf(mapping, row), traits: mapped(mapping.traits, row), timestamp, context }];
    case 'track': {
      const event = mapping.event ?? row[mapping.eventColumn!];
      if (typeof event !== 'string' || event === '') throw new MappingError(`${mapping.eventColumn} is ${event === null ? 'null' : 'empty'}: a Segment track needs an event name`);
      return [{ type: 'track', messageId: id('main'), ...identity, event, properties: mapped(mapping.properties, row), timestamp, context }];
    }
  }
}

function optionalId(name: 'userId' | 'anonymousId', column: string | undefined, row: Row): Record<string, string> {
  if (!column) return {};
  const value = row[column];
  return value === null || value === undefined || value === '' ? {} : { [name]: String(value) };
}

function groupIdOf(mapping: SegmentMapping, row: Row): string {
  const value = row[mapping.groupId!];
  if (value === null || value === undefined || value === '') throw new MappingError(`${mapping.groupId} is null: a Segment group needs a group id`);
  return String(value);
}

/** The mapped timestamp column when set and not null; else the change's own time in Materialize. */
function callTimestamp(mapping: SegmentMapping, row: Row, mzTimestamp: string): Date {
  const value = mapping.timestamp ? row[mapping.timestamp] : null;
  if (typeof value === 'string' || typeof value === 'number') {
    const date = new Date(typeof value === 'string' && /^\d{4}-\d\d-\d\dT[^Z+]*$/.test(value) && !/[+-]\d\d:?\d\d$/.test(value) ? `${value}Z` : value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  return new Date(Number(mzTimestamp));
}

export interface SegmentSenderOptions {
  /** Base URL of the Tracking API (SEGMENT_TRACKING_URL); calls go to `<base>/v1/batch`. */
  readonly trackingUrl: string;
  readonly writeKey: string;
  /** Calls per request (the library's flushAt; default 100). */
  readonly flushAt?: number;
  /**
   * Calls handed to the library and not yet settled, at most (default 5 × flushAt: five requests
   * in flight). The library keeps a context, its logs and promises per call until its batch is
   * answered: 10,000 calls queued at once held ~380 MB and spent most of the time in garbage
   * collection (bench/activation.ts), a window of a few batches does not.
   */
  readonly window?: number;
  /** Retries inside the library before this sender takes over (default 2). */
  readonly libraryRetries?: number;
  readonly httpRequestTimeoutMs?: number;
}

/** Reads SEGMENT_WRITE_KEY and SEGMENT_TRACKING_URL; errors name the variable, never a value. */
export function segmentSettingsFromEnv(env: NodeJS.ProcessEnv, activations: readonly Activation[]): SegmentSenderOptions {
  const writeKey = env.SEGMENT_WRITE_KEY;
  if (!writeKey) {
    const first = activations[0];
    throw new ProjectError(
      `SEGMENT_WRITE_KEY is not set: activation${activations.length === 1 ? '' : 's'} ${activations.map((each) => each.name).join(', ')} send${activations.length === 1 ? 's' : ''} to Segment`,
      first ? { file: first.file } : undefined,
      "export SEGMENT_WRITE_KEY=… (the write key of the Segment source the calls belong to; npm run dev sets a local one)",
    );
  }
  const trackingUrl = env.SEGMENT_TRACKING_URL || DEFAULT_TRACKING_URL;
  if (!/^https?:\/\/[^/]/.test(trackingUrl)) throw new ProjectError('SEGMENT_TRACKING_URL is not an http(s) URL', undefined, `unset it to use ${DEFAULT_TRACKING_URL}, or set it to the Tracking API's base URL`);
  return { trackingUrl, writeKey };
}

export class SegmentSender implements Sender {
  private readonly analytics: Analytics;
  private readonly window: number;
  /** The receiver's answer to the last failed request that carried a messageId. */
  private readonly answers = new Map<string, string>();
  readonly description: string;

  constructor(
    private readonly activation: Activation,
    private readonly mapping: SegmentMapping,
    options: SegmentSenderOptions,
  ) {
    const base = new URL(options.trackingUrl);
    const prefix = base.pathname.replace(/\/+$/, '');
    this.description = `Segment ${base.origin}${prefix} (${mapping.call})`;
    const flushAt = options.flushAt ?? 100;
    // At least one full batch: a batch is sent when full, so a smaller window would wait for it forever.
    this.window = Math.max(flushAt, options.window ?? flushAt * 5);
    this.analytics = new Analytics({
      writeKey: options.writeKey,
      host: base.origin,
      path: `${prefix}/v1/batch`,
      flushAt,
      // Batches are flushed explicitly when a timestamp's calls are all queued.
      flushInterval: 10_000,
      maxRetries: options.libraryRetries ?? 2,
      httpRequestTimeout: options.httpRequestTimeoutMs ?? 10_000,
      httpClient: (url, init) => this.fetchKeepingAnswers(url, init),
    });
    // Outcomes come from the library's events, not per-call callbacks: those are held back to at
    // least 300 ms after the call (a legacy delay of analytics-core), which would be most of the latency.
    for (const type of ['identify', 'track', 'group'] as const) {
      this.analytics.on(type, (context) => this.settle(context.event.messageId, null));
    }
    this.analytics.on('error', (error) => {
      const failed = error as { reason?: unknown; ctx?: { event: { messageId?: string } } };
      if (failed.ctx) this.settle(failed.ctx.event.messageId, failed.reason ?? new Error('delivery failed'));
    });
  }

  private readonly waiting = new Map<string, (error: unknown) => void>();

  private settle(id: string | undefined, error: unknown): void {
    if (!id) return;
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(error);
  }

  /** The library's fetch, keeping the body of refusals so they can be reported with the row's key. */
  private async fetchKeepingAnswers(url: string, init: { headers: Record<string, string>; body: string; method: string; signal: unknown }) {
    const response = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal as AbortSignal });
    if (response.status >= 400) {
      const answer = shortAnswer(await response.text().catch(() => ''));
      try {
        const sent = JSON.parse(init.body) as { batch?: Array<{ messageId?: string }> };
        for (const call of sent.batch ?? []) if (call.messageId) this.answers.set(call.messageId, answer);
      } catch {
        // Not JSON: nothing to attribute the answer to.
      }
      return { status: response.status, statusText: response.statusText, headers: response.headers };
    }
    return response;
  }

  async deliver(changes: readonly Change[], options: DeliverOptions): Promise<DeliveryFailure[]> {
    const failures: DeliveryFailure[] = [];
    let pending: Array<{ call: SegmentCall; change: Change }> = [];
    for (const change of changes) {
      try {
        for (const call of segmentCalls(this.activation.name, this.mapping, change)) pending.push({ call, change });
      } catch (error) {
        if (!(error instanceof MappingError)) throw error;
        failures.push({ keyText: change.keyText, messageId: messageId(this.activation.name, change.keyText, change.mzTimestamp), status: null, reason: error.message });
      }
    }
    for (let attempt = 1; pending.length; attempt++) {
      const results = await this.sendRound(pending);
      const retry: typeof pending = [];
      let lastReason = '';
      for (const result of results) {
        if (result.error === null) {
          this.answers.delete(result.call.messageId);
          continue;
        }
        const answer = this.answers.get(result.call.messageId);
        this.answers.delete(result.call.messageId);
        const reason = `${result.error}${answer ? `: ${answer}` : ''}`;
        if (result.status === null || isTransientStatus(result.status)) {
          retry.push(result);
          lastReason = reason;
        } else {
          failures.push({ keyText: result.change.keyText, messageId: result.call.messageId, status: result.status, reason });
        }
      }
      pending = retry;
      if (pending.length) {
        const delayMs = backoffMs(attempt);
        options.onRetry?.({ attempt, reason: lastReason, delayMs, messages: pending.length });
        await sleep(delayMs, options.signal);
      }
    }
    return failures;
  }

  /**
   * Hands every call to the library, at most `window` unsettled at a time (each full batch goes
   * out as it fills), flushes the last batch, and waits for each call's outcome.
   */
  private async sendRound(calls: ReadonlyArray<{ call: SegmentCall; change: Change }>): Promise<Array<{ call: SegmentCall; change: Change; error: string | null; status: number | null }>> {
    type Outcome = { call: SegmentCall; change: Change; error: string | null; status: number | null };
    let unsettled = 0;
    let roomMade: (() => void) | null = null;
    const outcomes: Array<Promise<Outcome>> = [];
    for (const { call, change } of calls) {
      while (unsettled >= this.window) await new Promise<void>((resolve) => (roomMade = resolve));
      unsettled++;
      outcomes.push(
        new Promise<Outcome>((resolve) => {
          const done = (error: unknown) => {
            unsettled--;
            const wake = roomMade;
            roomMade = null;
            wake?.();
            if (!error) return resolve({ call, change, error: null, status: null });
            const message = error instanceof Error ? error.message : String(error);
            const status = /^\[(\d{3})\]/.exec(message)?.[1];
            resolve({ call, change, error: message, status: status ? Number(status) : null });
          };
          this.waiting.set(call.messageId, done);
          try {
            this.dispatch(call);
          } catch (error) {
            this.waiting.delete(call.messageId);
            // The library validates synchronously (e.g. a trait object it refuses): a refusal for good.
            unsettled--;
            resolve({ call, change, error: error instanceof Error ? error.message : String(error), status: 400 });
          }
        }),
      );
    }
    await this.analytics.flush();
    return Promise.all(outcomes);
  }

  private dispatch(call: SegmentCall): void {
    const identity = call.userId !== undefined ? { userId: call.userId, ...(call.anonymousId ? { anonymousId: call.anonymousId } : {}) } : { anonymousId: call.anonymousId! };
    const common = { messageId: call.messageId, timestamp: call.timestamp, context: call.context };
    if (call.type === 'identify') this.analytics.identify({ ...identity, ...common, traits: call.traits ?? {} });
    else if (call.type === 'group') this.analytics.group({ ...identity, ...common, groupId: call.groupId!, traits: call.traits ?? {} });
    else this.analytics.track({ ...identity, ...common, event: call.event!, properties: call.properties ?? {} });
  }

  async close(): Promise<void> {
    await this.analytics.closeAndFlush({ timeout: 5_000 });
  }
}
