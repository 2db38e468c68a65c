/**
 * Segment function figures:
 * - signing cost per ~1 KB event, as the bundle signs (Node's createHmac, hex HMAC-SHA1), and the
 *   whole handler's cost with an instant fetch (prepare + sign + classify), µs per event;
 * - delivery throughput of the built bundle (sandboxed as Segment runs it) into the local server's
 *   seed webhook source, one event per call vs onBatch of 100, events/s (target: batched ≥ 10×).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildBundle } from '../functions/build/build-bundle.ts';
import { loadFunction } from '../functions/harness/segment-sandbox.ts';
import { sendEvents } from '../functions/harness/send-events.ts';
import { sampleEvents } from '../functions/samples/segment-events.ts';
import { median } from './stats.ts';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { compileProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';

const SECRET = 'local-development-secret';

export async function runFunctionBench(): Promise<void> {
  const code = (await buildBundle(path.join(mkdtempSync(path.join(tmpdir(), 'segmat-fn-bench-')), 'fn.js'))).code;
  const events = sampleEvents(2_000, { targetBytes: 1_024, runId: 'sign' });
  const bodies = events.map((event) => JSON.stringify(event));

  // Signing alone, exactly the call the bundle makes: the median of 5 timings of 20,000 signatures
  // (each ~0.1 s; in a fresh process the first ones share the cores with its start-up work).
  for (const body of bodies.slice(0, 500)) createHmac('sha1', SECRET).update(body, 'utf8').digest('hex');
  const rounds = 10;
  const signTimings: number[] = [];
  for (let timing = 0; timing < 5; timing++) {
    const signStarted = performance.now();
    for (let round = 0; round < rounds; round++) for (const body of bodies) createHmac('sha1', SECRET).update(body, 'utf8').digest('hex');
    signTimings.push(((performance.now() - signStarted) * 1000) / (rounds * bodies.length));
  }
  const signUs = median(signTimings);

  // The whole handler in the sandbox with a fetch that answers at once: what the function costs per event.
  const instant = loadFunction({ code, fetch: (async () => new Response(null, { status: 200 })) as typeof fetch });
  const settings = { webhookUrl: 'http://127.0.0.1:1/api/webhook/materialize/segment/segment_source', sharedSecret: SECRET };
  for (const event of events.slice(0, 200)) await instant.onTrack(event, settings);
  const started = performance.now();
  for (const event of events) await instant.onTrack(event, settings);
  const handlerUs = ((performance.now() - started) * 1000) / events.length;
  console.log(`function signing: ${signUs.toFixed(2)} µs per ~1 KB event (hex HMAC-SHA1, as the bundle signs; target < 5 µs); whole handler with an instant fetch ${handlerUs.toFixed(1)} µs per event`);

  // Delivery into the local server (in this process), the seed project deployed.
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const project = compileProject(path.resolve(import.meta.dirname, '..'));
    const deployer = await Deployer.open(project, { connection: localServerConnection(server.host, server.pgPort, 'bench') });
    await deployer.deploy({ project });
    await deployer.close();
    const fn = loadFunction({ code });
    const target = { webhookUrl: server.webhookUrl('segment_source', 'segment'), sharedSecret: SECRET };
    const run = async (label: string, count: number, batchSize: number) => {
      const load = sampleEvents(count, { targetBytes: 1_024, runId: `${label}-${Date.now()}` });
      const report = await sendEvents({ handlers: fn, events: load, settings: target, batchSize, concurrency: 16, rate: 0 });
      if (report.delivered !== count) throw new Error(`${label}: ${report.delivered}/${count} delivered: ${report.failures[0]?.message}`);
      return (count / report.ms) * 1000;
    };
    // Both paths warmed (the bench starts in a fresh process: a cold batch path read 20% slower),
    // then three timings of each, alternated; the medians.
    await run('warmup', 500, 1);
    await run('warmup-batched', 3_000, 100);
    const singles: number[] = [];
    const batches: number[] = [];
    for (let round = 0; round < 3; round++) {
      singles.push(await run(`single-${round}`, 3_000, 1));
      batches.push(await run(`batched-${round}`, 30_000, 100));
    }
    const single = median(singles);
    const batched = median(batches);
    const sql = new pg.Client(server.pgUrl);
    await sql.connect();
    const rows = Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM segment.segment_source`)).rows[0]!.n);
    await sql.end();
    if (rows !== 102_500) throw new Error(`the source has ${rows} rows, expected 102,500`);
    console.log(
      `function delivery into the local server (~1 KB events, 16 calls in flight, server in this process): one event per call ${Math.round(single)} events/s, onBatch of 100 ${Math.round(batched)} events/s = ${(batched / single).toFixed(1)}× (target ≥ 10×; medians of 3, alternated); rows = delivered (${rows})`,
    );
  } finally {
    await server.stop();
  }
}
