/**
 * CREATE MATERIALIZED VIEW and the catalog around it as Materialize answers (issue 32, materialized
 * views and error texts). Own cases and data; each expectation checked against Materialize's
 * test/sqllogictest/materialized_views.slt and webhook.slt and doc/user/content/sql/
 * create-materialized-view.md (REFRESH options: ON COMMIT, AT, AT CREATION, EVERY … ALIGNED TO):
 *
 * - REFRESH options are checked as Materialize checks them (words from materialized_views.slt), then
 *   the view refreshes on every read here (docs/local-server.md);
 * - ASSERT NOT NULL names each column once, and only columns the view has;
 * - a name taken is named by kind and full name; the wrong kind says `is not a view` with a hint;
 * - an index on a view does not hold back its drop or its replacement;
 * - SHOW CREATE prints the default `WITH (REFRESH = ON COMMIT)`, mz_materialized_views.definition
 *   the query as written, SHOW OBJECTS the kind as `materialized-view`;
 * - a SHOW command inside a view is refused; a cluster with objects is not dropped without CASCADE.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();
const errorOf = (sql: string) => errorMessageOf(t, sql);

describe('REFRESH options (materialized_views.slt)', () => {
  it('refuses malformed or conflicting REFRESH options with the parser and planner words', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH 10) AS SELECT 1`)).toBe('Expected one of ON or AT or EVERY, found number "10"');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH ON COMMIT, REFRESH ON COMMIT) AS SELECT 1`)).toBe(
      'REFRESH ON COMMIT cannot be specified multiple times',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH ON COMMIT, REFRESH AT CREATION) AS SELECT 1`)).toBe(
      'REFRESH ON COMMIT is not compatible with any of the other REFRESH options',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY 60) AS SELECT 1`)).toBe('Expected literal string, found number "60"');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY) AS SELECT 1`)).toBe('Expected literal string, found right parenthesis');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (ASSERT NOT NULL a REFRESH EVERY '1 hour') AS SELECT 1 AS a`)).toBe(
      'Expected right parenthesis, found REFRESH',
    );
  });

  it('REFRESH EVERY takes a positive interval of days at most', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '2 hourz') AS SELECT 1`)).toBe(
      'invalid input syntax for type interval: unknown units hourz: "2 hourz"',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '-5 minutes') AS SELECT 1`)).toBe('REFRESH interval must be positive; got: -00:05:00');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '2 months') AS SELECT 1`)).toBe(
      'REFRESH interval must not involve units larger than days',
    );
  });

  it('a record where a time is needed names its fields’ types (materialized_views.slt)', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT ROW(7, 'seven', 7.5)) AS SELECT 1`)).toBe(
      'REFRESH AT does not support casting from record(f1: integer,f2: text,f3: numeric) to mz_timestamp',
    );
  });

  it('REFRESH EVERY takes the unit after the string, as an interval literal does (materialized_views.slt)', async () => {
    await t.query(`CREATE MATERIALIZED VIEW every_other_day WITH (REFRESH EVERY '2' days) AS SELECT 1 AS one`);
    expect(await t.query(`SELECT * FROM every_other_day`)).toEqual([{ one: 1 }]);
    await t.query(`DROP MATERIALIZED VIEW every_other_day`);
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '3' months) AS SELECT 1`)).toBe('REFRESH interval must not involve units larger than days');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '3000000000' days) AS SELECT 1`)).toBe(
      'invalid input syntax for type interval: Overflows maximum days; cannot exceed 2147483647/-2147483648 days: "3000000000"',
    );
  });

  it('REFRESH AT / ALIGNED TO take a constant mz_timestamp: no wall clock, subquery, aggregate or window function, no past time', async () => {
    const notConstant = 'REFRESH AT argument must be an expression that can be simplified and/or cast to a constant whose type is mz_timestamp';
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT now()) AS SELECT 1`)).toBe(notConstant);
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT 'next tuesday') AS SELECT 1`)).toBe(notConstant);
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT (SELECT 1)) AS SELECT 1`)).toBe('REFRESH AT does not allow subqueries');
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT max(1)) AS SELECT 1`)).toBe(
      'aggregate functions are not allowed in REFRESH AT (function pg_catalog.max)',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH EVERY '1 day' ALIGNED TO row_number() OVER ()) AS SELECT 1`)).toBe(
      'window functions are not allowed in REFRESH EVERY ... ALIGNED TO (function pg_catalog.row_number)',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT greatest(mz_now(), now())) AS SELECT 1`)).toBe(
      'greatest types mz_timestamp and timestamp with time zone cannot be matched',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW r1 WITH (REFRESH AT '1999-12-31 23:00') AS SELECT 1`)).toBe(
      'REFRESH AT requested for a time where not all the inputs are readable',
    );
  });

  it('takes the documented forms, and the view answers', async () => {
    await t.query(`CREATE TABLE refreshed_src (n int)`);
    await t.query(`INSERT INTO refreshed_src VALUES (4), (5)`);
    await t.query(`CREATE MATERIALIZED VIEW r_daily WITH (REFRESH EVERY '1 day' ALIGNED TO mz_now(), REFRESH AT CREATION) AS SELECT sum(n) AS total FROM refreshed_src`);
    await t.query(`CREATE MATERIALIZED VIEW r_once WITH (REFRESH AT greatest('2001-02-03 04:05', mz_now())) AS SELECT count(*) AS rows FROM refreshed_src`);
    await t.query(`CREATE MATERIALIZED VIEW r_future WITH (REFRESH AT '2999-01-01 00:00') AS SELECT 1 AS one`);
    expect(await t.query(`SELECT total FROM r_daily`)).toEqual([{ total: '9' }]);
    expect(await t.query(`SELECT rows FROM r_once`)).toEqual([{ rows: '2' }]);
  });
});

describe('column names (materialized_views.slt)', () => {
  // The full name unquoted, as Materialize's FullItemName prints it (plan_utils.rs, column_count_mismatch).
  it('more names than the query has columns, counted as Materialize counts them', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW named_pair (first, second, third) AS SELECT 1, 2`)).toBe(
      'materialized view materialize.public.named_pair definition names 3 columns, but materialized view materialize.public.named_pair has 2 columns',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW named_one (first, second) AS SELECT 'only'`)).toBe(
      'materialized view materialize.public.named_one definition names 2 columns, but materialized view materialize.public.named_one has 1 column',
    );
  });

  // Materialize v26.36 on (plan_utils.rs maybe_rename_columns_exact; checks/all_checks/
  // view_column_name_count_mismatch.py at MaterializeInc/materialize): fewer names than columns is
  // refused too, where PostgreSQL names the first columns and keeps the rest.
  it('fewer names than the query has columns: refused, for views and materialized views, and nothing is created', async () => {
    await t.query(`CREATE TABLE scores (player text, points int, round int)`);
    expect(await errorOf(`CREATE VIEW short_list (who) AS SELECT player, points FROM scores`)).toBe(
      'view materialize.public.short_list definition names 1 column, but view materialize.public.short_list has 2 columns',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW short_kept (who, pts) AS SELECT * FROM scores`)).toBe(
      'materialized view materialize.public.short_kept definition names 2 columns, but materialized view materialize.public.short_kept has 3 columns',
    );
    expect(await errorOf(`CREATE VIEW long_list (a, b, c) AS SELECT player FROM scores`)).toBe(
      'view materialize.public.long_list definition names 3 columns, but view materialize.public.long_list has 1 column',
    );
    expect(await t.query(`SELECT name FROM mz_objects WHERE name IN ('short_list', 'short_kept', 'long_list')`)).toEqual([]);
    await t.query(`CREATE VIEW exact_list (who, pts, r) AS SELECT * FROM scores`);
    await t.query(`INSERT INTO scores VALUES ('ada', 3, 1)`);
    expect(await t.query(`SELECT who, pts, r FROM exact_list`)).toEqual([{ who: 'ada', pts: 3, r: 1 }]);
  });
});

describe('ASSERT NOT NULL (materialized_views.slt)', () => {
  it('names each column once, and only columns of the view', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW a1 WITH (ASSERT NOT NULL k, ASSERT NOT NULL k) AS SELECT 1 AS k`)).toBe(
      'duplicate column "k" in non-null assertions',
    );
    expect(await errorOf(`CREATE MATERIALIZED VIEW a1 (x, y) WITH (ASSERT NOT NULL k) AS SELECT 1 AS k, 2 AS v`)).toBe(
      'column "k" in ASSERT NOT NULL option not found',
    );
  });
});

describe('names, kinds and dependents', () => {
  it('a name taken is named by its kind and full name', async () => {
    await t.query(`CREATE MATERIALIZED VIEW taken_mv AS SELECT 1 AS one`);
    expect(await errorOf(`CREATE MATERIALIZED VIEW taken_mv AS SELECT 2`)).toBe('materialized view "materialize.public.taken_mv" already exists');
    await t.query(`CREATE SOURCE taken_hook FROM WEBHOOK BODY FORMAT TEXT`);
    expect(await errorOf(`CREATE SOURCE taken_hook FROM WEBHOOK BODY FORMAT JSON`)).toBe('source "materialize.public.taken_hook" already exists');
  });

  it('the wrong kind: `is not a view`, with the statement to use instead', async () => {
    await t.query(`CREATE MATERIALIZED VIEW kind_mv AS SELECT 1 AS one`);
    const hintOf = async (sql: string) =>
      t.sql.query(sql).then(
        () => null,
        (error: Error & { hint?: string }) => [error.message, error.hint],
      );
    expect(await hintOf(`DROP VIEW kind_mv`)).toEqual(['materialize.public.kind_mv is not a view', 'Use DROP MATERIALIZED VIEW to remove a materialized view.']);
    expect(await hintOf(`ALTER VIEW kind_mv RENAME TO kind_mv2`)).toEqual([
      'materialize.public.kind_mv is not a view',
      'Use ALTER MATERIALIZED VIEW to rename a materialized view.',
    ]);
    expect(await hintOf(`SHOW CREATE VIEW kind_mv`)).toEqual([
      'materialize.public.kind_mv is not a view',
      'Use SHOW CREATE MATERIALIZED VIEW to show a materialized view.',
    ]);
  });

  it('an index on a view goes with it: it holds back neither DROP nor CREATE OR REPLACE', async () => {
    await t.query(`CREATE MATERIALIZED VIEW indexed_mv AS SELECT 1 AS one`);
    await t.query(`CREATE DEFAULT INDEX ON indexed_mv`);
    await t.query(`CREATE OR REPLACE MATERIALIZED VIEW indexed_mv AS SELECT 2 AS two`);
    await t.query(`CREATE DEFAULT INDEX ON indexed_mv`);
    await t.query(`DROP MATERIALIZED VIEW indexed_mv`);
    expect(await t.query(`SELECT name FROM mz_indexes WHERE name LIKE 'indexed_mv%'`)).toEqual([]);
  });

  it('a type a materialized view reads is not dropped, in Materialize’s words', async () => {
    await t.query(`CREATE TYPE score_list AS LIST (ELEMENT TYPE = int4)`);
    await t.query(`CREATE MATERIALIZED VIEW typed_mv AS SELECT NULL::score_list AS scores`);
    expect(await errorOf(`DROP TYPE score_list`)).toBe('cannot drop type "score_list": still depended upon by materialized view "typed_mv"');
    await t.query(`DROP MATERIALIZED VIEW typed_mv`);
    await t.query(`DROP TYPE score_list`);
    expect(await t.query(`SELECT to_regtype('score_list') AS type`)).toEqual([{ type: null }]);
  });

  it('a cluster with objects is not dropped without CASCADE', async () => {
    await t.query(`CREATE CLUSTER busy_cluster (SIZE = '25cc')`);
    await t.query(`CREATE MATERIALIZED VIEW busy_mv IN CLUSTER busy_cluster AS SELECT 1 AS one`);
    expect(await errorOf(`DROP CLUSTER busy_cluster`)).toBe('cannot drop cluster "busy_cluster" because other objects depend on it');
    await t.query(`DROP CLUSTER busy_cluster CASCADE`);
  });

  it('a SHOW command inside a view is refused', async () => {
    expect(await errorOf(`CREATE MATERIALIZED VIEW shown AS SELECT name FROM (SHOW TABLES)`)).toBe('SHOW commands are not allowed in views');
    expect(await errorOf(`CREATE VIEW shown AS SELECT name FROM (SHOW CLUSTERS)`)).toBe('SHOW commands are not allowed in views');
  });
});

describe('how a materialized view is shown', () => {
  it('SHOW CREATE with the default refresh, definition as written, SHOW OBJECTS kind', async () => {
    await t.query(`CREATE MATERIALIZED VIEW shown_mv AS SELECT 41 + 1 AS answer`);
    expect(await t.query(`SHOW CREATE MATERIALIZED VIEW shown_mv`)).toEqual([
      {
        name: 'materialize.public.shown_mv',
        create_sql: 'CREATE MATERIALIZED VIEW "materialize"."public"."shown_mv" IN CLUSTER "quickstart" WITH (REFRESH = ON COMMIT) AS SELECT 41 + 1 AS answer',
      },
    ]);
    expect(await t.query(`SELECT definition FROM mz_materialized_views WHERE name = 'shown_mv'`)).toEqual([{ definition: 'SELECT 41 + 1 AS answer;' }]);
    expect(await t.query(`SHOW OBJECTS WHERE name = 'shown_mv'`)).toEqual([{ name: 'shown_mv', type: 'materialized-view', comment: '' }]);
  });
});

describe('webhook sources (webhook.slt)', () => {
  it('a column named twice is ambiguous; a bad CHECK is reported before a taken name', async () => {
    expect(await errorOf(`CREATE SOURCE twice_hook FROM WEBHOOK BODY FORMAT TEXT INCLUDE HEADER 'x-a' AS tag INCLUDE HEADER 'x-b' AS tag`)).toBe(
      'column reference "tag" is ambiguous',
    );
    expect(await errorOf(`CREATE SOURCE twice_hook FROM WEBHOOK BODY FORMAT TEXT INCLUDE HEADER 'x-a' AS body`)).toBe('column reference "body" is ambiguous');
    await t.query(`CREATE SOURCE checked_hook FROM WEBHOOK BODY FORMAT TEXT`);
    expect(await errorOf(`CREATE SOURCE checked_hook FROM WEBHOOK BODY FORMAT TEXT CHECK (WITH (HEADERS) headers->'x' = missing_column)`)).toMatch(
      /column "missing_column" does not exist/,
    );
  });

  it('URLs percent-encode as Materialize does; every source reports running', async () => {
    await t.query(`CREATE SOURCE "odd-(name)%/'" FROM WEBHOOK BODY FORMAT BYTES`);
    const [row] = await t.query<{ path: string }>(`SELECT substring(url FROM '/api/webhook/.*') AS path FROM mz_internal.mz_webhook_sources WHERE name = 'odd-(name)%/'''`);
    expect(row!.path).toBe(`/api/webhook/materialize/public/odd-(name)%25%2F'`);
    expect(await t.query(`SELECT name, type, status, error FROM mz_internal.mz_source_statuses WHERE name = 'checked_hook'`)).toEqual([
      { name: 'checked_hook', type: 'webhook', status: 'running', error: null },
    ]);
  });
});
