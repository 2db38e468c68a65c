/**
 * A seeded differential fuzz of kept materialized views (kept-views-fuzz.test.ts): a case is a list
 * of steps — Segment-like events through webhook sources (single and batched, duplicates, an id
 * sent again with other content), DML and TRUNCATE on a table, views and materialized views in the
 * shapes users write (dedup, folding aggregates, NOT EXISTS, views over views, MVs over MVs, joins,
 * window functions, UNION ALL, HAVING, LIMIT, CTEs), replaced and dropped models — and reads of every
 * materialized view right after a write, after the background refresh and inside a read-only
 * transaction, each compared with the view's own SELECT run fresh on the same server. A case runs
 * in a schema of its own; a failing case is shrunk (steps dropped while it still fails).
 */
import type { TestServer } from './local-server.ts';

/** `{s}` stands for the case's schema. */
export type Step =
  | { readonly kind: 'ddl'; readonly sql: string; readonly creates?: { readonly name: string; readonly select: string }; readonly drops?: string }
  | { readonly kind: 'post'; readonly source: string; readonly body: unknown }
  | { readonly kind: 'dml'; readonly sql: string }
  | { readonly kind: 'check'; readonly when: 'now' | 'settled' | 'read-only' };

export interface Mismatch {
  readonly step: number;
  readonly view: string;
  readonly when: string;
  readonly kept: string[];
  readonly fresh: string[];
}

export interface RunResult {
  readonly mismatch: Mismatch | null;
  readonly comparisons: number;
}

/** mulberry32: a small deterministic generator. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The row columns of a dedup view and what its shapes over it read. */
const ROW = `id, u, kind, n, ts`;

/** Dedup views over the sources, in the forms users write them (each yields ROW). */
function dedupVariants(source: string): string[] {
  const n = `CASE WHEN body->>'n' ~ '^[0-9]{1,6}$' THEN (body->>'n')::int END`;
  const ts = `CASE WHEN body->>'ts' ~ '^\\d{4}-' THEN (body->>'ts')::timestamptz END`;
  return [
    `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM {s}.${source} WHERE body->>'id' IS NOT NULL ORDER BY body->>'id', body::text`,
    `SELECT DISTINCT ON (e.body->>'id')\n  e.body->>'id' AS id, e.body->>'user' AS u, e.body->>'kind' AS kind, ${n.replaceAll('body', 'e.body')} AS n, ${ts.replaceAll('body', 'e.body')} AS ts\n  FROM {s}.${source} e ORDER BY e.body->>'id', e.body::text`,
    `WITH received AS (SELECT body FROM {s}.${source} WHERE body->>'kind' IS DISTINCT FROM 'skip')\nSELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM received ORDER BY body->>'id', body::text`,
    `WITH received AS (SELECT body FROM {s}.ev1 UNION ALL SELECT body FROM {s}.ev2)\nSELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM received ORDER BY body->>'id', body::text`,
    // A key that is a cast, guarded by the WHERE.
    `SELECT DISTINCT ON ((body->>'seq')::int)\n  (body->>'seq')::int AS id_num, body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM {s}.${source} WHERE body->>'seq' ~ '^[0-9]{1,6}$' ORDER BY (body->>'seq')::int, body::text`,
    // Shapes that look like a dedup but are not one.
    `WITH per_user AS (SELECT body->>'user' AS u, count(*) AS c FROM {s}.${source} GROUP BY 1)\n  SELECT DISTINCT ON (u)\n  u AS id, u, 'x' AS kind, c::int AS n, NULL::timestamptz AS ts FROM per_user WHERE c >= 2 ORDER BY u`,
    `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, (count(*) OVER (PARTITION BY body->>'user'))::int AS n, NULL::timestamptz AS ts\n  FROM {s}.${source} ORDER BY body->>'id', body::text`,
    `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM {s}.${source} WHERE coalesce(body->>'user', '') <> ALL (SELECT coalesce(body->>'user', '') FROM {s}.ev2 WHERE body->>'kind' = 'delete') ORDER BY body->>'id', body::text`,
    `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, ${n} AS n, ${ts} AS ts\n  FROM {s}.${source} ORDER BY body->>'id', body::text LIMIT 4`,
  ];
}

/** Shapes over a relation X yielding ROW (with `{x}` for it, `{y}` for another, `{del}` for deletes). */
const SHAPES: readonly string[] = [
  `SELECT kind, count(*) AS c, count(u) AS cu, sum(n) AS s, min(id) AS mi, max(ts) AS mx, count(DISTINCT u) AS du FROM {x} GROUP BY kind`,
  `SELECT u, count(*) AS c, sum(n) AS s, count(DISTINCT date_trunc('day', ts)) AS days FROM {x} GROUP BY u`,
  `SELECT x.u, count(*) AS c FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY x.u`,
  `SELECT DISTINCT ON (u) u, id, n FROM {x} ORDER BY u, id, n, kind, ts`,
  `SELECT DISTINCT ON (kind) kind, id, u FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) ORDER BY kind, id DESC, u, n, ts`,
  `SELECT u, kind, count(*) AS c FROM {x} GROUP BY u, kind HAVING count(*) >= 2`,
  `SELECT id, u, row_number() OVER (PARTITION BY u ORDER BY id, kind, n, ts) AS rn FROM {x}`,
  `SELECT id, u FROM {x} ORDER BY id, u, kind, n, ts LIMIT 3`,
  `SELECT u, count(*) AS c FROM (SELECT u FROM {x} WHERE kind = 'a' UNION ALL SELECT u FROM {x} WHERE kind = 'b') AS both_kinds GROUP BY u`,
  `SELECT x.u, count(y.id) AS c FROM {x} x LEFT JOIN {y} y ON y.u = x.u GROUP BY x.u`,
  `WITH t AS (SELECT u, count(*) AS c FROM {x} GROUP BY u) SELECT c, count(*) AS users FROM t GROUP BY c`,
  `SELECT x.u, x.id, t.w FROM {x} x JOIN {s}.tb t ON t.u = x.u`,
  `SELECT kind, count(*) AS c FROM {x} x WHERE EXISTS (SELECT 1 FROM {y} y WHERE y.u = x.u) GROUP BY kind`,
  `SELECT u, count(*) FILTER (WHERE kind = 'a') AS a, max(n) AS mx FROM {x} WHERE n IS NOT NULL GROUP BY u`,
];

/** A plain view over X that only filters and projects (the chain keyed views look through), or does more. */
const VIEW_SHAPES: readonly string[] = [
  `SELECT ${ROW} FROM {x} WHERE kind IS DISTINCT FROM 'c'`,
  `SELECT id, u, kind, n, ts FROM {x} WHERE u IS NOT NULL`,
  `SELECT id, u, kind, n * 2 AS n, ts FROM {x}`,
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function event(next: () => number, sent: unknown[]): unknown {
  // An id sent before, with the same or other content (a retry, or an earlier delivery).
  if (sent.length > 0 && next() < 0.25) {
    const earlier = pick(next, sent) as Record<string, unknown>;
    return next() < 0.5 ? earlier : { ...earlier, kind: pick(next, ['a', 'b', 'c']), n: String(Math.floor(next() * 9)) };
  }
  const body: Record<string, unknown> = { id: `m${Math.floor(next() * 25)}` };
  const user = next();
  body.user = user < 0.1 ? null : user < 0.15 ? 1 : `u${Math.floor(next() * 6)}`;
  body.kind = pick(next, ['a', 'b', 'c', 'delete', 'skip']);
  if (next() < 0.8) body.n = next() < 0.9 ? String(Math.floor(next() * 100)) : 'x';
  if (next() < 0.8) body.ts = new Date(Date.UTC(2026, 0, 1) + Math.floor(next() * 3 * 86_400_000)).toISOString();
  if (next() < 0.7) body.seq = next() < 0.85 ? String(Math.floor(next() * 30)) : 'not a number';
  if (next() < 0.05) delete body.id;
  return body;
}

/** A case: its steps, from the seed. */
export function generateCase(seed: number, length = 34): Step[] {
  const next = random(seed);
  const steps: Step[] = [
    { kind: 'ddl', sql: `CREATE SOURCE {s}.ev1 FROM WEBHOOK BODY FORMAT JSON ARRAY` },
    { kind: 'ddl', sql: `CREATE SOURCE {s}.ev2 FROM WEBHOOK BODY FORMAT JSON ARRAY` },
    { kind: 'ddl', sql: `CREATE TABLE {s}.tb (u text, w int)` },
  ];
  const sent: unknown[] = [];
  /** Relations yielding ROW: kept dedups and views over them. */
  const rowRelations: string[] = [];
  const models: string[] = [];
  let counter = 0;
  const dedup = (source: string) => {
    const name = `d${++counter}`;
    const select = pick(next, dedupVariants(source));
    steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.${name} AS ${select}`, creates: { name, select } });
    rowRelations.push(name);
    models.push(name);
  };
  dedup('ev1');
  dedup(next() < 0.5 ? 'ev1' : 'ev2');
  const deletes = `del`;
  const deleteSelect = `SELECT DISTINCT ON (body->>'user')\n  body->>'user' AS u FROM {s}.ev2 WHERE body->>'kind' = 'delete' ORDER BY body->>'user'`;
  steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.${deletes} AS ${deleteSelect}`, creates: { name: deletes, select: deleteSelect } });
  models.push(deletes);
  while (steps.length < length) {
    const roll = next();
    if (roll < 0.45) {
      const source = next() < 0.75 ? 'ev1' : 'ev2';
      const batch = next() < 0.4 ? Array.from({ length: 2 + Math.floor(next() * 6) }, () => event(next, sent)) : [event(next, sent)];
      sent.push(...batch);
      steps.push({ kind: 'post', source, body: batch.length === 1 ? batch[0] : batch });
      steps.push({ kind: 'check', when: next() < 0.6 ? 'now' : next() < 0.5 ? 'settled' : 'read-only' });
    } else if (roll < 0.66) {
      const x = pick(next, rowRelations);
      const y = pick(next, rowRelations);
      const name = `m${++counter}`;
      const select = pick(next, SHAPES).replaceAll('{x}', `{s}.${x}`).replaceAll('{y}', `{s}.${y}`).replaceAll('{del}', `{s}.${deletes}`);
      steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.${name} AS ${select}`, creates: { name, select } });
      models.push(name);
    } else if (roll < 0.72) {
      const x = pick(next, rowRelations);
      const name = `v${++counter}`;
      steps.push({ kind: 'ddl', sql: `CREATE VIEW {s}.${name} AS ${pick(next, VIEW_SHAPES).replaceAll('{x}', `{s}.${x}`)}` });
      rowRelations.push(name);
    } else if (roll < 0.78) {
      dedup(next() < 0.7 ? 'ev1' : 'ev2');
    } else if (roll < 0.86) {
      const dml = pick(next, [
        `INSERT INTO {s}.tb VALUES ('u${Math.floor(next() * 6)}', ${Math.floor(next() * 9)})`,
        `UPDATE {s}.tb SET w = w + 1 WHERE u = 'u${Math.floor(next() * 6)}'`,
        `DELETE FROM {s}.tb WHERE w % 2 = 0`,
        `TRUNCATE {s}.tb`,
      ]);
      steps.push({ kind: 'dml', sql: dml });
      steps.push({ kind: 'check', when: 'now' });
    } else if (roll < 0.96) {
      // A replaced view (same columns), or a replaced materialized view.
      const views = rowRelations.filter((name) => name.startsWith('v'));
      if (views.length > 0 && next() < 0.6) {
        const view = pick(next, views);
        const x = pick(next, rowRelations.filter((name) => name.startsWith('d')));
        steps.push({ kind: 'ddl', sql: `CREATE OR REPLACE VIEW {s}.${view} AS SELECT ${ROW} FROM {s}.${x} WHERE kind IS DISTINCT FROM '${pick(next, ['a', 'b', 'c'])}'` });
      } else {
        const model = pick(next, models);
        if (model.startsWith('m')) {
          const x = pick(next, rowRelations);
          const select = pick(next, SHAPES).replaceAll('{x}', `{s}.${x}`).replaceAll('{y}', `{s}.${x}`).replaceAll('{del}', `{s}.${deletes}`);
          steps.push({ kind: 'ddl', sql: `CREATE OR REPLACE MATERIALIZED VIEW {s}.${model} AS ${select}`, creates: { name: model, select } });
        }
      }
      steps.push({ kind: 'check', when: 'now' });
    } else {
      const model = pick(next, models);
      steps.push({ kind: 'ddl', sql: `DROP MATERIALIZED VIEW {s}.${model} CASCADE`, drops: model });
    }
  }
  steps.push({ kind: 'check', when: 'now' }, { kind: 'check', when: 'settled' });
  return steps;
}

async function sortedRows(server: TestServer, sql: string): Promise<string[]> {
  return (await server.query(sql)).map((row) => JSON.stringify(row)).sort();
}

/**
 * Runs a case in schema `schema` (created here, dropped after): the first mismatch between a kept
 * view and its SELECT, and how many comparisons were made.
 */
export async function runCase(server: TestServer, steps: readonly Step[], schema: string): Promise<RunResult> {
  const s = (sql: string) => sql.replaceAll('{s}', schema);
  const models = new Map<string, string>();
  let comparisons = 0;
  await server.query(`CREATE SCHEMA ${schema}`);
  try {
    for (const [index, step] of steps.entries()) {
      if (step.kind === 'ddl') {
        try {
          await server.query(s(step.sql));
          if (step.creates) models.set(step.creates.name, s(step.creates.select));
          if (step.drops) {
            models.delete(step.drops);
            // What CASCADE dropped with it.
            const left = new Set((await server.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = $1::regnamespace`, [schema])).map((row) => row.name));
            for (const name of [...models.keys()]) if (!left.has(name)) models.delete(name);
          }
        } catch (error) {
          // A statement a shrunk case made invalid (what it reads was dropped): skipped.
          if (process.env.KEPT_FUZZ_DEBUG) console.log(`step ${index} failed: ${(error as Error).message}\n${s(step.sql)}`);
        }
      } else if (step.kind === 'post') {
        const response = await fetch(server.server.webhookUrl(step.source, schema), { method: 'POST', body: JSON.stringify(step.body) });
        await response.text();
      } else if (step.kind === 'dml') {
        await server.query(s(step.sql)).catch(() => {});
      } else {
        if (step.when === 'settled') await server.server.maintainedViews.settled();
        for (const [name, select] of models) {
          let kept: string[];
          let fresh: string[];
          if (step.when === 'read-only') {
            await server.query(`BEGIN READ ONLY`);
            try {
              kept = await sortedRows(server, `SELECT * FROM ${schema}.${name}`);
              fresh = await sortedRows(server, select);
            } finally {
              await server.query(`COMMIT`).catch(() => {});
            }
          } else {
            kept = await sortedRows(server, `SELECT * FROM ${schema}.${name}`);
            fresh = await sortedRows(server, select);
          }
          comparisons++;
          if (JSON.stringify(kept) !== JSON.stringify(fresh)) return { mismatch: { step: index, view: name, when: step.when, kept, fresh }, comparisons };
        }
      }
    }
    if (process.env.KEPT_FUZZ_DEBUG) {
      console.log(await server.query(`SELECT c.relname AS name, m.refresh_kind AS kind, m.not_keyed_reason AS reason, m.refresh_function_sql IS NOT NULL AS folds FROM mz_local.maintained_views m JOIN pg_class c ON c.oid = m.view_oid WHERE c.relnamespace = $1::regnamespace`, [schema]));
    }
    return { mismatch: null, comparisons };
  } finally {
    await server.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
  }
}

/**
 * Drops steps while the case still fails (any mismatch): first everything after the failing step,
 * then one step at a time from the end, within `budget` replays.
 */
export async function shrink(server: TestServer, steps: readonly Step[], failingStep: number, schemaPrefix: string, budget = 80): Promise<{ steps: Step[]; mismatch: Mismatch }> {
  let current = steps.slice(0, failingStep + 1);
  let replays = 0;
  let last: Mismatch | null = null;
  const fails = async (candidate: Step[]) => {
    replays++;
    const result = await runCase(server, candidate, `${schemaPrefix}_${replays}`);
    if (result.mismatch) last = result.mismatch;
    return result.mismatch !== null;
  };
  if (!(await fails(current))) return { steps: current, mismatch: { step: failingStep, view: '?', when: 'not reproduced on replay', kept: [], fresh: [] } };
  let kept = last!;
  for (let index = current.length - 2; index >= 0 && replays < budget; index--) {
    const candidate = [...current.slice(0, index), ...current.slice(index + 1)];
    if (await fails(candidate)) {
      current = candidate;
      kept = last!;
    }
  }
  return { steps: current, mismatch: kept };
}

/** A case as SQL and requests, to paste into a regression test. */
export function describeSteps(steps: readonly Step[]): string {
  return steps
    .map((step) => {
      switch (step.kind) {
        case 'ddl':
        case 'dml':
          return `${step.sql};`;
        case 'post':
          return `-- POST ${step.source} ${JSON.stringify(step.body)}`;
        case 'check':
          return `-- read every kept view (${step.when})`;
      }
    })
    .join('\n');
}
