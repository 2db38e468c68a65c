import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseFlatYaml, readFrontMatter } from '../scripts/runner/front-matter.ts';
import { ProjectError } from '../scripts/runner/errors.ts';

describe('front matter fast path', () => {
  // Every document here is either understood by the fast path with exactly the library's result,
  // or handed to the library (undefined).
  const corpus = [
    'kind: view',
    'kind: materialized_view\ncluster: quickstart\ntags: [marts, daily]\n',
    'enabled: false\nenabled_too: true',
    'a: True\nb: FALSE\nc: null\nd: ~\ne: Null',
    'n: 42\nm: -7\nz: 0',
    'description: Events per minute over a sliding window',
    'description: a  b',
    'description: value # a comment',
    'description: "quoted"',
    "description: 'single'",
    'description: has: colon',
    'description: yes',
    'description: no',
    'version: 1.5',
    'version: 0x1F',
    'tags: []',
    'tags: [a, b c, d-e]',
    'tags: [true, x]',
    'tags: [1, 2]',
    'tags: [a # b]',
    'indexes:\n  - columns: [a]',
    'indexes:\n  - columns: [a, b]\n    name: by_ab\n  - columns: [c]\nkind: materialized_view',
    'indexes:\n- columns: [a]',
    'tags:\n  - a\n  - b c\nkind: view',
    'tags:\n  - a\n  - k: v',
    'indexes:\n  - columns: [a]\n      name: deeper',
    'indexes:\n  - columns: [a]\n  name: sibling',
    'indexes:\n  - columns: [a]\n    columns: [b]',
    'indexes:\n  - columns:\n      - a',
    'indexes:\n  - columns: [a]\n    # a comment\n    name: x',
    'indexes:\n  -  columns: [a]',
    'indexes:\n  - "quoted": x',
    'indexes:\n  - columns: [a]\n   - columns: [b]',
    'indexes:\n\n  - columns: [a]\n\nkind: view',
    'list:\n  - true\n  - 3',
    '# comment only\nkind: view\n\n',
    'kind: view\r\ncluster: c\r\n',
    'kind: view\nkind: source',
    'key:',
    'anchor: &a x',
    'big: 12345678901234567890',
    'path: models/marts/x.sql',
  ];
  for (const text of corpus) {
    it(JSON.stringify(text), () => {
      const fast = parseFlatYaml(text);
      if (fast !== undefined) expect(fast).toEqual(parse(text));
    });
  }

  it('takes the fast path for a block list of flat mappings (indexes:)', () => {
    expect(parseFlatYaml('description: x\nindexes:\n  - columns: [id]\n    name: by_id\n  - columns: [a, b]\n')).toEqual({
      description: 'x',
      indexes: [{ columns: ['id'], name: 'by_id' }, { columns: ['a', 'b'] }],
    });
  });

  it('takes the fast path for the common flat form', () => {
    expect(parseFlatYaml('kind: view\ntags: [a, b]\nenabled: true\n')).toEqual({ kind: 'view', tags: ['a', 'b'], enabled: true });
  });
});

describe('readFrontMatter', () => {
  it('reports an unknown key at its line, offset by the opening ---', () => {
    try {
      readFrontMatter('models/a.sql', 'kind: view\nclustr: x\n', 1);
      expect.unreachable();
    } catch (error) {
      const projectError = error as ProjectError;
      expect(projectError.location).toEqual({ file: 'models/a.sql', line: 3, column: 1 });
      expect(projectError.message).toBe("unknown key 'clustr' in front matter (did you mean 'cluster'?)");
      expect(projectError.fix).toContain('cluster');
    }
  });

  it('reports a wrong kind with the allowed values', () => {
    try {
      readFrontMatter('models/a.sql', 'kind: table\n', 1);
      expect.unreachable();
    } catch (error) {
      expect((error as ProjectError).format()).toBe(
        'models/a.sql:2:1: kind: expected one of "cluster", "secret", "connection", "source", "view", "materialized_view" in front matter\n  fix: use one of "cluster", "secret", "connection", "source", "view", "materialized_view"',
      );
    }
  });

  it('reports invalid YAML with its position', () => {
    expect(() => readFrontMatter('models/a.sql', 'tags: [a, b\n', 1)).toThrowError(/invalid YAML/);
  });
});
