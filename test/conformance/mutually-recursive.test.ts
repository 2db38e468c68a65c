/**
 * WITH MUTUALLY RECURSIVE (issue 32, item 4; scripts/local/sql/mutually-recursive.ts), checked
 * against doc/user/content/sql/select/recursive-ctes.md: bindings declare their columns and types,
 * start empty and are iterated to a fixed point; ERROR AT RECURSION LIMIT bounds the rounds.
 * Own cases and data. What the local server cannot evaluate (a binding reading a later one,
 * RETURN AT RECURSION LIMIT) is refused in words that say so, never answered differently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.query(`CREATE TABLE referrals (referrer text, referred text)`);
  await t.query(`INSERT INTO referrals VALUES ('ann', 'bob'), ('bob', 'cy'), ('cy', 'dee'), ('eve', 'fay')`);
});
afterAll(async () => {
  await t?.close();
});

describe('WITH MUTUALLY RECURSIVE (recursive-ctes.md)', () => {
  it('iterates a self-referencing binding to its fixed point', async () => {
    const rows = await t.query(`WITH MUTUALLY RECURSIVE
        chain (root text, member text) AS (
          SELECT referrer, referred FROM referrals
          UNION
          SELECT chain.root, referrals.referred FROM chain JOIN referrals ON referrals.referrer = chain.member
        )
      SELECT root, count(*)::int AS reached FROM chain GROUP BY root ORDER BY root`);
    expect(rows).toEqual([
      { root: 'ann', reached: 3 },
      { root: 'bob', reached: 2 },
      { root: 'cy', reached: 1 },
      { root: 'eve', reached: 1 },
    ]);
  });

  it('takes ERROR AT RECURSION LIMIT and later bindings reading earlier ones', async () => {
    const rows = await t.query(`WITH MUTUALLY RECURSIVE (ERROR AT RECURSION LIMIT 100)
        steps (n int) AS (SELECT 1 UNION SELECT n + 1 FROM steps WHERE n < 5),
        doubled (n int) AS (SELECT n * 2 FROM steps)
      SELECT sum(n)::int AS total FROM doubled`);
    expect(rows).toEqual([{ total: 30 }]);
  });

  it('refuses what it cannot evaluate, saying so', async () => {
    await expect(
      t.query(`WITH MUTUALLY RECURSIVE evens (n int) AS (SELECT 0 UNION SELECT n + 1 FROM odds WHERE n < 6), odds (n int) AS (SELECT n + 1 FROM evens)
        SELECT * FROM evens`),
    ).rejects.toThrow('WITH MUTUALLY RECURSIVE where a binding reads a later one ("evens" reads "odds") is not supported by the local server');
    await expect(t.query(`WITH MUTUALLY RECURSIVE (RETURN AT RECURSION LIMIT 2) c (n int) AS (SELECT 1 UNION SELECT n + 1 FROM c) SELECT * FROM c`)).rejects.toThrow(
      'RETURN AT RECURSION LIMIT',
    );
  });

  it('works in a materialized view', async () => {
    await t.query(`CREATE MATERIALIZED VIEW referral_roots AS WITH MUTUALLY RECURSIVE
        chain (root text, member text) AS (
          SELECT referrer, referred FROM referrals UNION SELECT chain.root, referrals.referred FROM chain JOIN referrals ON referrals.referrer = chain.member
        )
      SELECT member, min(root) AS first_root FROM chain GROUP BY member`);
    expect(await t.query(`SELECT first_root FROM referral_roots WHERE member = 'dee'`)).toEqual([{ first_root: 'ann' }]);
    await t.query(`INSERT INTO referrals VALUES ('dee', 'gus')`);
    expect(await t.query(`SELECT first_root FROM referral_roots WHERE member = 'gus'`)).toEqual([{ first_root: 'ann' }]);
  });
});
