/**
 * Materialized view options, IGNORE NULLS windows and interval text as Materialize has them
 * (issue 32, items 5, 8 and 11). Own cases and data; each expectation checked against:
 *
 * - WITH (ASSERT NOT NULL col): misc/python/materialize/checks (MaterializedViewsAssertNotNull):
 *   every read of the view fails with `column "x" must not be null` while a NULL is there, even a
 *   read that filters the NULL out or selects other columns, and works again once it is gone;
 * - WITH (REFRESH EVERY … / AT … / ON COMMIT): doc/user/content/sql/create-materialized-view.md
 *   (accepted; locally the view is fresh on every read);
 * - IGNORE NULLS / RESPECT NULLS: doc/user/content/sql/functions/_index.md (window functions lag,
 *   lead, first_value, last_value);
 * - interval text: doc/user/content/sql/types/interval.md (`1 month`, `2 months`, years folded);
 * - CREATE VIEW IF NOT EXISTS: doc/user/content/sql/create-view.md.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const errorOf = (sql: string) => errorMessageOf(t, sql);

/** Rows as the server sent them, every value as its text. */
async function rawRows(sql: string): Promise<unknown[][]> {
  const result = await t.sql.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (value: string) => value } });
  return result.rows as unknown[][];
}

describe('CREATE MATERIALIZED VIEW … WITH (ASSERT NOT NULL …)', () => {
  it('fails every read while an asserted column holds a NULL, then reads again', async () => {
    await t.query(`CREATE TABLE signups (user_id text, plan text)`);
    await t.query(`INSERT INTO signups VALUES ('u1', 'free')`);
    await t.query(`CREATE MATERIALIZED VIEW signup_plans WITH (ASSERT NOT NULL plan) AS SELECT user_id, plan FROM signups`);
    expect(await t.query(`SELECT * FROM signup_plans`)).toEqual([{ user_id: 'u1', plan: 'free' }]);
    await t.query(`INSERT INTO signups VALUES ('u2', NULL)`);
    expect(await errorOf(`SELECT * FROM signup_plans`)).toBe('column "plan" must not be null');
    expect(await errorOf(`SELECT user_id FROM signup_plans WHERE plan IS NOT NULL`)).toBe('column "plan" must not be null');
    await t.query(`DELETE FROM signups WHERE plan IS NULL`);
    expect(await t.query(`SELECT user_id FROM signup_plans`)).toEqual([{ user_id: 'u1' }]);
  });

  it('asserts several columns, by their names in a column list', async () => {
    await t.query(`CREATE MATERIALIZED VIEW signup_pairs (who, tier) WITH (ASSERT NOT NULL who, ASSERT NOT NULL tier) AS SELECT user_id, plan FROM signups`);
    expect(await t.query(`SELECT who, tier FROM signup_pairs`)).toEqual([{ who: 'u1', tier: 'free' }]);
    await t.query(`INSERT INTO signups VALUES (NULL, 'pro')`);
    expect(await errorOf(`SELECT tier FROM signup_pairs`)).toBe('column "who" must not be null');
    await t.query(`DELETE FROM signups WHERE user_id IS NULL`);
  });

  it('accepts REFRESH options, the view staying fresh', async () => {
    await t.query(`CREATE MATERIALIZED VIEW plan_counts WITH (REFRESH EVERY '1 day') AS SELECT plan, count(*)::int AS n FROM signups GROUP BY plan`);
    await t.query(`CREATE MATERIALIZED VIEW plan_counts_now WITH (REFRESH ON COMMIT) AS SELECT count(*)::int AS n FROM signups`);
    await t.query(`INSERT INTO signups VALUES ('u3', 'free')`);
    expect(await t.query(`SELECT plan, n FROM plan_counts`)).toEqual([{ plan: 'free', n: 2 }]);
    expect(await t.query(`SELECT n FROM plan_counts_now`)).toEqual([{ n: 2 }]);
  });

  it('refuses an option it does not know', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW odd_option WITH (RETAIN HISTORY FOR '1h') AS SELECT 1`)).toMatch(/Expected one of ASSERT or REFRESH/);
  });
});

describe('CREATE VIEW IF NOT EXISTS (create-view.md)', () => {
  it('creates the view once and leaves an existing one as it is', async () => {
    await t.query(`CREATE VIEW IF NOT EXISTS answer AS SELECT 42 AS n`);
    await t.query(`CREATE VIEW IF NOT EXISTS answer AS SELECT 7 AS n`);
    expect(await t.query(`SELECT n FROM answer`)).toEqual([{ n: 42 }]);
  });
});

describe('IGNORE NULLS and RESPECT NULLS', () => {
  it('lag, lead, first_value and last_value skip NULLs; RESPECT NULLS is the default', async () => {
    const rows = await t.query(`SELECT at, v,
        lag(v) IGNORE NULLS OVER (ORDER BY at) AS lag_v,
        lead(v) IGNORE NULLS OVER (ORDER BY at) AS lead_v,
        lag(v, 2, -1) IGNORE NULLS OVER (ORDER BY at) AS lag2_v,
        first_value(v) IGNORE NULLS OVER (ORDER BY at) AS first_v,
        last_value(v) IGNORE NULLS OVER (ORDER BY at) AS last_v,
        lag(v) RESPECT NULLS OVER (ORDER BY at) AS lag_raw
      FROM (VALUES (1, NULL::int), (2, 20), (3, NULL), (4, 40), (5, NULL)) AS s(at, v) ORDER BY at`);
    expect(rows.map((row) => Object.values(row))).toEqual([
      [1, null, null, 20, -1, null, null, null],
      [2, 20, null, 40, -1, 20, 20, null],
      [3, null, 20, 40, -1, 20, 20, 20],
      [4, 40, 20, null, -1, 20, 40, null],
      [5, null, 40, null, 20, 20, 40, 40],
    ]);
  });

  it('per partition', async () => {
    const rows = await t.query<{ u: string; at: number; prev: string | null }>(`SELECT u, at, lag(page) IGNORE NULLS OVER (PARTITION BY u ORDER BY at) AS prev
      FROM (VALUES ('a', 1, 'home'), ('a', 2, NULL), ('a', 3, 'cart'), ('b', 1, NULL), ('b', 2, 'faq')) AS s(u, at, page) ORDER BY u, at`);
    expect(rows.map((row) => row.prev)).toEqual([null, 'home', 'home', null, null]);
  });
});

describe('interval text', () => {
  it('spells months out, as Materialize prints intervals', async () => {
    expect(await rawRows(`SELECT INTERVAL '1 month 2 days 03:00:00', INTERVAL '14 months', INTERVAL '-3 months', INTERVAL '5 days'`)).toEqual([
      ['1 month 2 days 03:00:00', '1 year 2 months', '-3 months', '5 days'],
    ]);
  });
});
