/**
 * Clusters on the local server as Materialize's documentation describes them (sql/create-cluster,
 * alter-cluster, create/drop-cluster-replica, show-cluster-replicas, system-catalog/mz_catalog)
 * and as its planner decides (managed unless REPLICAS is given, SIZE required, …). Own cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function errorOf(sql: string): Promise<{ message: string; code: string | undefined }> {
  const error = await t.sql.query(sql).then(
    () => undefined,
    (caught: Error & { code?: string }) => caught,
  );
  if (!error) throw new Error(`no error from: ${sql}`);
  return { message: error.message, code: error.code };
}

const replicasOf = (cluster: string) =>
  t.query<{ replica: string; size: string }>(
    `SELECT r.name AS replica, r.size FROM mz_cluster_replicas r JOIN mz_clusters c ON c.id = r.cluster_id WHERE c.name = $1 ORDER BY r.name`,
    [cluster],
  );

describe('CREATE CLUSTER', () => {
  it('managed, with and without parentheses and equals signs; replicas r1…rN of the size', async () => {
    await t.sql.query(`CREATE CLUSTER analytics (SIZE = '100cc', REPLICATION FACTOR = 2)`);
    await t.sql.query(`CREATE CLUSTER ingest SIZE '50cc'`);
    await t.sql.query(`CREATE CLUSTER paused (SIZE '25cc', REPLICATION FACTOR 0, INTROSPECTION INTERVAL 0, INTROSPECTION DEBUGGING false, SCHEDULE = MANUAL)`);
    expect(await replicasOf('analytics')).toEqual([
      { replica: 'r1', size: '100cc' },
      { replica: 'r2', size: '100cc' },
    ]);
    expect(await replicasOf('ingest')).toEqual([{ replica: 'r1', size: '50cc' }]);
    expect(await replicasOf('paused')).toEqual([]);
    expect(await t.query(`SELECT name, managed, size, replication_factor, introspection_interval FROM mz_clusters WHERE name IN ('analytics', 'paused') ORDER BY name`)).toEqual([
      { name: 'analytics', managed: true, size: '100cc', replication_factor: 2, introspection_interval: { seconds: 1 } },
      { name: 'paused', managed: true, size: '25cc', replication_factor: 0, introspection_interval: null },
    ]);
  });

  it('unmanaged, with REPLICAS: each replica as declared; size and factor are NULL on the cluster', async () => {
    await t.sql.query(`CREATE CLUSTER handmade REPLICAS (small (SIZE '1'), big (SIZE = '2', AVAILABILITY ZONE 'use1-az1'))`);
    expect(await replicasOf('handmade')).toEqual([
      { replica: 'big', size: '2' },
      { replica: 'small', size: '1' },
    ]);
    expect(await t.query(`SELECT managed, size, replication_factor FROM mz_clusters WHERE name = 'handmade'`)).toEqual([{ managed: false, size: null, replication_factor: null }]);
    expect(await t.query(`SELECT availability_zone FROM mz_cluster_replicas WHERE name = 'big'`)).toEqual([{ availability_zone: 'use1-az1' }]);
  });

  it.each([
    [`CREATE CLUSTER no_size (REPLICATION FACTOR 1)`, 'SIZE must be specified for managed clusters'],
    [`CREATE CLUSTER both REPLICAS (r1 (SIZE '1')), SIZE '1'`, 'SIZE not supported for unmanaged clusters'],
    [`CREATE CLUSTER managed_with_replicas (MANAGED, SIZE '1', REPLICAS (r1 (SIZE '1')))`, 'REPLICAS not supported for managed clusters'],
    [`CREATE CLUSTER unmanaged_without (MANAGED = false)`, 'REPLICAS must be specified for unmanaged clusters'],
    [`CREATE CLUSTER replica_without_size REPLICAS (r1 (AVAILABILITY ZONE 'a'))`, 'SIZE option must be specified'],
    [`CREATE CLUSTER twice (SIZE '1', SIZE '2')`, 'SIZE specified more than once'],
    [`CREATE CLUSTER same_names REPLICAS (r (SIZE '1'), r (SIZE '1'))`, "cannot create multiple replicas named 'r' on cluster 'same_names'"],
    [`CREATE CLUSTER quickstart (SIZE '25cc')`, "cluster 'quickstart' already exists"],
  ])('%s → %s', async (sql, message) => {
    expect((await errorOf(sql)).message).toBe(message);
  });
});

describe('ALTER CLUSTER and replicas', () => {
  it('SET resizes a managed cluster: its replicas follow; RESET restores the factor', async () => {
    await t.sql.query(`CREATE CLUSTER resized (SIZE '25cc')`);
    await t.sql.query(`ALTER CLUSTER resized SET (SIZE '200cc', REPLICATION FACTOR 3) WITH (WAIT FOR '1s')`);
    expect(await replicasOf('resized')).toEqual(['r1', 'r2', 'r3'].map((replica) => ({ replica, size: '200cc' })));
    await t.sql.query(`ALTER CLUSTER resized RESET (REPLICATION FACTOR)`);
    expect(await replicasOf('resized')).toEqual([{ replica: 'r1', size: '200cc' }]);
  });

  it('replicas of an unmanaged cluster are created and dropped by hand; a managed one refuses', async () => {
    await t.sql.query(`CREATE CLUSTER manual REPLICAS (r1 (SIZE '1'))`);
    await t.sql.query(`CREATE CLUSTER REPLICA manual.extra SIZE '2'`);
    expect(await replicasOf('manual')).toEqual([
      { replica: 'extra', size: '2' },
      { replica: 'r1', size: '1' },
    ]);
    await t.sql.query(`DROP CLUSTER REPLICA manual.r1`);
    await t.sql.query(`DROP CLUSTER REPLICA IF EXISTS manual.never`);
    expect(await replicasOf('manual')).toEqual([{ replica: 'extra', size: '2' }]);
    expect((await errorOf(`CREATE CLUSTER REPLICA quickstart.r2 SIZE '1'`)).message).toBe('cannot modify managed cluster quickstart');
    expect((await errorOf(`DROP CLUSTER REPLICA quickstart.r1`)).message).toBe('cannot drop replica of managed cluster');
    expect((await errorOf(`DROP CLUSTER REPLICA manual.never`)).message).toBe("unknown cluster replica 'manual.never'");
    expect((await errorOf(`ALTER CLUSTER manual SET (SIZE '1')`)).message).toBe('Cannot change SIZE of unmanaged clusters');
    expect((await errorOf(`ALTER CLUSTER quickstart SET (REPLICAS (r1 (SIZE '1')))`)).message).toBe('Cannot change REPLICAS of managed clusters');
    expect((await errorOf(`ALTER CLUSTER nowhere SET (SIZE '1')`)).message).toBe("unknown cluster 'nowhere'");
  });

  it('DROP CLUSTER … CASCADE takes its objects and replicas with it', async () => {
    await t.sql.query(`CREATE CLUSTER doomed (SIZE '25cc')`);
    await t.sql.query(`CREATE SOURCE doomed_hook IN CLUSTER doomed FROM WEBHOOK BODY FORMAT TEXT`);
    expect((await errorOf(`DROP CLUSTER doomed`)).message).toBe('cannot drop cluster "doomed" because other objects depend on it');
    await t.sql.query(`DROP CLUSTER doomed CASCADE`);
    expect(await t.query(`SELECT 1 FROM mz_sources WHERE name = 'doomed_hook'`)).toEqual([]);
    expect(await replicasOf('doomed')).toEqual([]);
  });
});

describe('SHOW for clusters', () => {
  it('SHOW CLUSTERS, SHOW CLUSTER REPLICAS [WHERE …], SHOW CREATE CLUSTER', async () => {
    await t.sql.query(`CREATE CLUSTER shown (SIZE = '50cc', REPLICATION FACTOR = 2)`);
    const clusters = await t.query<{ name: string; replicas: string; comment: string }>(`SHOW CLUSTERS LIKE 'sh%'`);
    expect(clusters).toEqual([{ name: 'shown', replicas: 'r1 (50cc), r2 (50cc)', comment: '' }]);
    expect(await t.query(`SHOW CLUSTER REPLICAS WHERE cluster = 'shown'`)).toEqual([
      { cluster: 'shown', replica: 'r1', size: '50cc', ready: true, comment: '' },
      { cluster: 'shown', replica: 'r2', size: '50cc', ready: true, comment: '' },
    ]);
    expect(await t.query(`SHOW CREATE CLUSTER shown`)).toEqual([
      {
        name: 'shown',
        create_sql: `CREATE CLUSTER "shown" (INTROSPECTION DEBUGGING = false, INTROSPECTION INTERVAL = INTERVAL '00:00:01', MANAGED = true, REPLICATION FACTOR = 2, SIZE = '50cc', SCHEDULE = MANUAL)`,
      },
    ]);
  });

  it('joins written against Materialize work: clusters, their replicas and what runs on them', async () => {
    await t.sql.query(`CREATE CLUSTER joined (SIZE '25cc')`);
    await t.sql.query(`CREATE SOURCE joined_hook IN CLUSTER joined FROM WEBHOOK BODY FORMAT JSON`);
    expect(await t.query(`SELECT c.name FROM mz_clusters c JOIN mz_sources s ON c.id = s.cluster_id WHERE s.name = 'joined_hook'`)).toEqual([{ name: 'joined' }]);
    expect(await t.query(`SELECT c.owner_id, r.owner_id AS replica_owner FROM mz_clusters c JOIN mz_cluster_replicas r ON r.cluster_id = c.id WHERE c.name = 'joined'`)).toEqual([
      { owner_id: 'u1', replica_owner: 'u1' },
    ]);
  });
});
