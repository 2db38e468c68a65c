/**
 * Zero downtime, measured: a reader queries a mart of the seed project every 10 ms (its own
 * connection) while a change to a parse view below it is deployed blue/green — with hydration
 * taking 1 s (the local server's --hydration-delay), so the wait is real — and then the same kind
 * of change in place. Events keep arriving throughout. Printed: reads, failed reads and reads
 * missing acknowledged events, for both, and the time the swap itself took.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalServer, type LocalServer } from '../scripts/local/local-server.ts';
import { compileProject } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'local-development-secret';
const HYDRATION_MS = 1000;

interface Reads {
  reads: number;
  failed: number;
  partial: number;
}

/** Reads track_event_counts every 10 ms until `until` settles; a read missing an acknowledged event is partial. */
async function readWhile(server: LocalServer, acknowledged: () => number, until: Promise<unknown>): Promise<Reads> {
  const client = new pg.Client(server.pgUrl);
  await client.connect();
  const result: Reads = { reads: 0, failed: 0, partial: 0 };
  let done = false;
  void until.finally(() => (done = true));
  try {
    while (!done) {
      const expected = acknowledged();
      try {
        const rows = await client.query<{ events: string }>(`SELECT coalesce(sum(events), 0) AS events FROM analytics.track_event_counts`);
        result.reads++;
        if (Number(rows.rows[0]!.events) < expected) result.partial++;
      } catch {
        result.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end();
  }
  return result;
}

export async function runBlueGreenBench(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-bg-bench-'));
  for (const entry of ['project.yml', 'models', 'macros', 'tests']) cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, hydrationDelayMs: HYDRATION_MS });
  try {
    const connection = localServerConnection(server.host, server.pgPort, 'bench');
    let acknowledged = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const body = JSON.stringify([{ type: 'track', event: 'Bench', messageId: `bg-${acknowledged}`, userId: 'u', receivedAt: new Date().toISOString() }]);
        const response = await fetch(server.webhookUrl('segment_source', 'segment'), { method: 'POST', body, headers: { 'x-signature': createHmac('sha1', SECRET).update(body).digest('hex') } });
        if (response.status === 200) acknowledged++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const deploy = async (blueGreen: boolean, version: number) => {
      const file = path.join(root, 'models/staging/stg_segment_tracks.sql');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/ AS event,(\n  \d+ AS bench_version,)?/, ` AS event,\n  ${version} AS bench_version,`));
      const project = compileProject(root, { env: {} });
      const deployer = await Deployer.open(project, { connection });
      try {
        if (!blueGreen) return { promoteMs: undefined, report: await deployer.deploy({ project }) };
        const report = await deployer.deployBlueGreen({ project }, { mode: 'deploy', lagThresholdMs: 1000, timeoutMs: 60_000, pollMs: 100, promote: true, keepOld: false, dryRun: false });
        if (report.outcome !== 'promoted') throw new Error(`blue/green deploy ended ${report.outcome}`);
        return { promoteMs: report.promoteMs, report };
      } finally {
        await deployer.close();
      }
    };
    const initial = await Deployer.open(compileProject(root, { env: {} }), { connection });
    await initial.deploy({ project: compileProject(root, { env: {} }) });
    await initial.close();
    await new Promise((resolve) => setTimeout(resolve, HYDRATION_MS + 200));

    const started = performance.now();
    const blueGreenRun = deploy(true, 1);
    const blueGreenReads = await readWhile(server, () => acknowledged, blueGreenRun);
    const { promoteMs } = await blueGreenRun;
    const blueGreenMs = performance.now() - started;
    const inPlaceRun = deploy(false, 2);
    const inPlaceReads = await readWhile(server, () => acknowledged, inPlaceRun);
    await inPlaceRun;
    sending = false;
    await sender;
    console.log(
      `blue/green deploy of a parse-view change under the seed's marts (hydration 1 s, events arriving): ${blueGreenReads.reads} reads every 10 ms, ${blueGreenReads.failed} failed, ${blueGreenReads.partial} missing acknowledged events; swap ${promoteMs?.toFixed(1)} ms, whole deploy ${(blueGreenMs / 1000).toFixed(1)} s (target: 0 failed, 0 partial)`,
    );
    console.log(`the same change in place: ${inPlaceReads.reads} reads, ${inPlaceReads.failed} failed, ${inPlaceReads.partial} missing acknowledged events`);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
