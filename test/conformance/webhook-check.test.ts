/**
 * What Materialize refuses in a webhook source's CHECK, refused at CREATE SOURCE with its words
 * (issue 32, item 10). Own cases and data; each expectation was checked against
 * MaterializeInc/materialize test/sqllogictest/webhook.slt:
 *
 * - a CHECK naming no column: "expression provided in CHECK does not reference any columns", after
 *   the type check ("CHECK must have type boolean, not type text");
 * - mz_now() or current_database(): "expression provided in CHECK is not deterministic"; now() and
 *   current_timestamp() are allowed (the time the request was received);
 * - a subquery: "CHECK does not allow subqueries";
 * - the same column bound twice: `column reference "headers" is ambiguous`.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, post, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();

describe('webhook CHECK refusals', () => {
  it('refuses a CHECK that names no column, after checking its type', async () => {
    expect(await errorMessageOf(t, `CREATE SOURCE hook_const FROM WEBHOOK BODY FORMAT JSON CHECK ( 'x' = 'y' )`)).toBe(
      'expression provided in CHECK does not reference any columns',
    );
    expect(await errorMessageOf(t, `CREATE SOURCE hook_text FROM WEBHOOK BODY FORMAT TEXT CHECK ( 'left' || 'right' )`)).toBe(
      'CHECK must have type boolean, not type text',
    );
  });

  it('refuses functions that are not deterministic, subqueries and a column bound twice', async () => {
    for (const call of [`mz_now()::text`, `current_database()`]) {
      expect(await errorMessageOf(t, `CREATE SOURCE hook_time FROM WEBHOOK BODY FORMAT BYTES CHECK ( WITH (HEADERS) headers->'stamp' = ${call} )`)).toBe(
        'expression provided in CHECK is not deterministic',
      );
    }
    expect(
      await errorMessageOf(t, `CREATE SOURCE hook_sub FROM WEBHOOK BODY FORMAT BYTES CHECK ( WITH (HEADERS) headers->'token' IN (SELECT name FROM mz_tables) )`),
    ).toBe('CHECK does not allow subqueries');
    expect(await errorMessageOf(t, `CREATE SOURCE hook_twice FROM WEBHOOK BODY FORMAT TEXT CHECK ( WITH (HEADERS, HEADERS) headers->'token' = 'k' )`)).toBe(
      'column reference "headers" is ambiguous',
    );
    expect(await t.query(`SELECT name FROM mz_sources WHERE name LIKE 'hook_%'`)).toEqual([]);
  });

  it('accepts now() and current_timestamp() as the time the request was received', async () => {
    await t.query(`CREATE SOURCE hook_fresh FROM WEBHOOK BODY FORMAT TEXT INCLUDE HEADERS
      CHECK ( WITH (HEADERS) (headers->'sent-at')::timestamptz + INTERVAL '1 minute' >= now() AND (headers->'sent-at')::timestamptz <= current_timestamp() )`);
    const url = t.server.webhookUrl('hook_fresh');
    expect((await post(url, 'fresh', { 'sent-at': new Date(Date.now() - 5_000).toISOString() })).status).toBe(200);
    expect((await post(url, 'stale', { 'sent-at': new Date(Date.now() - 3_600_000).toISOString() })).status).toBe(400);
    expect(await t.query(`SELECT body FROM hook_fresh`)).toEqual([{ body: 'fresh' }]);
  });
});
