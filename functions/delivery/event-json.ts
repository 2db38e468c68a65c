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

// Any code unit that might need repair; a string without one (nearly all) skips the exact test.
const SUSPECT = /[\u0000\ud800-\udfff]/;

function needsRepair(text: string): boolean {
  return SUSPECT.test(text) && UNSTORABLE.test(text);
}

/** Thrown from the walk's deepest level; each level on the way out adds its key to the path. */
class TooDeep {
  readonly keys: Array<string | number> = [];
}

/**
 * Counts the strings (keys and values) that need repair, stopping at the nesting limit. It runs
 * for every event delivered, so it allocates nothing per value. It recurses, which is safe: the
 * depth is capped at MAX_EVENT_NESTING levels, far inside the stack, before anything deeper (or
 * a cycle) is entered.
 */
function countRepairs(event: Record<string, unknown>): number {
  try {
    return repairsIn(event, 1);
  } catch (error) {
    if (!(error instanceof TooDeep)) throw error;
    let path = '';
    for (const key of error.keys.reverse()) path = typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    throw new UndeliverableEventError(
      `it is nested more than ${MAX_EVENT_NESTING} levels deep (at ${path || 'the top'}); Materialize's JSON parser stops at 128 levels (recursion limit exceeded) and a batch adds one`,
    );
  }
}

function repairsIn(value: unknown, depth: number): number {
  if (typeof value === 'string') return needsRepair(value) ? 1 : 0;
  if (value === null || typeof value !== 'object') return 0;
  if (depth > MAX_EVENT_NESTING) throw new TooDeep();
  let repairs = 0;
  let key: string | number = '';
  try {
    if (Array.isArray(value)) {
      for (key = 0; key < value.length; key++) repairs += repairsIn(value[key], depth + 1);
    } else {
      for (key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
        if (needsRepair(key)) repairs++;
        repairs += repairsIn((value as Record<string, unknown>)[key], depth + 1);
      }
    }
  } catch (error) {
    if (error instanceof TooDeep) error.keys.push(key);
    throw error;
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
