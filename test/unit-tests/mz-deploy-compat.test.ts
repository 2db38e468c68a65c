/**
 * A unit-test file written the way mz-deploy's documentation writes them (`mz-deploy test --help`,
 * materialize.com/docs/sql/execute-unit-test), in our own words, runs unchanged with the same
 * pass/fail: a comma after the last MOCK, rows as `SELECT * FROM VALUES (…), (…)`, mock names
 * unqualified or schema-qualified (resolved relative to the view under test), type aliases
 * (int8, string, float8), AT TIME with a zone, and mz-deploy's assertion comparing EXPECTED and the
 * view by position (`SELECT *` of both), not by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { testNodes, type TestResult } from '../../scripts/runner/tests/test-runner.ts';
import { bareValues, UnitTestRunner } from '../../scripts/runner/tests/unit-test-run.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { tempProject } from '../helpers/temp-project.ts';

let t: TestServer;
let runner: UnitTestRunner;
beforeAll(async () => {
  t = await startTestServer();
  runner = new UnitTestRunner({ connectionString: t.server.pgUrl });
});
afterAll(async () => {
  await runner?.close();
  await t?.close();
});

// A library lending books: members, loans, and each member's open loans (a temporal filter).
const MEMBER_LOANS = `SELECT m.id AS member_id, m.name, count(l.id) AS open_loans
FROM {{ref.members}} AS m
JOIN {{ref.loans}} AS l ON l.member_id = m.id
WHERE mz_now() <= l.due_at
GROUP BY m.id, m.name;
`;

/** The test file, as a user of mz-deploy writes it. */
const MZ_DEPLOY_TESTS = `
EXECUTE UNIT TEST member_with_two_open_loans
FOR materialize.public.member_loans
AT TIME '2025-06-01T12:00:00Z'
MOCK members(id int8, name string) AS (
  SELECT * FROM VALUES (1, 'ines'), (2, 'omar')
),
MOCK public.loans(id int8, member_id int8, due_at timestamp) AS (
  SELECT * FROM VALUES
    (10, 1, '2025-06-10 00:00:00'::timestamp),
    (11, 1, '2025-06-02 00:00:00'::timestamp),
    (12, 2, '2025-05-30 00:00:00'::timestamp)
),
EXPECTED(member_id bigint, name text, open_loans bigint) AS (
  SELECT * FROM VALUES (1, 'ines', 2)
);

EXECUTE UNIT TEST overdue_loans_still_count
FOR materialize.public.member_loans
AT TIME '2025-06-01T12:00:00Z'
MOCK members(id int8, name string) AS (
  SELECT * FROM VALUES (2, 'omar')
),
MOCK public.loans(id int8, member_id int8, due_at timestamp) AS (
  SELECT * FROM VALUES (12, 2, '2025-05-30 00:00:00'::timestamp)
),
EXPECTED(member_id bigint, name text, open_loans bigint) AS (
  SELECT * FROM VALUES (2, 'omar', 1)
);

EXECUTE UNIT TEST columns_in_another_order
FOR materialize.public.member_loans
AT TIME '2025-06-01T12:00:00Z'
MOCK members(id int8, name string) AS (
  SELECT * FROM VALUES (1, 'ines')
),
MOCK public.loans(id int8, member_id int8, due_at timestamp) AS (
  SELECT * FROM VALUES (10, 1, '2025-06-10 00:00:00'::timestamp), (11, 1, '2025-06-10 00:00:00'::timestamp)
),
EXPECTED(open_loans bigint, name text, member_id bigint) AS (
  SELECT * FROM VALUES (2, 'ines', 1)
);

EXECUTE UNIT TEST loans_left_unmocked
FOR materialize.public.member_loans
MOCK members(id int8, name string) AS (
  SELECT * FROM VALUES (1, 'ines')
),
EXPECTED(member_id bigint, name text, open_loans bigint) AS (
  SELECT * FROM VALUES (1, 'ines', 0)
);
`;

function library(): string {
  return tempProject({
    'project.yml': `name: library\ntargets:\n  local: { type: local, host: ${t.server.host}, port: ${t.server.pgPort} }\n`,
    'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
    'models/members.sql': "SELECT (body->>'id')::bigint AS id, body->>'name' AS name FROM {{ref.hooks}}\n",
    'models/loans.sql': "SELECT (body->>'id')::bigint AS id, (body->>'member')::bigint AS member_id, (body->>'due')::timestamp AS due_at FROM {{ref.hooks}}\n",
    'models/member_loans.sql': `${MEMBER_LOANS}${MZ_DEPLOY_TESTS}`,
  });
}

describe("mz-deploy's documented unit-test syntax", () => {
  it('runs unchanged, with the pass/fail mz-deploy gives', async () => {
    const project = compileProject(library());
    const results = new Map((await runner.run(project, testNodes(project))).map((result): [string, TestResult] => [result.name, result]));
    expect(results.get('member_with_two_open_loans')).toMatchObject({ status: 'pass', outcome: 'passed' });
    // mz-deploy pins mz_now() with AS OF: the loan due two days ago is gone, but not the one due tomorrow.
    expect(results.get('overdue_loans_still_count')).toMatchObject({ status: 'fail', outcome: 'failed', missing: [{ member_id: 2, name: 'omar', open_loans: 1 }], unexpected: [] });
    // mz-deploy compares SELECT * of EXPECTED and of the view: by position, so the right rows with
    // the columns declared in another order fail (by name they would pass).
    expect(results.get('columns_in_another_order')).toMatchObject({ status: 'fail', outcome: 'failed', missing: [{ open_loans: 2, name: 'ines', member_id: 1 }], unexpected: [{ open_loans: 1, name: 'ines', member_id: 2 }] });
    // Every dependency is mocked, or it is a validation failure (not a failing test).
    expect(results.get('loans_left_unmocked')).toMatchObject({ status: 'error', outcome: 'validation_failed', error: { message: expect.stringContaining('materialize.public.loans, which is not mocked') } });
  }, 60_000);

  it("rewrites FROM VALUES rows into PostgreSQL's form, leaving strings, comments and parenthesized VALUES alone", () => {
    expect(bareValues("SELECT * FROM VALUES (1, 'a'), (2, 'b') WHERE true")).toBe(`SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS "values" WHERE true`);
    expect(bareValues('select * from values\n  (1),\n  (2)')).toBe('select * from (values\n  (1),\n  (2)) AS "values"');
    expect(bareValues("SELECT * FROM (VALUES (1)) AS v, (SELECT 'FROM VALUES (2)') AS s -- FROM VALUES (3)")).toBe("SELECT * FROM (VALUES (1)) AS v, (SELECT 'FROM VALUES (2)') AS s -- FROM VALUES (3)");
  });
});
