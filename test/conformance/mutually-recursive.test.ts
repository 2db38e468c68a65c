/**
 * WITH MUTUALLY RECURSIVE (issue 32, item 4; scripts/local/sql/mutually-recursive.ts), checked
 * against doc/user/content/sql/select/recursive-ctes.md: bindings declare their columns and types,
 * start empty and are iterated to a fixed point, each round computing the bindings in order from the
 * newest state of the others (with_mutually_recursive.slt); RETURN / ERROR AT RECURSION LIMIT bound
 * the rounds. Own cases and data.
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

  it('evaluates bindings that read later ones, as Materialize rounds them (with_mutually_recursive.slt)', async () => {
    // Each round computes the bindings in order from the newest state of the others.
    const rows = await t.query(`WITH MUTUALLY RECURSIVE
        evens (n int) AS (SELECT 0 UNION SELECT n + 1 FROM odds WHERE n < 6),
        odds (n int) AS (SELECT n + 1 FROM evens)
      SELECT (SELECT array_agg(n ORDER BY n) FROM evens)::text AS evens, (SELECT array_agg(n ORDER BY n) FROM odds)::text AS odds`);
    expect(rows).toEqual([{ evens: '{0,2,4,6}', odds: '{1,3,5,7}' }]);
  });

  it('reaches the whole fixed point where PostgreSQL\'s linear recursion stops early', async () => {
    // A self-join of the binding: every sum of two members up to 20 (PostgreSQL's WITH RECURSIVE,
    // seeing only the last round's new rows, reaches fewer).
    const rows = await t.query(`WITH MUTUALLY RECURSIVE
        sums (n int) AS (SELECT 1 UNION SELECT DISTINCT a.n + b.n FROM sums a, sums b WHERE a.n + b.n <= 20)
      SELECT count(*)::int AS members, max(n) AS top FROM sums`);
    expect(rows).toEqual([{ members: 20, top: 20 }]);
  });

  it('reads a binding in an aggregate subquery and keeps duplicate rows', async () => {
    const rows = await t.query(`WITH MUTUALLY RECURSIVE
        names (who text) AS (SELECT referrer FROM referrals UNION ALL SELECT who FROM names WHERE false),
        tally (n bigint) AS (SELECT (SELECT count(*) FROM names))
      SELECT n FROM tally`);
    expect(rows).toEqual([{ n: '4' }]);
  });

  it('answers RETURN AT RECURSION LIMIT with the state after that many rounds, and fails at ERROR AT', async () => {
    expect(await t.query(`WITH MUTUALLY RECURSIVE (RETURN AT RECURSION LIMIT 3) c (n int) AS (SELECT 1 UNION SELECT n + 1 FROM c) SELECT max(n) AS n FROM c`)).toEqual([
      { n: 3 },
    ]);
    await expect(t.query(`WITH MUTUALLY RECURSIVE (ERROR AT RECURSION LIMIT 3) c (n int) AS (SELECT 1 UNION SELECT n + 1 FROM c) SELECT max(n) FROM c`)).rejects.toThrow(
      'Recursive query exceeded the recursion limit 3',
    );
  });

  it('refuses a body whose columns are not the declared ones, in Materialize\'s words', async () => {
    await expect(t.query(`WITH MUTUALLY RECURSIVE c (n text) AS (SELECT 1) SELECT * FROM c`)).rejects.toThrow(
      'declared type (text) of WITH MUTUALLY RECURSIVE query did not match inferred type (integer)',
    );
    await expect(t.query(`WITH MUTUALLY RECURSIVE c (n int, m int) AS (SELECT 1) SELECT * FROM c`)).rejects.toThrow('did not match inferred type');
    await expect(t.query(`WITH MUTUALLY RECURSIVE c (n int) AS (SELECT 1, 2) SELECT * FROM c`)).rejects.toThrow('did not match inferred type');
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

describe('WITH MUTUALLY RECURSIVE over linear bodies (with_mutually_recursive.slt)', () => {
  it('a linear self-join reaches the same closure, and its declared columns are still checked', async () => {
    await t.query(`CREATE TABLE hops (a text, b text)`);
    await t.query(`INSERT INTO hops VALUES ('p', 'q'), ('q', 'r'), ('r', 's'), ('x', 'y')`);
    const rows = await t.query(`WITH MUTUALLY RECURSIVE
        reach (root text, member text) AS (
          SELECT a, b FROM hops
          UNION
          SELECT reach.root, hops.b FROM reach JOIN hops ON hops.a = reach.member WHERE reach.member IS NOT NULL
        )
      SELECT count(*)::int AS pairs FROM reach`);
    // p: q r s; q: r s; r: s; x: y
    expect(rows).toEqual([{ pairs: 7 }]);
    await expect(t.query(`WITH MUTUALLY RECURSIVE reach (root int) AS (SELECT a FROM hops UNION SELECT reach.root FROM reach) SELECT * FROM reach`)).rejects.toThrow(
      'did not match inferred type',
    );
  });
});
