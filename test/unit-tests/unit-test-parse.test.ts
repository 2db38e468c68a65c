/**
 * Unit tests' syntax (no database): EXECUTE UNIT TEST split out of a model's file and of tests/
 * files before rendering, parsed as mz-deploy writes it, syntax errors at file:line:col, never in
 * a model's compiled statement, and listed in the manifest as tests with a unit marker.
 */
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { ProjectErrors, ProjectError } from '../../scripts/runner/errors.ts';
import { buildManifest } from '../../scripts/runner/manifest.ts';
import { selectNodes } from '../../scripts/runner/select.ts';
import { parseUnitTest, splitUnitTests } from '../../scripts/runner/tests/unit-test-parse.ts';
import { tempProject } from '../helpers/temp-project.ts';

const MZ_DEPLOY_EXAMPLE = `EXECUTE UNIT TEST test_flippers
FOR materialize.public.flippers
AT TIME '2024-01-15 10:00:00'
MOCK materialize.public.items(id BIGINT, name TEXT) AS (
  SELECT * FROM (VALUES (1::bigint, 'a')) AS v
),
MOCK "public"."sales"(item_id bigint, sold_at timestamp with time zone, price numeric(10, 2)) AS (
  SELECT 1::bigint, now(), 2.5
)
EXPECTED(id bigint, total map[text=>text], n text list) AS (
  SELECT 1::bigint, NULL, NULL
);`;

function errorsOf(run: () => unknown): ProjectError[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ProjectErrors) return [...error.errors];
    if (error instanceof ProjectError) return [error];
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseUnitTest', () => {
  it("reads mz-deploy's syntax: name, target, AT TIME, mocks with quoted names and multi-word types, EXPECTED", () => {
    const test = parseUnitTest(MZ_DEPLOY_EXAMPLE, { file: 'models/flippers.sql', line: 10 });
    expect(test.name).toBe('test_flippers');
    expect(test.target.parts).toEqual(['materialize', 'public', 'flippers']);
    expect(test.atTime).toBe("'2024-01-15 10:00:00'");
    expect(test.mocks.map((mock) => mock.parts)).toEqual([
      ['materialize', 'public', 'items'],
      ['public', 'sales'],
    ]);
    expect(test.mocks[0]!.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'TEXT' },
    ]);
    expect(test.mocks[1]!.columns.map((column) => column.type)).toEqual(['bigint', 'timestamp with time zone', 'numeric(10, 2)']);
    expect(test.mocks[0]!.query).toBe("SELECT * FROM (VALUES (1::bigint, 'a')) AS v");
    expect(test.mocks[1]!.location.line).toBe(16);
    expect(test.expected.columns.map((column) => column.type)).toEqual(['bigint', 'map[text=>text]', 'text list']);
    expect(test.expected.location.line).toBe(19);
    expect(test.location).toMatchObject({ file: 'models/flippers.sql', line: 10 });
    expect(test.text.endsWith(')')).toBe(true);
  });

  it("takes '...' at the end of a column list, and no mocks at all", () => {
    const test = parseUnitTest("EXECUTE UNIT TEST t FOR v EXPECTED(a int, ...) AS (SELECT 1) -- done\n;", { file: 'tests/t.sql', line: 1 });
    expect(test.mocks).toEqual([]);
    expect(test.expected).toMatchObject({ open: true, columns: [{ name: 'a', type: 'int' }] });
  });

  it('reports each syntax error at its file:line:col with a fix', () => {
    const at = (sql: string) => {
      const [error] = errorsOf(() => parseUnitTest(sql, { file: 'models/v.sql', line: 5 }));
      return { message: error!.message, line: error!.location?.line, column: error!.location?.column, fix: error!.fix };
    };
    expect(at('EXECUTE UNIT TEST t\nFOR a.b.c\nMOCK a.b.d(x int) AS (SELECT 1),\nSELECT 1;')).toMatchObject({
      message: expect.stringContaining("expected MOCK or EXPECTED after ','"),
      line: 8,
    });
    expect(at('EXECUTE UNIT TEST t\nFOR a.b.c\nMOCK a.b.d(x) AS (SELECT 1)\nEXPECTED(x int) AS (SELECT 1);')).toMatchObject({ message: expect.stringContaining('column x has no type'), line: 7, column: 12 });
    expect(at('EXECUTE UNIT TEST t\nFOR a.b.c\nMOCK a.b.d(x int) AS (SELECT 1)')).toMatchObject({ message: expect.stringContaining('expected MOCK or EXPECTED, found the end'), line: 7 });
    expect(at('EXECUTE UNIT TEST t FOR a.b.c\nEXPECTED(x int) AS (SELECT (1);')).toMatchObject({ message: expect.stringContaining("'(' is never closed"), line: 6 });
    expect(at('EXECUTE UNIT TEST t FOR a.b.c.d EXPECTED(x int) AS (SELECT 1);')).toMatchObject({ message: expect.stringContaining('more than three parts'), line: 5 });
    expect(at('EXECUTE UNIT TEST t FOR a EXPECTED(x int) AS (SELECT 1); SELECT 2')).toMatchObject({ message: expect.stringContaining("unexpected 'SELECT'") });
  });
});

describe('splitUnitTests', () => {
  it('keeps the model up to its `;` and hands comments after it to the first test; strings and comments do not count', () => {
    const body = "SELECT 'EXECUTE UNIT TEST x' AS s -- EXECUTE UNIT TEST y\n;\n-- about the test\nEXECUTE UNIT TEST a FOR v EXPECTED(s text) AS (SELECT 1);\nEXECUTE UNIT TEST b FOR v EXPECTED(s text) AS (SELECT 2);\n";
    const { model, tests } = splitUnitTests(body, { file: 'models/v.sql', line: 1 });
    expect(model.text).toBe("SELECT 'EXECUTE UNIT TEST x' AS s -- EXECUTE UNIT TEST y\n;");
    expect(tests.map((test) => test.text.trim().split('\n')[0])).toEqual(['-- about the test', 'EXECUTE UNIT TEST b FOR v EXPECTED(s text) AS (SELECT 2);']);
  });

  it('wants a `;` before EXECUTE UNIT TEST, at its line', () => {
    const [error] = errorsOf(() => splitUnitTests('SELECT 1\n\nEXECUTE UNIT TEST a FOR v EXPECTED(x int) AS (SELECT 1);', { file: 'models/v.sql', line: 4 }));
    expect(error!.format()).toContain('models/v.sql:6: EXECUTE UNIT TEST must start a statement of its own');
  });
});

const PROJECT = {
  'project.yml': 'name: shop\ndefaults:\n  schema: shop\n',
  'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
  'models/orders.sql': `SELECT body->>'id' AS id FROM {{ref.hooks}};

-- refs, this and vars render inside tests; the refs are not the model's dependencies.
EXECUTE UNIT TEST orders_have_ids
FOR {{this}}
MOCK {{ref.hooks}}(body jsonb) AS (SELECT '{"id": "o1"}'::jsonb)
EXPECTED(id text) AS (SELECT 'o1');
`,
  'models/totals.sql': 'SELECT count(*) AS n FROM {{ref.orders}}\n',
  'tests/totals_unit.sql': `-- A tests/ file of unit tests only holds no data test.
EXECUTE UNIT TEST totals_count_orders FOR materialize.shop.totals
MOCK shop.orders(id text) AS (SELECT 'a' UNION ALL SELECT 'b')
EXPECTED(n bigint) AS (SELECT 2::bigint);
`,
};

describe('compiling a project with unit tests', () => {
  it("splits them out: the model's statement has none, each test is a node of kind test (unit) depending on the view and its mocks", () => {
    const project = compileProject(tempProject(PROJECT));
    const orders = project.nodes.get('orders')!;
    expect(orders.sql).toBe('CREATE VIEW "shop"."orders" AS\nSELECT body->>\'id\' AS id FROM "shop"."hooks"');
    expect(orders.dependsOn).toEqual(['hooks']);
    for (const node of project.nodes.values()) if (node.kind !== 'test') expect(node.sql).not.toMatch(/EXECUTE|UNIT TEST/);
    const unit = project.nodes.get('orders_have_ids')!;
    expect(unit).toMatchObject({ kind: 'test', dependsOn: ['hooks', 'orders'], path: 'models/orders.sql' });
    expect(unit.test).toMatchObject({ kind: 'unit', model: 'orders', location: { file: 'models/orders.sql', line: 4 } });
    expect(unit.test!.unit!.target.parts).toEqual(['shop', 'orders']);
    expect(project.nodes.get('totals_count_orders')).toMatchObject({ dependsOn: ['orders', 'totals'], path: 'tests/totals_unit.sql', test: { kind: 'unit', model: 'totals', location: { line: 2 } } });
    // No singular test from the tests/ file of unit tests.
    expect(project.nodes.has('totals')).toBe(true);
    expect([...project.nodes.values()].filter((node) => node.test?.kind === 'singular')).toEqual([]);
  });

  it('lists them in the manifest as kind test with the unit marker', () => {
    const manifest = buildManifest(compileProject(tempProject(PROJECT)));
    const entry = manifest.models.find((model) => model.name === 'totals_count_orders')!;
    expect(entry).toMatchObject({ kind: 'test', test_kind: 'unit', unit_test: { target: 'materialize.shop.totals', at_time: null, mocks: ['shop.orders'], line: 2 } });
    expect(manifest.models.find((model) => model.name === 'orders')).not.toHaveProperty('test_kind');
  });

  it('selects them with kind:unit, data tests with kind:data', () => {
    const project = compileProject(tempProject({ ...PROJECT, 'models/totals.sql': '---\ntests:\n  - not_null: n\n---\nSELECT count(*) AS n FROM {{ref.orders}}\n' }));
    expect([...selectNodes(project, ['kind:unit'])].sort()).toEqual(['orders_have_ids', 'totals_count_orders']);
    expect([...selectNodes(project, ['kind:data'])]).toEqual(['not_null_totals_n']);
  });

  it('reports a syntax error in a test at its file:line, and a name used twice', () => {
    const broken = errorsOf(() => compileProject(tempProject({ ...PROJECT, 'tests/totals_unit.sql': 'EXECUTE UNIT TEST t FOR shop.totals\nEXPECTED(n) AS (SELECT 1);\n' })));
    expect(broken.map((error) => error.format()).join('\n')).toContain('tests/totals_unit.sql:2:10: EXECUTE UNIT TEST: EXPECTED: column n has no type');
    const twice = errorsOf(() => compileProject(tempProject({ ...PROJECT, 'tests/totals_unit.sql': PROJECT['tests/totals_unit.sql'].replace('totals_count_orders', 'orders_have_ids') })));
    expect(twice.map((error) => error.format()).join('\n')).toMatch(/name 'orders_have_ids' is used twice/);
  });
});
