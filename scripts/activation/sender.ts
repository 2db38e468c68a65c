/** What the worker asks of a destination, whichever it is. */
import type { Change } from './changes.ts';
import type { DeliveryFailure } from './checkpoint-store.ts';

export interface RetryNotice {
  readonly attempt: number;
  /** Why the last attempt failed (status and the receiver's answer, never a secret). */
  readonly reason: string;
  readonly delayMs: number;
  /** Messages waiting for the retry. */
  readonly messages: number;
}

export interface DeliverOptions {
  /**
   * The worker is stopping: waits between retries are cut short and deliver rejects (the batch
   * stays pending, sent again by the next worker); a request in flight is let finish.
   */
  readonly signal: AbortSignal;
  readonly onRetry?: (notice: RetryNotice) => void;
}

export interface Sender {
  /** For people: where changes go (no credentials). */
  readonly description: string;
  /**
   * Delivers the changes of one timestamp. Resolves once each was accepted or refused for good
   * (the refusals, each with the change's key and the receiver's answer); transient failures
   * (429, 5xx, timeouts, no connection) are retried with backoff until they pass or `signal` aborts.
   */
  deliver(changes: readonly Change[], options: DeliverOptions): Promise<DeliveryFailure[]>;
  close(): Promise<void>;
}

/** Exponential backoff with jitter: 250 ms, 500 ms, 1 s … up to `maxMs`. */
export function backoffMs(attempt: number, maxMs = 30_000, minMs = 250): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** `Retry-After` in seconds or as a date, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, capMs = 60_000): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(capMs, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(capMs, Math.max(0, date - Date.now()));
}

/** Statuses worth retrying: the receiver is busy, overloaded or briefly unavailable. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A receiver's answer, short enough to log and store. */
export function shortAnswer(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
