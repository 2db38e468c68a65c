/**
 * Serializing an event into JSON that Materialize can store, so that one odd event never costs
 * its batch (a 400 for a body is a 400 for every event in it).
 *
 * - Nesting: Materialize parses webhook bodies with serde_json, whose recursion limit stops at 128
 *   levels ("recursion limit exceeded"); a batch's array is one level, so an event may nest at
 *   most 126 levels to be deliverable alone and in a batch. Deeper events can never be delivered:
 *   they are rejected with the reason (and a cyclic object is caught by the same walk).
 * - Text: a lone UTF-16 surrogate (a client cut a string in the middle of an emoji) serializes as
 *   `"\ud83d"`, which serde_json refuses ("lone leading surrogate in hex escape"), and `\u0000`
 *   cannot be stored in jsonb. Both are replaced with U+FFFD, the replacement character — what
 *   any UTF-8 encoder does with ill-formed text — and the rest of the event is delivered as is.
 */

export const MAX_EVENT_NESTING = 126;

/** Why an event can never be delivered; the caller adds the messageId. */
export class UndeliverableEventError extends Error {}

export interface SerializedEvent {
  readonly body: string;
  /** Strings (keys or values) whose unstorable characters were replaced with U+FFFD. */
  readonly repairedStrings: number;
}

// Without the `u` flag these match UTF-16 code units: a high surrogate not followed by a low
// one, a low surrogate not preceded by a high one, or NUL.
const UNSTORABLE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function serializeEvent(event: Record<string, unknown>): SerializedEvent {
  const repairs = countRepairs(event);
  const value = repairs > 0 ? repaired(event) : event;
  let body: string | undefined;
  try {
    body = JSON.stringify(value);
  } catch (error) {
    // BigInt values and the like: nothing Segment sends, but a clear reason beats a TypeError.
    throw new UndeliverableEventError(`it cannot be serialized as JSON (${(error as Error).message})`);
  }
  if (body === undefined) throw new UndeliverableEventError('it serializes to nothing');
  return { body, repairedStrings: repairs };
}

/**
 * Walks the event without recursion (a hostile event cannot overflow the stack), stopping at the
 * nesting limit, and counts the strings that need repair.
 */
function countRepairs(event: Record<string, unknown>): number {
  let repairs = 0;
  const pending: Array<{ value: unknown; depth: number; path: string }> = [{ value: event, depth: 1, path: '' }];
  while (pending.length > 0) {
    const { value, depth, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) repairs++;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_EVENT_NESTING) {
      throw new UndeliverableEventError(
        `it is nested more than ${MAX_EVENT_NESTING} levels deep (at ${path || 'the top'}); Materialize's JSON parser stops at 128 levels (recursion limit exceeded) and a batch adds one`,
      );
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, depth: depth + 1, path: `${path}[${index}]` }));
    } else {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (UNSTORABLE.test(key)) repairs++;
        pending.push({ value: item, depth: depth + 1, path: path ? `${path}.${key}` : key });
      }
    }
  }
  return repairs;
}

/** A copy with every unstorable character replaced; depth is bounded by the walk above. */
function repaired(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE_ALL, '\ufffd');
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(repaired);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) copy[key.replace(UNSTORABLE_ALL, '\ufffd')] = repaired(item);
  return copy;
}
