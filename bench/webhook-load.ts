/**
 * Webhook load generator, run as its own process by bench/local-server.ts so that the client's
 * work does not share the server's thread (as Segment's senders would not).
 *
 *   node --import tsx bench/webhook-load.ts <url> <secret> <requests> <events per request> <concurrency> <first id>
 *
 * Prints one JSON line: { ms, acknowledged, failures: { status: count } }.
 */
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, secret, requestsArg, perRequestArg, concurrencyArg, firstIdArg] = process.argv.slice(2);
if (!url || !secret || !requestsArg || !perRequestArg || !concurrencyArg || !firstIdArg) {
  console.error('usage: webhook-load.ts <url> <secret> <requests> <events per request> <concurrency> <first id>');
  process.exit(2);
}
const requests = Number(requestsArg);
const perRequest = Number(perRequestArg);
const concurrency = Number(concurrencyArg);
const firstId = Number(firstIdArg);

const here = path.dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(readFileSync(path.join(here, '..', 'test', 'fixtures', 'events', 'track.json'), 'utf8')) as Record<string, unknown>;

// Bodies and signatures are prepared before the clock starts: the figure is the server's.
const bodies = Array.from({ length: requests }, (_, request) => {
  const events = Array.from({ length: perRequest }, (_, index) => ({ ...template, messageId: `load-${firstId + request * perRequest + index}` }));
  const body = JSON.stringify(perRequest === 1 ? events[0] : events);
  return { body, signature: createHmac('sha1', secret).update(body).digest('hex') };
});

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const failures: Record<string, number> = {};
let acknowledged = 0;
let next = 0;

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

const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const { body, signature } = bodies[next++]!;
      const status = await send(body, signature);
      if (status === 200) acknowledged++;
      else failures[status] = (failures[status] ?? 0) + 1;
    }
  }),
);
const ms = performance.now() - started;
agent.destroy();
console.log(JSON.stringify({ ms, acknowledged, failures }));
