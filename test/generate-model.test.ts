import { describe, expect, it } from 'vitest';
import { generateParseView, inferColumns, parseSample, snakeCase } from '../scripts/runner/generate-model.ts';

describe('models:generate inference', () => {
  it('snake_cases keys the way the Spec fields read', () => {
    expect(['messageId', 'userAgent', 'HTTPStatus', 'utm-source', 'already_snake', '2fa', 'a.b'].map(snakeCase)).toEqual([
      'message_id',
      'user_agent',
      'http_status',
      'utm_source',
      'already_snake',
      '_2fa',
      'a_b',
    ]);
  });

  it('flattens nested objects and infers types, merging samples', () => {
    const columns = inferColumns([
      { a: { b: 1, when: '2026-01-02T03:04:05.678Z', loose: '2026-01-02T03:04:05Z' }, flag: true, tags: ['x'], maybe: null, mixed: 1 },
      { a: { b: 2.5 }, maybe: 'text now', mixed: 'one' },
    ]);
    expect(columns.map((column) => [column.column, column.type, column.looseTimestamp])).toEqual([
      ['a_b', 'numeric', false],
      ['a_when', 'timestamp', false],
      ['a_loose', 'timestamp', true],
      ['flag', 'boolean', false],
      ['tags', 'jsonb', false],
      ['maybe', 'text', false],
      ['mixed', 'text', false],
    ]);
  });

  it('keeps colliding column names apart', () => {
    expect(inferColumns([{ userId: 'a', user_id: 'b', user: { id: 'c' } }]).map((column) => column.column)).toEqual(['user_id', 'user_id_2', 'user_id_3']);
  });

  it('writes a model with guarded casts, quoted keywords and escaped keys', () => {
    const model = generateParseView([{ type: 'track', "it's": 'x', n: 1 }], { name: 'm', from: 'stg_segment_events', column: 'body', sampleFile: 's.json' });
    expect(model).toBe(
      [
        '---',
        'kind: view',
        'description: "Parsed from s.json by models:generate"',
        '---',
        'SELECT',
        "  e.body->>'type' AS \"type\",",
        "  e.body->>'it''s' AS it_s,",
        "  CASE WHEN jsonb_typeof(e.body->'n') = 'number' THEN (e.body->>'n')::numeric END AS n",
        'FROM {{ref.stg_segment_events}} AS e',
        '',
      ].join('\n'),
    );
  });

  it('reads NDJSON and refuses samples that are not objects', () => {
    expect(parseSample('{"a":1}\n{"a":2}\n', 's.ndjson')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(() => inferColumns([1])).toThrowError('every sample must be a JSON object');
  });
});
