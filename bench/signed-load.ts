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

/** Sends `events` in batches of 500; resolves with the time taken in milliseconds. */
export async function loadSigned(url: string, events: readonly Record<string, unknown>[], secret = SEED_SECRET): Promise<number> {
  const started = performance.now();
  const batches: string[] = [];
  for (let index = 0; index < events.length; index += BATCH) batches.push(JSON.stringify(events.slice(index, index + BATCH)));
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches.length) await sendSigned(url, batches[next++]!, secret);
    }),
  );
  return performance.now() - started;
}
