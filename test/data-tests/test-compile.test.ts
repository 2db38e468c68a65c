/**
 * Data tests at compile time: declarations in front matter and tests/*.sql become graph nodes
 * with the right SQL, names, dependencies and settings; every mistake fails compile at its line.
 */
import { describe, expect, it } from 'vitest';
import { compileProject, type CompiledProject } from '../../scripts/runner/compile.ts';
import { deployPlan } from '../../scripts/runner/deploy/deploy-plan.ts';
import { ProjectError, ProjectErrors } from '../../scripts/runner/errors.ts';
import { buildManifest } from '../../scripts/runner/manifest.ts';
import { selectNodes } from '../../scripts/runner/select.ts';
import { outputColumns } from '../../scripts/runner/tests/model-columns.ts';
import { tempProject } from '../helpers/temp-project.ts';

const SOURCE = '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n';
const ORDERS = `---
tests:
  - unique: order_id
  - not_null: [order_id, status]
  - accepted_values: { column: status, values: [placed, shipped], severity: warn }
  - relationships: { column: customer_id, to: customers, field: customer_id, where: "status = 'placed'" }
  - expression: "total >= 0"
---
SELECT body->>'id' AS order_id, body->>'status' AS status, body->>'customer' AS customer_id, (body->>'total')::numeric AS total
FROM {{ref.hooks}}
`;
const CUSTOMERS = "SELECT body->>'customer' AS customer_id FROM {{ref.hooks}}\n";

function compileError(files: Record<string, string>): string {
  try {
    compileProject(tempProject(files));
  } catch (error) {
    if (error instanceof ProjectErrors) return error.errors.map((each) => each.format()).join('\n');
    if (error instanceof ProjectError) return error.format();
    throw error;
  }
  throw new Error('compiled without error');
}

function tests(project: CompiledProject) {
  return [...project.nodes.values()].filter((node) => node.kind === 'test');
}

describe('declared tests', () => {
  const files = { 'models/hooks.sql': SOURCE, 'models/orders.sql': ORDERS, 'models/customers.sql': CUSTOMERS };

  it('become test nodes named as dbt names them, one per not_null column, depending on what they read', () => {
    const project = compileProject(tempProject(files));
    const byName = Object.fromEntries(tests(project).map((node) => [node.name, node]));
    expect(Object.keys(byName).sort()).toEqual([
      'accepted_values_orders_status',
      'expression_orders_total_0',
      'not_null_orders_order_id',
      'not_null_orders_status',
      'relationships_orders_customer_id__customers_customer_id',
      'unique_orders_order_id',
    ]);
    expect(byName.relationships_orders_customer_id__customers_customer_id!.dependsOn).toEqual(['customers', 'orders']);
    expect(byName.unique_orders_order_id!.dependsOn).toEqual(['orders']);
    expect(byName.accepted_values_orders_status!.test).toMatchObject({ kind: 'accepted_values', model: 'orders', severity: 'warn', storeFailures: false });
    expect(byName.unique_orders_order_id!.test!.location).toEqual({ file: 'models/orders.sql', line: 3, column: 5 });
    // Tests run after what they read.
    expect(project.order.indexOf('relationships_orders_customer_id__customers_customer_id')).toBeGreaterThan(project.order.indexOf('customers'));
  });

  it('compile to queries of the failing rows', () => {
    const project = compileProject(tempProject(files));
    const sql = (name: string) => project.nodes.get(name)!.sql;
    expect(sql('unique_orders_order_id')).toBe(
      'SELECT tested."order_id" AS "order_id", count(*) AS occurrences\nFROM "public"."orders" AS tested\nWHERE tested."order_id" IS NOT NULL\nGROUP BY tested."order_id"\nHAVING count(*) > 1',
    );
    expect(sql('not_null_orders_status')).toBe('SELECT tested.*\nFROM "public"."orders" AS tested\nWHERE tested."status" IS NULL');
    expect(sql('accepted_values_orders_status')).toContain(`tested."status" NOT IN ('placed', 'shipped')`);
    expect(sql('relationships_orders_customer_id__customers_customer_id')).toBe(
      [
        'SELECT tested.*',
        // where: is the first AND term (a subquery in FROM would make the local server refresh
        // the stored view whole after every write).
        'FROM "public"."orders" AS tested',
        `WHERE (status = 'placed') AND tested."customer_id" IS NOT NULL`,
        '  AND NOT EXISTS (SELECT 1 FROM "public"."customers" AS parent WHERE parent."customer_id" = tested."customer_id")',
      ].join('\n'),
    );
    expect(sql('expression_orders_total_0')).toBe('SELECT tested.*\nFROM "public"."orders" AS tested\nWHERE NOT coalesce((total >= 0), false)');
  });

  it('appear in the manifest with kind "test", and only stored ones are deployed', () => {
    const project = compileProject(tempProject(files));
    expect(buildManifest(project).models.filter((model) => model.kind === 'test')).toHaveLength(6);
    const plan = deployPlan({ project, state: new Map() });
    expect(plan.actions.map((action) => action.model)).toEqual(['hooks', 'customers', 'orders']);
  });

  it('store_failures (per test, per folder, or --store-failures) deploys them as materialized views in <schema>_tests', () => {
    const perTest = compileProject(tempProject({ ...files, 'models/orders.sql': ORDERS.replace('- unique: order_id', '- unique: { column: order_id, store_failures: true }') }));
    const stored = perTest.nodes.get('unique_orders_order_id')!;
    expect(stored.schema).toBe('public_tests');
    expect(stored.sql.startsWith('CREATE MATERIALIZED VIEW "public_tests"."unique_orders_order_id"\n  IN CLUSTER "quickstart" AS\nSELECT tested."order_id"')).toBe(true);
    expect(perTest.nodes.get('not_null_orders_status')!.test!.storeFailures).toBe(false);
    expect(deployPlan({ project: perTest, state: new Map() }).actions.map((action) => action.model)).toEqual(['hooks', 'customers', 'orders', 'unique_orders_order_id']);

    const byFolder = compileProject(tempProject({ 'models/hooks.sql': SOURCE, 'models/shop/orders.sql': ORDERS, 'models/customers.sql': CUSTOMERS, 'project.yml': 'name: p\nfolders:\n  shop: { store_failures: true }\n' }));
    expect(tests(byFolder).every((node) => node.test!.storeFailures)).toBe(true);
    const byFlag = compileProject(tempProject(files), { storeFailures: true });
    expect(tests(byFlag).every((node) => node.schema === 'public_tests')).toBe(true);
  });

  it('follow their models in --select and --exclude, and are selectable themselves', () => {
    const project = compileProject(tempProject(files));
    expect([...selectNodes(project, ['customers'])].sort()).toEqual(['customers', 'relationships_orders_customer_id__customers_customer_id']);
    expect(selectNodes(project, ['orders']).has('unique_orders_order_id')).toBe(true);
    expect(selectNodes(project, [], ['orders']).has('unique_orders_order_id')).toBe(false);
    expect(selectNodes(project, ['kind:test']).size).toBe(6);
    expect([...selectNodes(project, ['unique_orders_order_id'])]).toEqual(['unique_orders_order_id']);
  });
});

describe('mistakes in declared tests fail compile at their line', () => {
  const base = { 'models/hooks.sql': SOURCE, 'models/customers.sql': CUSTOMERS };
  const withTests = (yaml: string) => ({ ...base, 'models/orders.sql': `---\ntests:\n${yaml}---\nSELECT body->>'id' AS order_id, body->>'status' AS status\nFROM {{ref.hooks}}\n` });

  it('a column the model does not have', () => {
    expect(compileError(withTests('  - not_null: [order_id, stauts]\n'))).toBe(
      "models/orders.sql:3:26: not_null test on orders: no column 'stauts' (did you mean 'status'?)\n  fix: the model's columns: order_id, status",
    );
  });

  it('an unknown kind, with the closest one', () => {
    expect(compileError(withTests('  - uniq: order_id\n'))).toMatch(/^models\/orders\.sql:3:5: tests\[0\]: unknown test kind 'uniq' \(did you mean 'unique'\?\)\n {2}fix: kinds: unique, not_null/);
  });

  it('two kinds in one entry, a missing option, an unknown option, a relationship to no model', () => {
    expect(compileError(withTests('  - unique: order_id\n    not_null: status\n'))).toMatch(/^models\/orders\.sql:3:5: tests\[0\]: each test is a mapping with one key, its kind \(this one has unique, not_null\)/);
    expect(compileError(withTests('  - accepted_values: { column: status }\n'))).toMatch(/^models\/orders\.sql:3:\d+: tests\[0\]\.accepted_values\.values: expected array in the accepted_values test/);
    expect(compileError(withTests('  - unique: { column: order_id, severty: warn }\n'))).toMatch(/^models\/orders\.sql:3:\d+: unknown key 'tests\[0\]\.unique\.severty' in the unique test \(did you mean 'severity'\?\)/);
    expect(compileError(withTests('  - relationships: { column: order_id, to: custmers, field: customer_id }\n'))).toMatch(
      /^models\/orders\.sql:3:5: relationships test on orders: ref to unknown model 'custmers' \(did you mean 'customers'\?\)/,
    );
  });

  it('bad YAML in the list', () => {
    expect(compileError(withTests('  - unique: [order_id\n'))).toMatch(/^models\/orders\.sql:\d+:\d+: invalid YAML/);
  });
});

describe('singular tests (tests/*.sql)', () => {
  const files = {
    'models/hooks.sql': SOURCE,
    'models/orders.sql': "SELECT body->>'id' AS order_id, (body->>'total')::numeric AS total FROM {{ref.hooks}}\n",
    'macros/too_big.sql': 'total > {{vars.max_total}}',
    'project.yml': 'name: p\nvars:\n  max_total: 1000\n',
    'tests/no_huge_orders.sql': '---\nseverity: warn\n---\n-- orders above the limit\nSELECT order_id, total FROM {{ref.orders}} WHERE {{> too_big}};\n',
  };

  it('render refs, vars and macros, and depend on what they ref', () => {
    const project = compileProject(tempProject(files));
    const node = project.nodes.get('no_huge_orders')!;
    expect(node.kind).toBe('test');
    expect(node.dependsOn).toEqual(['orders']);
    expect(node.sql).toBe('-- orders above the limit\nSELECT order_id, total FROM "public"."orders" WHERE total > 1000');
    expect(node.test).toMatchObject({ kind: 'singular', model: undefined, severity: 'warn', storeFailures: false });
  });

  it('must be one query, and cannot take a model\'s name', () => {
    expect(compileError({ ...files, 'tests/no_huge_orders.sql': 'DELETE FROM {{ref.orders}}\n' })).toMatch(/^tests\/no_huge_orders\.sql:1: a test is a query: it must start with SELECT or WITH/);
    expect(compileError({ ...files, 'tests/orders.sql': 'SELECT 1 WHERE false\n' })).toMatch(/name 'orders' is used by two files: models\/orders\.sql and tests\/orders\.sql/);
    expect(compileError({ ...files, 'tests/no_huge_orders.sql': '---\nseverity: fatal\n---\nSELECT 1\n' })).toMatch(/^tests\/no_huge_orders\.sql:2:\d+: severity: expected one of "warn", "error"/);
  });
});

describe('outputColumns', () => {
  it('reads aliases and column references of the outermost SELECT, after WITH and DISTINCT ON', () => {
    expect(outputColumns("WITH r AS (SELECT body FROM s)\nSELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id,\n  CAST(x AS date) AS day,\n  e.user_id,\n  \"Mixed\"\nFROM r")).toEqual(['id', 'day', 'user_id', 'Mixed']);
    expect(outputColumns('SELECT count(*) FROM t')).toBeUndefined();
    expect(outputColumns('SELECT e.* FROM t AS e')).toBeUndefined();
    expect(outputColumns("SELECT 'a, b' AS label, f(x, y) AS z FROM t")).toEqual(['label', 'z']);
  });
});
