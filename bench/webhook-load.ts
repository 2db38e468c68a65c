/**
 * Webhook load generator, run as its own process by bench/local-server.ts so that the client's
 * work does not share the server's thread (as Segment's senders would not).
 *
 *   node --import tsx bench/webhook-load.ts <url> <secret> <requests> <events per request> <concurrency> <first id> [warm-up requests]
 *
 * The warm-up requests (other events, acknowledged like the rest) are sent before the clock
 * starts: a fresh Node process sends its first few thousand requests at a third of its pace while
 * its JIT warms up (3,000 requests to a server that does nothing: ~9.5k/s; 20,000: ~27k/s), and a
 * sender in use (Segment's) is long warm. Without it, the figure was this client's cold start.
 *
 * Prints one JSON line: { ms, acknowledged, warmUpAcknowledged, failures: { status: count } }.
 */
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, secret, requestsArg, perRequestArg, concurrencyArg, firstIdArg, warmUpArg] = process.argv.slice(2);
if (!url || !secret || !requestsArg || !perRequestArg || !concurrencyArg || !firstIdArg) {
  console.error('usage: webhook-load.ts <url> <secret> <requests> <events per request> <concurrency> <first id> [warm-up requests]');
  process.exit(2);
}
const requests = Number(requestsArg);
const perRequest = Number(perRequestArg);
const concurrency = Number(concurrencyArg);
const firstId = Number(firstIdArg);
const warmUp = Number(warmUpArg ?? 0);

const here = path.dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(readFileSync(path.join(here, '..', 'test', 'fixtures', 'events', 'track.json'), 'utf8')) as Record<string, unknown>;

// Bodies and signatures are prepared before the clock starts: the figure is the server's.
const bodies = Array.from({ length: warmUp + requests }, (_, request) => {
  const events = Array.from({ length: perRequest }, (_, index) => ({ ...template, messageId: `load-${firstId + request * perRequest + index}` }));
  const body = JSON.stringify(perRequest === 1 ? events[0] : events);
  return { body, signature: createHmac('sha1', secret).update(body).digest('hex') };
});

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const failures: Record<string, number> = {};

function send(body: string, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url!, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'event-type': perRequest === 1 ? 'track' : 'batch', 'x-signature': signature },
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends `slice` from `concurrency` clients; resolves to how many were answered 200. */
async function sendAll(slice: ReadonlyArray<{ body: string; signature: string }>): Promise<number> {
  let acknowledged = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < slice.length) {
        const { body, signature } = slice[next++]!;
        const status = await send(body, signature);
        if (status === 200) acknowledged++;
        else failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  return acknowledged;
}

const warmUpAcknowledged = await sendAll(bodies.slice(0, warmUp));
const started = performance.now();
const acknowledged = await sendAll(bodies.slice(warmUp));
const ms = performance.now() - started;
agent.destroy();
console.log(JSON.stringify({ ms, acknowledged, warmUpAcknowledged, failures }));
