/**
 * Blue/green planning without a database: which schemas and clusters swap, what runs in place,
 * how statements are pointed at the staging copies, every refusal with its file and fix, and the
 * readiness rules of the wait step.
 */
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { blueGreenPlan, stagedStatement, type CatalogSnapshot } from '../../scripts/runner/deploy/blue-green/blue-green-plan.ts';
import { dropObjectStatement, dropOrder, foreignDependents, qualifiedName, type GraphObject, type ObjectGraph } from '../../scripts/runner/deploy/blue-green/blue-green-dependents.ts';
import { evaluateReadiness, type ReadinessRow } from '../../scripts/runner/deploy/blue-green/blue-green-wait.ts';
import { isConnectionLost } from '../../scripts/runner/deploy/deploy-errors.ts';
import { deployPlan, stateChecksums } from '../../scripts/runner/deploy/deploy-plan.ts';
import type { DeployedState } from '../../scripts/runner/deploy/deploy-state.ts';
import { tempProject } from '../helpers/temp-project.ts';

const FILES = {
  'project.yml': 'name: p\nfolders:\n  ingest: { schema: ingest, cluster: ingest_cluster }\n  analytics: { schema: analytics, cluster: compute }\n  reports: { schema: reports, cluster: compute }\n',
  'models/ingest/ingest_cluster.sql': "---\nkind: cluster\n---\n(SIZE = '25cc')\n",
  'models/ingest/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
  'models/analytics/compute.sql': "---\nkind: cluster\n---\n(SIZE = '50cc', REPLICATION FACTOR = 2)\n",
  'models/analytics/orders.sql': "SELECT body->>'id' AS id FROM {{ref.hooks}}\n",
  'models/analytics/totals.sql': '---\nkind: materialized_view\nindexes:\n  - columns: [n]\n---\nSELECT count(*) AS n FROM {{ref.orders}}\n',
  'models/reports/daily.sql': 'SELECT n FROM {{ref.totals}}\n',
};

const EMPTY_CATALOG: CatalogSnapshot = { schemas: new Map([['ingest', 'u10'], ['analytics', 'u11'], ['reports', 'u12']]), clusters: new Set(['compute', 'ingest_cluster']), clusterIds: new Map(), objects: [] };

/** Plans a blue/green deploy of `files` against a state where everything in `deployedFiles` is deployed. */
function plan(files: Record<string, string>, deployedFiles: Record<string, string> = FILES, catalog: CatalogSnapshot = EMPTY_CATALOG) {
  const deployedProject = compileProject(tempProject(deployedFiles));
  const checksums = stateChecksums(deployedProject);
  const state: DeployedState = new Map(
    [...deployedProject.nodes.values()].map((node) => [
      node.name,
      { name: node.name, kind: node.kind, schema: node.schema, parent: node.parent ?? null, dependsOn: node.dependsOn, checksum: node.checksum, stateChecksum: checksums.get(node.name)!, secretFingerprint: null, deployedAt: '' },
    ]),
  );
  const project = compileProject(tempProject(files));
  const ordinary = deployPlan({ project, state });
  return blueGreenPlan({
    project,
    plan: ordinary,
    catalog,
    stateChecksums: stateChecksums(project),
    deployedSchemas: new Map([...state.values()].map((deployed) => [deployed.name, { schema: deployed.schema, kind: deployed.kind }])),
    stagedByUs: false,
  });
}

describe('blueGreenPlan', () => {
  it('swaps the schema of a changed view and every schema reading it, with their clusters', () => {
    const result = plan({ ...FILES, 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" });
    expect(result.refusals).toEqual([]);
    expect(result.schemas).toEqual(['analytics', 'reports']);
    expect(result.clusters).toEqual(['compute']);
    expect(result.staged.map((each) => each.node.name)).toEqual(['orders', 'totals', 'daily', 'totals_n_idx']);
    expect(result.steps.find((step) => step.step === 'create_cluster')!.sql).toBe(`CREATE CLUSTER "compute_deploy" (SIZE = '50cc', REPLICATION FACTOR = 2)`);
    expect(result.staged.find((each) => each.node.name === 'daily')!.sql).toBe('CREATE VIEW "reports_deploy"."daily" AS\nSELECT n FROM "analytics_deploy"."totals"');
    expect(result.staged.find((each) => each.node.name === 'totals_n_idx')!.sql).toBe('CREATE INDEX "totals_n_idx" IN CLUSTER "compute_deploy" ON "analytics_deploy"."totals" ("n")');
  });

  it('swaps only downstream: a change in reports leaves analytics live', () => {
    const result = plan({ ...FILES, 'models/reports/daily.sql': 'SELECT n, 2 AS v FROM {{ref.totals}}\n' });
    expect(result.schemas).toEqual(['reports']);
    // A view runs on no cluster: none to swap.
    expect(result.clusters).toEqual([]);
    expect(result.staged.map((each) => each.node.name)).toEqual(['daily']);
    expect(result.staged[0]!.sql).toBe('CREATE VIEW "reports_deploy"."daily" AS\nSELECT n, 2 AS v FROM "analytics"."totals"');
  });

  it('runs additive work in place and has nothing to swap when no view changed', () => {
    const result = plan({ ...FILES, 'models/ingest/more_hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT TEXT\n' });
    expect(result.empty).toBe(true);
    expect(result.inPlace.map((action) => `${action.action} ${action.model}`)).toEqual(['create more_hooks']);
  });

  it('removed models leave with the old version', () => {
    const withoutDaily = Object.fromEntries(Object.entries(FILES).filter(([file]) => file !== 'models/reports/daily.sql'));
    const result = plan(withoutDaily);
    expect(result.schemas).toEqual(['reports']);
    expect(result.removed).toEqual(['daily']);
  });

  it('refuses a source in a schema to swap, before any DDL, naming the file and the fix', () => {
    const mixed = { ...FILES, 'project.yml': FILES['project.yml'].replace('ingest: { schema: ingest', 'ingest: { schema: analytics'), 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" };
    const result = plan(mixed, { ...FILES, 'project.yml': mixed['project.yml'] });
    expect(result.refusals.map((error) => error.format())).toContainEqual(
      expect.stringMatching(/^models\/ingest\/hooks\.sql: blue\/green would swap schema analytics, which holds source hooks: a source cannot be rebuilt beside the live one without losing what it holds\n {2}fix: give sources, secrets and connections a schema of their own/),
    );
    // …and a cluster that also runs the source.
    expect(result.refusals.map((error) => error.message).join('\n')).not.toMatch(/cluster compute, which also runs source/);
  });

  it('refuses a cluster that is not a model, one that runs something outside the swap, an object not in the project, a staging name taken', () => {
    const unmanaged = { ...FILES, 'project.yml': FILES['project.yml'].replace('cluster: compute }\n  reports', 'cluster: quickstart }\n  reports'), 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" };
    expect(plan(unmanaged, { ...FILES, 'project.yml': unmanaged['project.yml'] }).refusals.map((error) => error.message)).toContainEqual(
      expect.stringMatching(/^blue\/green needs to build a copy of cluster quickstart .* but quickstart is not a cluster model of this project/),
    );

    const shared = { ...FILES, 'project.yml': FILES['project.yml'].replace('cluster: ingest_cluster', 'cluster: compute'), 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" };
    expect(plan(shared, { ...FILES, 'project.yml': shared['project.yml'] }).refusals.map((error) => error.message)).toContainEqual(
      'blue/green would swap cluster compute, which also runs source hooks outside the swapped schemas (analytics, reports): it would be dropped with the old cluster',
    );

    const changed = { ...FILES, 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" };
    const catalog: CatalogSnapshot = {
      ...EMPTY_CATALOG,
      schemas: new Map([...EMPTY_CATALOG.schemas, ['analytics_deploy', 'u99']]),
      clusters: new Set([...EMPTY_CATALOG.clusters, 'compute_deploy']),
      objects: [{ id: 'u50', schema: 'analytics', name: 'hand_made', type: 'view', cluster: null }],
    };
    const messages = plan(changed, FILES, catalog).refusals.map((error) => error.format());
    expect(messages).toContainEqual(expect.stringMatching(/blue\/green would swap schema analytics, which holds view hand_made that is not in this project/));
    expect(messages).toContainEqual(expect.stringMatching(/schema analytics_deploy exists and is not a staged deploy of this project \(it is empty\).*\n {2}fix: .*DROP SCHEMA analytics_deploy without CASCADE/));
    // The fix never invites a CASCADE that would take along whatever else reads the objects.
    expect(messages.join('\n')).not.toMatch(/DROP (SCHEMA|CLUSTER) \S+ CASCADE/);
    expect(messages).toContainEqual(expect.stringMatching(/cluster compute_deploy exists and is not a staged deploy of this project/));
  });
});

describe('copiedGrants', () => {
  it('gives the staging copies the live schemas\' and clusters\' privileges, leaving out the owner\'s own', () => {
    const catalog: CatalogSnapshot = {
      ...EMPTY_CATALOG,
      roles: new Map([
        ['u1', 'deployer'],
        ['u7', 'analyst'],
        ['u8', 'loader'],
      ]),
      grants: [
        { kind: 'schema', name: 'analytics', ownerId: 'u1', privilege: 'u1=UC/u1' },
        { kind: 'schema', name: 'analytics', ownerId: 'u1', privilege: 'u7=U/u1' },
        { kind: 'schema', name: 'analytics', ownerId: 'u1', privilege: '=U/u1' },
        { kind: 'schema', name: 'ingest', ownerId: 'u1', privilege: 'u8=UC/u1' },
        { kind: 'cluster', name: 'compute', ownerId: 'u1', privilege: 'u7=U/u1' },
      ],
    };
    const result = plan({ ...FILES, 'models/analytics/orders.sql': "SELECT body->>'id' AS id, 1 AS v FROM {{ref.hooks}}\n" }, FILES, catalog);
    expect(result.steps.filter((step) => step.step === 'grant').map((step) => step.sql)).toEqual([
      'GRANT USAGE ON SCHEMA "analytics_deploy" TO "analyst"',
      'GRANT USAGE ON SCHEMA "analytics_deploy" TO PUBLIC',
      'GRANT USAGE ON CLUSTER "compute_deploy" TO "analyst"',
    ]);
    // Granted once the copies exist, before anything is created in them.
    const order = result.steps.map((step) => step.step);
    expect(order.indexOf('grant')).toBeGreaterThan(order.lastIndexOf('create_cluster'));
    expect(order.lastIndexOf('grant')).toBeLessThan(order.indexOf('create'));
  });
});

describe('stagedStatement', () => {
  it('renames schema qualifiers and clusters in code, never inside strings or comments', () => {
    const sql = `CREATE MATERIALIZED VIEW "a"."v"\n  IN CLUSTER "c" AS\n-- reads "a"."w"\nSELECT '"a"."x"' AS label, n FROM "a"."w" JOIN "b"."z" USING (n)`;
    expect(stagedStatement(sql, new Set(['a']), new Set(['c']))).toBe(
      `CREATE MATERIALIZED VIEW "a_deploy"."v"\n  IN CLUSTER "c_deploy" AS\n-- reads "a"."w"\nSELECT '"a"."x"' AS label, n FROM "a_deploy"."w" JOIN "b"."z" USING (n)`,
    );
  });
});

describe('evaluateReadiness', () => {
  const object = (hydrated: boolean, lag: number): ReadinessRow => ({ kind: 'object', id: 'u1', name: 'v', cluster: 'c_deploy', hydrated, replicas: 1, lag_seconds: lag, oom_kills: 0 });
  const cluster = (replicas: number, oomKills = 0): ReadinessRow => ({ kind: 'cluster', id: 'u2', name: 'c_deploy', cluster: 'c_deploy', hydrated: true, replicas, lag_seconds: 0, oom_kills: oomKills });

  it('is hydrating, then lagging, then ready', () => {
    expect(evaluateReadiness([object(false, 5), object(true, 0), cluster(1)], 1)).toMatchObject({ status: 'hydrating', hydrated: 1, total: 2 });
    expect(evaluateReadiness([object(true, 3), cluster(1)], 1)).toMatchObject({ status: 'lagging', worstLagSeconds: 3 });
    expect(evaluateReadiness([object(true, 0.2), cluster(1)], 1)).toMatchObject({ status: 'ready' });
  });

  it('fails at once for a cluster without replicas or with replicas OOM-killed again and again', () => {
    expect(evaluateReadiness([object(false, 9), cluster(0)], 1)).toMatchObject({ status: 'failing', reason: expect.stringMatching(/cluster c_deploy has no replicas/) });
    expect(evaluateReadiness([object(false, 9), cluster(2, 6)], 1)).toMatchObject({ status: 'failing', reason: expect.stringMatching(/OOM-killed 6 times/) });
    expect(evaluateReadiness([object(false, 9), cluster(2, 5)], 1)).toMatchObject({ status: 'hydrating' });
  });
});

describe('dependents and drop order', () => {
  const object = (id: string, name: string, type: string, schema: string | null): GraphObject => ({ id, name, type, schema, database: 'materialize', cluster: null, inCurrentDatabase: true });
  // u9 is an internal view of the local server (a materialized view's definition): not a catalog object.
  const graph: ObjectGraph = (() => {
    const objects = [object('u1', 'orders', 'view', 'analytics'), object('u2', 'totals', 'materialized-view', 'analytics'), object('u3', 'totals_idx', 'index', 'analytics'), object('u4', 'mine', 'view', 'public'), object('u5', 'mine2', 'view', 'public')];
    const edges: Array<[string, string]> = [['u9', 'u1'], ['u2', 'u9'], ['u3', 'u2'], ['u4', 'u2'], ['u5', 'u4']];
    const dependencies = new Map<string, string[]>();
    const dependents = new Map<string, string[]>();
    for (const [from, to] of edges) {
      dependencies.set(from, [...(dependencies.get(from) ?? []), to]);
      dependents.set(to, [...(dependents.get(to) ?? []), from]);
    }
    return { objects: new Map(objects.map((each) => [each.id, each])), dependencies, dependents };
  })();

  it('finds objects outside the set reading it, directly or through others, with what of the set they read', () => {
    const found = foreignDependents(graph, ['u1', 'u2', 'u3'], (each) => each.schema === 'analytics');
    expect(found.map(({ object, reads }) => [qualifiedName(object), reads.map((read) => read.name)])).toEqual([
      ['materialize.public.mine', ['totals']],
      ['materialize.public.mine2', ['totals']],
    ]);
  });

  it('orders drops dependents first, through objects not in the list', () => {
    const old = [...graph.objects.values()].filter((each) => each.schema === 'analytics');
    expect(dropOrder([...old].reverse(), graph.dependencies).map((each) => each.name)).toEqual(['totals_idx', 'totals', 'orders']);
    expect(dropObjectStatement(old[1]!, 'analytics_deploy')).toBe('DROP MATERIALIZED VIEW IF EXISTS "analytics_deploy"."totals"');
  });

  it('tells a lost connection from a statement the database refused', () => {
    expect(isConnectionLost(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isConnectionLost(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLost(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('kafka: connection error: broker down'), { code: 'XX000' }))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error("unknown catalog item 'x'"), { code: '42P01' }))).toBe(false);
  });
});
