/**
 * Webhook load generator, run as its own process by bench/local-server.ts so that the client's
 * work does not share the server's thread (as Segment's senders would not). It writes pre-built
 * HTTP/1.1 requests on keep-alive sockets and reads the answers' status lines, as wrk does, so
 * that it takes as little as it can of the two cores it shares with the server.
 *
 *   node --import tsx bench/webhook-load.ts <url> <secret> <requests> <events per request> <concurrency> <first id> [warm-up requests]
 *
 * The warm-up requests (other events, acknowledged like the rest) are sent before the clock
 * starts: a fresh Node process sends its first few thousand requests at a third of its pace while
 * its JIT warms up (with Node's http client, 3,000 requests to a server that does nothing went at
 * ~9.5k/s, 20,000 at ~27k/s), and a sender in use (Segment's) is long warm. Without it, the
 * figure was this client's cold start.
 *
 * Prints one JSON line: { ms, acknowledged, warmUpAcknowledged, failures: { status: count } }.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeepAliveSocket, sendAll } from './keep-alive-socket.ts';

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

const failures: Record<string, number> = {};
const target = new URL(url);

/**
 * Each request as the bytes sent: HTTP/1.1 on a keep-alive connection, built before the clock
 * starts, for a raw keep-alive socket (keep-alive-socket.ts says why not Node's http client).
 */
function requestBytes(body: string, signature: string): Buffer {
  const head =
    `POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\n` +
    `event-type: ${perRequest === 1 ? 'track' : 'batch'}\r\nx-signature: ${signature}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]);
}

const connections = await Promise.all(Array.from({ length: concurrency }, () => KeepAliveSocket.connect(target)));

// Bodies and signatures are prepared before the clock starts: the figure is the server's.
const bodies = Array.from({ length: warmUp + requests }, (_, request) => {
  const events = Array.from({ length: perRequest }, (_, index) => ({ ...template, messageId: `load-${firstId + request * perRequest + index}` }));
  const body = JSON.stringify(perRequest === 1 ? events[0] : events);
  return requestBytes(body, createHmac('sha1', secret).update(body).digest('hex'));
});


const warmUpAcknowledged = await sendAll(connections, bodies.slice(0, warmUp), failures);
const started = performance.now();
const acknowledged = await sendAll(connections, bodies.slice(warmUp), failures);
const ms = performance.now() - started;
for (const connection of connections) connection.close();
console.log(JSON.stringify({ ms, acknowledged, warmUpAcknowledged, failures }));
