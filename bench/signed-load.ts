/** Loading events into a webhook source as the function would: signed JSON ARRAY batches, a few requests in flight. */
import { createHmac } from 'node:crypto';

export const SEED_SECRET = 'local-development-secret';
const BATCH = 500;
const IN_FLIGHT = 4;

/** Posts one signed body; throws unless the answer is 200. */
export async function sendSigned(url: string, body: string, secret = SEED_SECRET): Promise<void> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha1', secret).update(body).digest('hex') } });
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
}

/** Events as the JSON bodies of batches of 500, and how many events they hold. */
export interface EventBatches {
  readonly bodies: readonly string[];
  readonly events: number;
}

export function toBatches(events: readonly Record<string, unknown>[]): EventBatches {
  const bodies: string[] = [];
  for (let index = 0; index < events.length; index += BATCH) bodies.push(JSON.stringify(events.slice(index, index + BATCH)));
  return { bodies, events: events.length };
}

/** The batches holding events [from, to); both multiples of 500 (or `to` the end). */
export function sliceBatches(batches: EventBatches, from: number, to = batches.events): EventBatches {
  if (from % BATCH !== 0 || (to % BATCH !== 0 && to !== batches.events)) throw new Error(`slice [${from}, ${to}) does not fall on batches of ${BATCH}`);
  return { bodies: batches.bodies.slice(from / BATCH, Math.ceil(to / BATCH)), events: to - from };
}

/** Sends the batches, a few in flight; resolves with the time taken in milliseconds. */
export async function loadBatches(url: string, batches: EventBatches, secret = SEED_SECRET): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches.bodies.length) await sendSigned(url, batches.bodies[next++]!, secret);
    }),
  );
  return performance.now() - started;
}

/** Sends `events` in batches of 500; resolves with the time taken in milliseconds (serializing them included). */
export async function loadSigned(url: string, events: readonly Record<string, unknown>[], secret = SEED_SECRET): Promise<number> {
  const started = performance.now();
  await loadBatches(url, toBatches(events), secret);
  return performance.now() - started;
}
