/**
 * The server as users run it (`npm run local`, a real process on a data directory): a 200 means
 * durable — after kill -9 and a restart every acknowledged row is there and no request is half
 * there; the catalog survives restarts; a second server on the same directory is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, serverArgs, spawnTracked, startServerProcess as startServer } from '../helpers/server-process.ts';
import { hmacHex } from '../helpers/local-server.ts';

const dataRoot = mkdtempSync(path.join(tmpdir(), 'segmat-durable-'));

afterAll(() => {
  rmSync(dataRoot, { recursive: true, force: true });
});

const startServerProcess = (dataDir: string) => startServer(['--data-dir', dataDir]);

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

describe('npm run local on a data directory', () => {
  const dataDir = path.join(dataRoot, 'data');

  it('acknowledged rows survive kill -9; unacknowledged requests are all there or not at all', async () => {
    const first = await startServerProcess(dataDir);
    await withClient(first.pgUrl, async (client) => {
      await client.query(`CREATE SECRET hook AS 'durable'`);
      await client.query(`CREATE SOURCE events FROM WEBHOOK BODY FORMAT JSON ARRAY
        CHECK (WITH (BODY BYTES, HEADERS, SECRET hook BYTES AS s) constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, s, 'sha1')))`);
    });
    const url = `${first.webhookBase}/materialize/public/events`;
    const acknowledged = new Set<number>();
    let stop = false;
    // Four writers of 5-event batches until the process is killed under them.
    const writer = async (offset: number) => {
      for (let batch = offset; !stop; batch += 4) {
        const body = JSON.stringify(Array.from({ length: 5 }, (_, index) => ({ batch, index })));
        try {
          const response = await fetch(url, { method: 'POST', body, headers: { 'x-signature': hmacHex('durable', body) } });
          if (response.status === 200) acknowledged.add(batch);
        } catch {
          return; // The server is gone.
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acknowledged.size < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill('SIGKILL');
    await exited(first.child);
    stop = true;
    await Promise.all(writers);

    const second = await startServerProcess(dataDir);
    const batches = await withClient(second.pgUrl, async (client) => {
      const result = await client.query<{ batch: number; rows: number }>(
        `SELECT (body->>'batch')::int AS batch, count(*)::int AS rows FROM events GROUP BY 1`,
      );
      return new Map(result.rows.map((row) => [row.batch, row.rows]));
    });
    for (const batch of acknowledged) expect(batches.get(batch)).toBe(5);
    for (const rows of batches.values()) expect(rows).toBe(5);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  }, 90_000);

  it('keeps the catalog across restarts and refuses a second server on the same directory', async () => {
    const running = await startServerProcess(dataDir);
    const catalog = await withClient(running.pgUrl, async (client) => {
      const sources = await client.query('SELECT name, type FROM mz_catalog.mz_sources');
      const secrets = await client.query('SELECT name FROM mz_catalog.mz_secrets');
      const hooks = await client.query('SELECT url FROM mz_internal.mz_webhook_sources');
      return { sources: sources.rows, secrets: secrets.rows, urls: hooks.rows };
    });
    expect(catalog).toEqual({
      sources: [{ name: 'events', type: 'webhook' }],
      secrets: [{ name: 'hook' }],
      urls: [{ url: `${running.webhookBase}/materialize/public/events` }],
    });

    const second = spawnTracked(await serverArgs('--data-dir', dataDir, '--pg-port', '0', '--http-port', '0'));
    let stderr = '';
    second.stderr!.on('data', (chunk) => (stderr += chunk));
    expect(await exited(second)).toBe(1);
    expect(stderr).toContain(`another local server (local.ts, pid ${running.child.pid}, since `);
    expect(stderr).toContain(`) is using ${dataDir}`);

    running.child.kill('SIGINT');
    expect(await exited(running.child)).toBe(0);
    expect(running.output()).toMatch(/stopped; \d+ webhook requests accepted/);
  }, 90_000);
});
