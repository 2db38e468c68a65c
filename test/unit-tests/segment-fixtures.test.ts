/**
 * MOCK …(<columns>) FROM FILE '<events.json>': a mock whose rows are Segment Spec events from a file,
 * compiled to plain mz-deploy syntax (AS (SELECT * FROM (VALUES …) AS v(…))); the seed's parse-view
 * test that uses it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { ProjectError, ProjectErrors } from '../../scripts/runner/errors.ts';
import { fixtureEvents, fixtureQuery } from '../../scripts/runner/tests/segment-fixtures.ts';
import { parseUnitTest } from '../../scripts/runner/tests/unit-test-parse.ts';
import { copyOfSeedProject, tempProject } from '../helpers/temp-project.ts';

const EVENT = { type: 'identify', messageId: 'm1', userId: 'u1', receivedAt: '2026-11-20T10:00:00.000Z', context: { library: { name: 'analytics.js' } }, traits: { firstName: "O'Neil" } };

describe('Segment fixtures', () => {
  it('reads an event, an array, a batch body or NDJSON', () => {
    expect(fixtureEvents(JSON.stringify(EVENT), 'e.json')).toHaveLength(1);
    expect(fixtureEvents(JSON.stringify([EVENT, EVENT]), 'e.json')).toHaveLength(2);
    expect(fixtureEvents(JSON.stringify({ batch: [EVENT, EVENT, EVENT] }), 'e.json')).toHaveLength(3);
    expect(fixtureEvents(`${JSON.stringify(EVENT)}\n${JSON.stringify(EVENT)}\n`, 'e.json')).toHaveLength(2);
    expect(() => fixtureEvents('[1]', 'e.json')).toThrow(/event 1 of e.json is not a JSON object/);
  });

  it('fills each declared column from the event: body, snake_case paths, the seed names for type and timestamp, NULL when absent', () => {
    const query = fixtureQuery(
      [EVENT],
      [
        { name: 'message_id', type: 'text' },
        { name: 'event_type', type: 'text' },
        { name: 'received_at', type: 'timestamp' },
        { name: 'context_library_name', type: 'text' },
        { name: 'traits_first_name', type: 'text' },
        { name: 'anonymous_id', type: 'text' },
        { name: 'body', type: 'jsonb' },
      ],
      { file: 'x.sql' },
    );
    expect(query).toBe(
      `SELECT * FROM (VALUES\n    ('m1'::text, 'identify'::text, '2026-11-20T10:00:00.000Z'::timestamp, 'analytics.js'::text, 'O''Neil'::text, NULL::text, '${JSON.stringify(EVENT).replace(/'/g, "''")}'::jsonb)\n  ) AS v(message_id, event_type, received_at, context_library_name, traits_first_name, anonymous_id, body)`,
    );
    expect(fixtureQuery([], [{ name: 'body', type: 'jsonb' }], { file: 'x.sql' })).toBe('SELECT NULL::jsonb WHERE false');
  });

  it("compiles FROM FILE to plain mz-deploy syntax: the statement's text has AS (<rows>) in its place", () => {
    const test = parseUnitTest("EXECUTE UNIT TEST t FOR a.b.v\nMOCK a.b.src(body jsonb) FROM FILE 'tests/fixtures/e.json',\nEXPECTED(x text) AS (SELECT 'm1');", { file: 'models/v.sql', line: 1 }, (file, columns) => `SELECT '${file}:${columns.map((column) => column.name).join(',')}'`);
    expect(test.mocks[0]).toMatchObject({ file: 'tests/fixtures/e.json', query: "SELECT 'tests/fixtures/e.json:body'" });
    expect(test.text).toBe("EXECUTE UNIT TEST t FOR a.b.v\nMOCK a.b.src(body jsonb) AS (\nSELECT 'tests/fixtures/e.json:body'\n),\nEXPECTED(x text) AS (SELECT 'm1')");
    expect(test.text).not.toMatch(/FROM FILE/);
  });

  it('reports a missing fixture or one outside the project at its line', () => {
    const errors = (file: string) => {
      const root = tempProject({
        'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON\n',
        'models/v.sql': `SELECT body FROM {{ref.hooks}};\n\nEXECUTE UNIT TEST t FOR {{this}}\nMOCK {{ref.hooks}}(body jsonb) FROM FILE '${file}'\nEXPECTED(body jsonb) AS (SELECT '{}'::jsonb);\n`,
      });
      try {
        compileProject(root);
      } catch (error) {
        const list = error instanceof ProjectErrors ? error.errors : [error as ProjectError];
        return list.map((e) => `${e.location?.file}:${e.location?.line}: ${e.message}`);
      }
      return [];
    };
    expect(errors('tests/fixtures/none.json')).toEqual([expect.stringMatching(/^models\/v.sql:4: fixture 'tests\/fixtures\/none.json' does not exist/)]);
    expect(errors('../../etc/passwd')).toEqual([expect.stringMatching(/^models\/v.sql:4: fixture '..\/..\/etc\/passwd' is outside the project/)]);
  });

  it("the seed's parse-view test starts from real payloads, and its compiled form is plain mz-deploy syntax", () => {
    const root = copyOfSeedProject();
    const project = compileProject(root, { env: {} });
    const test = project.nodes.get('identifies_parse_spec_traits_from_payloads')!;
    expect(test.test!.unit!.mocks[0]).toMatchObject({ file: 'tests/fixtures/identify_events.json', parts: ['analytics', 'stg_segment_events'] });
    expect(test.sql).not.toMatch(/FROM FILE/);
    expect(test.sql).toContain("'ajs-identify-0001'::text, 'identify'::text, 'user-grace'::text");
    // Editing the fixture changes the test (watch and the manifest see it as another test).
    writeFileSync(path.join(root, 'tests/fixtures/identify_events.json'), '[]');
    expect(compileProject(root, { env: {} }).nodes.get('identifies_parse_spec_traits_from_payloads')!.checksum).not.toBe(test.checksum);
  });
});
