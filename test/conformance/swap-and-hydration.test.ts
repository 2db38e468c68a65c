/**
 * ALTER SCHEMA/CLUSTER … SWAP WITH and the hydration/lag/replica-status relations, as Materialize
 * documents them (sql/alter-swap.md, system-catalog/mz_internal.md): names exchanged atomically,
 * objects keeping their ids, schema and cluster; several swaps in one transaction commit together
 * or not at all; Materialize's columns in mz_internal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  // Long enough that a loaded machine reads the new view before it counts as hydrated.
  t = await startTestServer({ hydrationDelayMs: 2_000 });
});
afterAll(async () => {
  await t?.close();
});

async function errorOf(promise: Promise<unknown>): Promise<{ message: string; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { message: string; code?: string };
  }
  throw new Error('expected an error');
}

const placement = () =>
  t.query<{ name: string; schema: string; cluster: string }>(
    `SELECT o.name, s.name AS schema, c.name AS cluster FROM mz_catalog.mz_objects o
       JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id LEFT JOIN mz_catalog.mz_clusters c ON c.id = o.cluster_id
      WHERE s.name IN ('blue', 'green') ORDER BY 2, 1`,
  );

describe('ALTER … SWAP WITH', () => {
  it('exchanges two schemas and two clusters in one transaction; objects keep their ids and follow them', async () => {
    for (const statement of [
      `CREATE SCHEMA blue`,
      `CREATE SCHEMA green`,
      `CREATE CLUSTER blue_c (SIZE = '25cc')`,
      `CREATE CLUSTER green_c (SIZE = '25cc')`,
      `CREATE SOURCE blue.hooks IN CLUSTER blue_c FROM WEBHOOK BODY FORMAT TEXT`,
      `CREATE MATERIALIZED VIEW blue.v IN CLUSTER blue_c AS SELECT 'old' AS version`,
      `CREATE INDEX v_idx IN CLUSTER blue_c ON blue.v (version)`,
      `CREATE MATERIALIZED VIEW green.v IN CLUSTER green_c AS SELECT 'new' AS version`,
      `CREATE INDEX v_idx IN CLUSTER green_c ON green.v (version)`,
      `CREATE SECRET green.s AS 'x'`,
    ]) {
      await t.query(statement);
    }
    const ids = await t.query<{ id: string; name: string }>(`SELECT id, name FROM mz_catalog.mz_schemas WHERE name IN ('blue', 'green') ORDER BY name`);
    await t.query('BEGIN');
    await t.query('ALTER SCHEMA blue SWAP WITH green');
    await t.query('ALTER CLUSTER blue_c SWAP WITH green_c');
    await t.query('COMMIT');
    expect(await t.query(`SELECT version FROM blue.v`)).toEqual([{ version: 'new' }]);
    expect(await placement()).toEqual([
      { name: 's', schema: 'blue', cluster: null },
      { name: 'v', schema: 'blue', cluster: 'blue_c' },
      { name: 'v_idx', schema: 'blue', cluster: 'blue_c' },
      { name: 'hooks', schema: 'green', cluster: 'green_c' },
      { name: 'v', schema: 'green', cluster: 'green_c' },
      { name: 'v_idx', schema: 'green', cluster: 'green_c' },
    ]);
    // The ids went with the objects: the schema now named blue has green's id.
    const after = await t.query<{ id: string; name: string }>(`SELECT id, name FROM mz_catalog.mz_schemas WHERE name IN ('blue', 'green') ORDER BY name`);
    expect(after.map((row) => row.id)).toEqual([ids[1]!.id, ids[0]!.id]);
    // A webhook URL names whatever source holds the name now: the source moved to green with its schema.
    expect((await post(t.server.webhookUrl('hooks', 'green'), 'hello')).status).toBe(200);
    expect((await post(t.server.webhookUrl('hooks', 'blue'), 'hello')).status).toBe(404);
    expect(await t.query(`SELECT body FROM green.hooks`)).toEqual([{ body: 'hello' }]);
  });

  it('a swap that fails inside a transaction leaves both names as they were', async () => {
    await t.query('BEGIN');
    await t.query('ALTER SCHEMA blue SWAP WITH green');
    expect((await errorOf(t.query('ALTER CLUSTER blue_c SWAP WITH nope'))).message).toBe("unknown cluster 'nope'");
    await t.query('ROLLBACK');
    expect(await t.query(`SELECT version FROM blue.v`)).toEqual([{ version: 'new' }]);
  });

  it('refuses unknown and system schemas, with Materialize\'s words', async () => {
    expect((await errorOf(t.query('ALTER SCHEMA blue SWAP WITH nope'))).message).toBe("unknown schema 'nope'");
    expect((await errorOf(t.query('ALTER SCHEMA mz_catalog SWAP WITH blue'))).message).toBe("cannot swap system schema 'mz_catalog'");
    expect((await errorOf(t.query('ALTER SCHEMA a.b.c SWAP WITH blue'))).message).toMatch(/schema name has too many parts/);
  });
});

describe('hydration, lag and replica status', () => {
  it('reports a new materialized view and index as hydrating, with a shrinking lag, until the hydration delay has passed', async () => {
    await t.query(`CREATE MATERIALIZED VIEW blue.fresh IN CLUSTER blue_c AS SELECT 1 AS one`);
    const [fresh] = await t.query<{ id: string }>(`SELECT id FROM mz_catalog.mz_materialized_views WHERE name = 'fresh'`);
    const status = () => t.query<{ object_id: string; replica_id: string; hydrated: boolean }>(`SELECT object_id, replica_id, hydrated FROM mz_internal.mz_hydration_statuses WHERE object_id = $1`, [fresh!.id]);
    const lag = async () => Number((await t.query<{ seconds: string }>(`SELECT extract(epoch FROM lag) AS seconds FROM mz_internal.mz_wallclock_global_lag WHERE object_id = $1`, [fresh!.id]))[0]!.seconds);
    const early = await status();
    expect(early).toHaveLength(1);
    expect(early[0]).toMatchObject({ hydrated: false });
    expect(early[0]!.replica_id).toMatch(/^u\d+$/);
    const firstLag = await lag();
    expect(firstLag).toBeGreaterThan(0);
    // Hydrated once the delay has passed: polled, not slept, so a slow machine cannot race it.
    const deadline = Date.now() + 15_000;
    while (!(await status())[0]!.hydrated && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await status())[0]).toMatchObject({ hydrated: true });
    expect(await lag()).toBe(0);
  });

  it('has Materialize\'s columns for replica statuses and their history', async () => {
    const statuses = await t.query(`SELECT replica_id, process_id, status, reason, updated_at FROM mz_internal.mz_cluster_replica_statuses`);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses[0]).toMatchObject({ process_id: '0', status: 'online', reason: null });
    const history = await t.query(`SELECT replica_id, process_id, status, reason, occurred_at FROM mz_internal.mz_cluster_replica_status_history`);
    expect(history.length).toBe(statuses.length);
  });
});
