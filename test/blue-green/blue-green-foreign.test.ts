/**
 * Objects that are not the project's and read what blue/green swaps: a view or materialized view
 * made by hand over a mart would, after the swap, read the old version — and the cleanup dropped
 * the old version with CASCADE, taking them along. The deploy refuses before any DDL, naming
 * them; the cleanup never cascades (a dependent that appears during the deploy keeps the old
 * version, with an error saying so); --abort refuses as well.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import type { BlueGreenOptions, BlueGreenReport } from '../../scripts/runner/deploy/blue-green/blue-green-run.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { catalogIds, connectionTo, deployProject, refusal } from '../helpers/deploy.ts';
import { hmacHex, post, serverForTests } from '../helpers/local-server.ts';
import { copyOfSeedProject, tempProject } from '../helpers/temp-project.ts';

const HYDRATION_MS = 300;
const t = serverForTests({ hydrationDelayMs: HYDRATION_MS });

const OPTIONS: BlueGreenOptions = { mode: 'deploy', lagThresholdMs: 1000, timeoutMs: 20_000, pollMs: 50, promote: true, keepOld: false, dryRun: false };

async function blueGreen(root: string, options: Partial<BlueGreenOptions> = {}, log?: (line: string) => void): Promise<BlueGreenReport> {
  const project = compileProject(root);
  const deployer = await Deployer.open(project, { connection: connectionTo(t), ...(log ? { log } : {}) });
  try {
    return await deployer.deployBlueGreen({ project, dryRun: options.dryRun ?? false }, { ...OPTIONS, ...options });
  } finally {
    await deployer.close();
  }
}

async function stagingObjects(): Promise<string[]> {
  const rows = await t.query<{ name: string }>(`SELECT name FROM mz_catalog.mz_schemas WHERE name LIKE '%\\_deploy' UNION ALL SELECT name FROM mz_catalog.mz_clusters WHERE name LIKE '%\\_deploy'`);
  return rows.map((row) => row.name).sort();
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const at = path.join(root, file);
  writeFileSync(at, change(readFileSync(at, 'utf8')));
}

/** Ingestion in its own schema and cluster, analytics (a view, a materialized view, an index) in another. */
function shop(name: string): string {
  return tempProject({
    'project.yml': `name: ${name}\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\nfolders:\n  ingest: { schema: ${name}_ingest, cluster: ${name}_ingest_cluster }\n  analytics: { schema: ${name}, cluster: ${name}_cluster }\n`,
    [`models/ingest/${name}_ingest_cluster.sql`]: "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
    'models/ingest/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON ARRAY\n',
    [`models/analytics/${name}_cluster.sql`]: "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
    'models/analytics/orders.sql': "SELECT body->>'id' AS id, (body->>'total')::numeric AS total FROM {{ref.hooks}}\n",
    'models/analytics/revenue.sql': '---\nkind: materialized_view\nindexes:\n  - columns: [orders]\n---\nSELECT count(*) AS orders, sum(total) AS revenue FROM {{ref.orders}}\n',
  });
}

describe('blue/green and objects outside the project', () => {
  it('refuses before any DDL when a hand-made view and materialized view read a swapped mart, naming them; both keep answering', async () => {
    const root = copyOfSeedProject();
    await deployProject(t, root);
    const body = JSON.stringify([{ type: 'track', event: 'Signed Up', messageId: 'fg-1', userId: 'u1', receivedAt: '2026-11-23T10:00:00.000Z' }]);
    expect((await post(t.server.webhookUrl('segment_source', 'segment'), body, { 'x-signature': hmacHex('local-development-secret', body) })).status).toBe(200);
    await t.query(`CREATE VIEW public.my_report AS SELECT * FROM analytics.track_event_counts`);
    await t.query(`CREATE CLUSTER my_reports_cluster (SIZE = '25cc')`);
    await t.query(`CREATE MATERIALIZED VIEW public.my_report_mv IN CLUSTER my_reports_cluster AS SELECT * FROM analytics.track_event_counts`);

    edit(root, 'models/staging/stg_segment_tracks.sql', (text) => text.replace("e.body->>'event' AS event,", "e.body->>'event' AS event,\n  upper(e.body->>'event') AS event_upper,"));
    const before = await catalogIds(t);
    const text = await refusal(blueGreen(root));
    expect(text).toContain('materialize.public.my_report ');
    expect(text).toContain('materialize.public.my_report_mv ');
    expect(text).toMatch(/analytics\.track_event_counts/);
    expect(text).toMatch(/move them into the project|drop/);
    // Nothing was sent: no staging object, every id as it was, the marker never written.
    expect(await stagingObjects()).toEqual([]);
    expect(await catalogIds(t)).toEqual(before);
    expect(await t.query(`SELECT name FROM mz_catalog.mz_tables WHERE name = 'blue_green_deploys'`)).toEqual([]);
    const expected = [{ event: 'Signed Up', events: '1' }];
    expect(await t.query(`SELECT event, events FROM public.my_report`)).toEqual(expected);
    expect(await t.query(`SELECT event, events FROM public.my_report_mv`)).toEqual(expected);

    // --keep-old and --no-promote are refused alike (the objects would read a version left behind).
    expect(await refusal(blueGreen(root, { keepOld: true }))).toContain('materialize.public.my_report ');
    expect(await refusal(blueGreen(root, { promote: false }))).toContain('materialize.public.my_report_mv ');
    expect(await stagingObjects()).toEqual([]);

    // Once they are gone, the same deploy goes through.
    await t.query(`DROP VIEW public.my_report`);
    await t.query(`DROP MATERIALIZED VIEW public.my_report_mv`);
    expect((await blueGreen(root)).outcome).toBe('promoted');
    expect(await t.query(`SELECT event_upper FROM analytics.stg_segment_tracks`)).toEqual([{ event_upper: 'SIGNED UP' }]);
    expect(await stagingObjects()).toEqual([]);
  }, 120_000);

  it('--keep-old: a view over the kept old version stops the next deploy from dropping it, before any DDL; once gone, the next deploy drops it', async () => {
    const root = shop('kept');
    await deployProject(t, root);
    edit(root, 'models/analytics/orders.sql', (text) => text.replace('AS total', 'AS total, 2 AS version'));
    expect((await blueGreen(root, { keepOld: true })).outcome).toBe('promoted');
    expect(await stagingObjects()).toEqual(['kept_cluster_deploy', 'kept_deploy']);
    await t.query(`CREATE VIEW public.kept_report AS SELECT orders FROM kept_deploy.revenue`);

    // Nothing changed since: the deploy would only drop the kept version, and refuses to.
    const before = await catalogIds(t);
    const text = await refusal(blueGreen(root));
    expect(text).toContain('materialize.public.kept_report (view) reads kept_deploy.revenue');
    expect(await catalogIds(t)).toEqual(before);
    expect(await t.query(`SELECT orders FROM public.kept_report`)).toEqual([{ orders: '0' }]);

    await t.query(`DROP VIEW public.kept_report`);
    const report = await blueGreen(root);
    expect(report.outcome).toBe('nothing-to-swap');
    expect(report.notes.join()).toMatch(/kept by an earlier --keep-old/);
    expect(await stagingObjects()).toEqual([]);
  });

  it('a dependent made while the deploy waits keeps the old version (never cascaded away); --abort refuses until it is gone', async () => {
    const name = 'late';
    const root = shop(name);
    await deployProject(t, root);
    expect((await post(t.server.webhookUrl('hooks', `${name}_ingest`), JSON.stringify([{ id: 'a', total: 5 }]), { 'content-type': 'application/json' })).status).toBe(200);
    edit(root, 'models/analytics/orders.sql', (text) => text.replace('AS total', 'AS total, 2 AS version'));

    // Past the check, while the staged version hydrates: someone builds on the live mart.
    let made: Promise<unknown> | undefined;
    const text = await refusal(
      blueGreen(root, {}, (line) => {
        if (/^waiting: /.test(line)) made ??= t.query(`CREATE VIEW public.late_report AS SELECT orders FROM late.revenue`);
      }),
    );
    await made;
    expect(text).toMatch(/promoted/);
    expect(text).toContain('materialize.public.late_report');
    expect(text).toMatch(/--abort/);
    // The new version is live; the old one is kept for the view reading it, which still answers.
    expect(await t.query(`SELECT DISTINCT version FROM late.orders`)).toEqual([{ version: 2 }]);
    expect(await t.query(`SELECT orders FROM public.late_report`)).toEqual([{ orders: '1' }]);
    expect(await stagingObjects()).toEqual(['late_cluster_deploy', 'late_deploy']);

    // --abort (and the next deploy) refuse to drop it while the view reads it.
    expect(await refusal(blueGreen(root, { mode: 'abort' }))).toContain('materialize.public.late_report');
    expect(await t.query(`SELECT orders FROM public.late_report`)).toEqual([{ orders: '1' }]);
    await t.query(`DROP VIEW public.late_report`);
    expect((await blueGreen(root, { mode: 'abort' })).outcome).toBe('aborted');
    expect(await stagingObjects()).toEqual([]);
    expect((await blueGreen(root)).outcome).toBe('nothing-to-swap');
  }, 60_000);
});
