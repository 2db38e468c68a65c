/**
 * A seeded differential fuzz of kept materialized views (kept-views-fuzz.test.ts). A case is a list
 * of steps, drawn from a seed:
 *
 * - models in the shapes users write: dedups over webhook sources (with table aliases, column lists,
 *   mixed-case aliases, keys that are casts, CTEs, UNION ALL of sources) and shapes that only look
 *   like a dedup (DISTINCT ON over GROUP BY/HAVING or a window function, with LIMIT, `<> ALL
 *   (SELECT …)`, a comma join, a scalar subquery over the source, a top-level UNION ALL yielding
 *   duplicate rows); over them folding aggregates, NOT EXISTS, joins, windows, UNION ALL, HAVING,
 *   LIMIT, CTEs, views over views, MVs over MVs; temporal filters (`mz_now()` in a view under a
 *   kept MV, or in the MV itself); views replaced under kept MVs; replaced and dropped models;
 * - writes: single and batched events, an earlier event sent again as is (a retry) or with other
 *   content, a whole earlier batch replayed, late events (timestamps long past, or already out of
 *   a temporal window when they arrive) and events from the near future, deletes of users that
 *   already have events, partners arriving after what they join; DML and TRUNCATE on a table;
 * - reads of every materialized view right after a write (the keyed catch-up), after the
 *   background refresh, inside a read-only transaction and after another connection in another
 *   TimeZone read them first; pauses so that rows leave and enter temporal windows.
 *
 * Each read is compared with the view's own SELECT run fresh on the same server; a view that
 * depends on the time is compared at one pinned time (both reads in one transaction, where
 * mz_now() does not move). Also a mismatch: a webhook event refused (the fuzz only sends valid
 * JSON), a source holding other than every event it accepted, and a CREATE that fails while its
 * SELECT runs. A case runs in a schema of its own; a failing case is shrunk (steps dropped while
 * it still fails).
 */
import pg from 'pg';
import type { TestServer } from './local-server.ts';

/** What a model is, for reports: the label of the shape it was drawn from. */
export interface Created {
  readonly name: string;
  /** Its rows as a fresh SELECT (with `{s}`), named as the model's columns. */
  readonly select: string;
  readonly shape: string;
  /** It depends on the time (mz_now() in it or under it): compared at one pinned time. */
  readonly temporal?: boolean;
}

/** `{s}` stands for the case's schema. */
export type Step =
  | { readonly kind: 'ddl'; readonly sql: string; readonly creates?: Created; readonly drops?: string; readonly replaces?: boolean; readonly select?: string }
  | { readonly kind: 'post'; readonly source: string; readonly body: unknown }
  | { readonly kind: 'dml'; readonly sql: string }
  | { readonly kind: 'check'; readonly when: 'now' | 'settled' | 'read-only' | 'other-session' }
  | { readonly kind: 'sleep'; readonly ms: number };

export interface Mismatch {
  readonly step: number;
  readonly view: string;
  readonly shape: string;
  /** rows: the view's rows differ from its SELECT's; refused: a valid event got no 200; lost: a
   *  source lacks events it accepted; create: a valid CREATE failed. */
  readonly kind: 'rows' | 'refused' | 'lost' | 'create';
  readonly when: string;
  readonly kept: string[];
  readonly fresh: string[];
}

export interface RunResult {
  readonly mismatch: Mismatch | null;
  readonly comparisons: number;
  /** Comparisons of views kept with a temporal filter (rows entering and leaving with time). */
  readonly temporalComparisons?: number;
  /** Every mismatch, with options.all. */
  readonly found?: readonly Mismatch[];
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

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/** The columns of a relation dedups yield and the shapes over them read. */
const ROW = `id, u, kind, n, ts`;

const N = (b: string) => `CASE WHEN ${b}->>'n' ~ '^[0-9]{1,6}$' THEN (${b}->>'n')::int END`;
const TS = (b: string) => `CASE WHEN ${b}->>'ts' ~ '^\\d{4}-' THEN (${b}->>'ts')::timestamptz END`;
const ROW_OF = (b: string) => `${b}->>'id' AS id, ${b}->>'user' AS u, ${b}->>'kind' AS kind, ${N(b)} AS n, ${TS(b)} AS ts`;

interface Variant {
  readonly shape: string;
  /** Its SELECT; `{src}` is the source it reads. */
  readonly select: string;
  /** A column list given to CREATE (the fresh SELECT is then renamed to it). */
  readonly columns?: string;
  /** A shape the issue-30 engine took for a dedup, or could not create. */
  readonly trap?: boolean;
}

/**
 * Models over sources yielding ROW (and sometimes more), each with the text the old planner keyed
 * on (`DISTINCT ON (…)` at the end of its line), so that a planner trusting the text is tested.
 */
const SOURCE_MODELS: readonly Variant[] = [
  { shape: 'dedup', select: `SELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM {s}.{src} WHERE body->>'id' IS NOT NULL ORDER BY body->>'id', body::text` },
  { shape: 'dedup-cte', select: `WITH received AS (SELECT body FROM {s}.{src} WHERE body->>'kind' IS DISTINCT FROM 'skip')\nSELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM received ORDER BY body->>'id', body::text` },
  { shape: 'dedup-union-sources', select: `WITH received AS (SELECT body FROM {s}.ev1 UNION ALL SELECT body FROM {s}.ev2)\nSELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM received ORDER BY body->>'id', body::text` },
  { shape: 'dedup-alias', trap: true, select: `SELECT DISTINCT ON (e.body->>'id')\n  ${ROW_OF('e.body')}\n  FROM {s}.{src} e ORDER BY e.body->>'id', e.body::text` },
  {
    shape: 'dedup-column-list',
    trap: true,
    columns: ROW,
    select: `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS message_id, body->>'user' AS who, body->>'kind' AS what, ${N('body')} AS amount, ${TS('body')} AS at\n  FROM {s}.{src} ORDER BY body->>'id', body::text`,
  },
  {
    shape: 'dedup-mixed-case',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS Id, body->>'user' AS U, body->>'kind' AS Kind, ${N('body')} AS N, ${TS('body')} AS Ts\n  FROM {s}.{src} ORDER BY body->>'id', body::text`,
  },
  // A key that is a cast, guarded by the WHERE: events whose seq does not cast must still be taken.
  {
    shape: 'dedup-cast-key',
    trap: true,
    select: `SELECT DISTINCT ON ((body->>'seq')::int)\n  (body->>'seq')::int AS id_num, ${ROW_OF('body')}\n  FROM {s}.{src} WHERE body->>'seq' ~ '^[0-9]{1,6}$' ORDER BY (body->>'seq')::int, body::text`,
  },
  // Shapes that look like a dedup but are not one.
  {
    shape: 'distinct-on-group-by',
    trap: true,
    select: `WITH per_user AS (SELECT body->>'user' AS u, count(*) AS c, max(${TS('body')}) AS ts FROM {s}.{src} GROUP BY 1)\n  SELECT DISTINCT ON (u)\n  u AS id, u, 'x' AS kind, c::int AS n, ts FROM per_user WHERE c >= 2 ORDER BY u`,
  },
  {
    shape: 'distinct-on-having',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'user')\n  body->>'user' AS id, body->>'user' AS u, 'x' AS kind, count(*)::int AS n, max(${TS('body')}) AS ts\n  FROM {s}.{src} GROUP BY body->>'user' HAVING count(*) >= 2 ORDER BY body->>'user'`,
  },
  {
    shape: 'distinct-on-window',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind, (count(*) OVER (PARTITION BY body->>'user'))::int AS n, ${TS('body')} AS ts\n  FROM {s}.{src} ORDER BY body->>'id', body::text`,
  },
  {
    shape: 'distinct-on-limit',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM {s}.{src} ORDER BY body->>'id', body::text LIMIT 4`,
  },
  // The GDPR shape: a delete request (an ev2 event of kind 'delete') removes the user.
  {
    shape: 'distinct-on-not-all',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM {s}.ev1 WHERE coalesce(body->>'user', '') <> ALL (SELECT coalesce(body->>'user', '') FROM {s}.ev2 WHERE body->>'kind' = 'delete') ORDER BY body->>'id', body::text`,
  },
  // A partner (an ev2 event with the same id) arriving after the event it joins.
  {
    shape: 'distinct-on-comma-join',
    trap: true,
    select: `SELECT DISTINCT ON (ev1.body->>'id')\n  ev1.body->>'id' AS id, ev1.body->>'user' AS u, ev2.body->>'kind' AS kind, ${N('ev2.body')} AS n, ${TS('ev1.body')} AS ts\n  FROM {s}.ev1, {s}.ev2 WHERE ev2.body->>'id' = ev1.body->>'id' ORDER BY ev1.body->>'id', ev2.body::text, ev1.body::text`,
  },
  {
    shape: 'distinct-on-scalar-subquery',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  ${ROW_OF('body')}\n  FROM {s}.{src} WHERE ${N('body')} >= (SELECT max(${N('body')}) - 40 FROM {s}.{src}) ORDER BY body->>'id', body::text`,
  },
  // One row per id, then every event of kind 'b' again: a retried event gives identical rows, which
  // a change log must count (the first arm's columns all follow from its key: deterministic).
  {
    shape: 'union-all-duplicates',
    trap: true,
    select: `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, NULL::text AS u, 'first' AS kind, NULL::int AS n, NULL::timestamptz AS ts\n  FROM {s}.{src}\n  UNION ALL SELECT ${ROW_OF('body')} FROM {s}.{src} WHERE body->>'kind' = 'b'`,
  },
];

/** Shapes over a relation X yielding ROW (with `{x}` for it, `{y}` for another, `{del}` for deletes). */
const SHAPES: readonly { readonly shape: string; readonly select: string }[] = [
  { shape: 'fold-all-aggregates', select: `SELECT kind, count(*) AS c, count(u) AS cu, sum(n) AS s, min(id) AS mi, max(ts) AS mx, count(DISTINCT u) AS du FROM {x} GROUP BY kind` },
  { shape: 'fold-distinct-days', select: `SELECT u, count(*) AS c, sum(n) AS s, count(DISTINCT date_trunc('day', ts)) AS days FROM {x} GROUP BY u` },
  { shape: 'not-exists-deletes', select: `SELECT x.u, count(*) AS c FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY x.u` },
  { shape: 'distinct-on-over-kept', select: `SELECT DISTINCT ON (u) u, id, n FROM {x} ORDER BY u, id, n, kind, ts` },
  { shape: 'distinct-on-not-exists', select: `SELECT DISTINCT ON (kind) kind, id, u FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) ORDER BY kind, id DESC, u, n, ts` },
  { shape: 'having', select: `SELECT u, kind, count(*) AS c FROM {x} GROUP BY u, kind HAVING count(*) >= 2` },
  { shape: 'window', select: `SELECT id, u, row_number() OVER (PARTITION BY u ORDER BY id, kind, n, ts) AS rn FROM {x}` },
  { shape: 'limit', select: `SELECT id, u FROM {x} ORDER BY id, u, kind, n, ts LIMIT 3` },
  { shape: 'union-all', select: `SELECT u, count(*) AS c FROM (SELECT u FROM {x} WHERE kind = 'a' UNION ALL SELECT u FROM {x} WHERE kind = 'b') AS both_kinds GROUP BY u` },
  { shape: 'left-join', select: `SELECT x.u, count(y.id) AS c FROM {x} x LEFT JOIN {y} y ON y.u = x.u GROUP BY x.u` },
  { shape: 'cte-two-levels', select: `WITH t AS (SELECT u, count(*) AS c FROM {x} GROUP BY u) SELECT c, count(*) AS users FROM t GROUP BY c` },
  { shape: 'join-table', select: `SELECT x.u, x.id, t.w FROM {x} x JOIN {s}.tb t ON t.u = x.u` },
  { shape: 'exists', select: `SELECT kind, count(*) AS c FROM {x} x WHERE EXISTS (SELECT 1 FROM {y} y WHERE y.u = x.u) GROUP BY kind` },
  { shape: 'fold-filter', select: `SELECT u, count(*) FILTER (WHERE kind = 'a') AS a, max(n) AS mx FROM {x} WHERE n IS NOT NULL GROUP BY u` },
  { shape: 'count-rows', select: `SELECT id, count(*) AS copies FROM {x} GROUP BY id` },
  // The seed's daily_active_users: count(DISTINCT) folded through per-group value counts, with the
  // deleted users left out (a delete request takes them out of groups already kept).
  {
    shape: 'daily-active-not-deleted',
    select: `SELECT CAST(date_trunc('day', ts) AS date) AS day, count(DISTINCT coalesce(u, id)) AS active, count(*) AS events FROM {x} x WHERE kind IN ('a', 'b', 'c') AND coalesce(u, id) IS NOT NULL AND ts IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY 1`,
  },
  // Delete requests taken out of folded groups (retractions): every aggregate that folds, and one
  // without count(*) (whether a group is left empty is then recomputed).
  {
    shape: 'fold-retract-all',
    select: `SELECT kind, count(*) AS c, count(n) AS cn, sum(n) AS s, min(n) AS mi, max(ts) AS mx, count(DISTINCT u) AS du FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY kind`,
  },
  { shape: 'fold-retract-no-count', select: `SELECT u, sum(n) AS s, max(n) AS mx, min(id) AS mi FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY u` },
  // The activation's high_value_customers: HAVING over groups, deleted users left out; groups enter
  // and leave the HAVING as amounts arrive.
  {
    shape: 'having-not-deleted',
    select: `SELECT x.u, sum(n) AS total, count(*) FILTER (WHERE kind = 'a') AS a FROM {x} x WHERE n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u) GROUP BY x.u HAVING sum(n) >= 60`,
  },
  // Data tests as stored-failure views (dbt's unique, not_null, accepted_values).
  { shape: 'unique-test', select: `SELECT id, count(*) AS n FROM {x} GROUP BY id HAVING count(*) > 1` },
  { shape: 'not-null-test', select: `SELECT * FROM {x} WHERE n IS NULL` },
  { shape: 'accepted-values-test', select: `SELECT * FROM {x} WHERE kind NOT IN ('a', 'b')` },
  { shape: 'filter-not-deleted', select: `SELECT id, u, n FROM {x} x WHERE NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = x.u)` },
];

/** Shapes over one kept view that a keyed refresh reads through its change log (folding, or keyed by group). */
const KEYED_SHAPES = [
  'fold-all-aggregates', 'fold-distinct-days', 'not-exists-deletes', 'distinct-on-over-kept', 'count-rows', 'daily-active-not-deleted',
  'fold-retract-all', 'fold-retract-no-count', 'having-not-deleted', 'unique-test', 'not-null-test', 'accepted-values-test', 'filter-not-deleted',
];

/** Temporal filters (mz_now() is now() locally), as a view yielding ROW over X or in a kept view itself. */
const TEMPORAL_VIEWS: readonly { readonly shape: string; readonly select: string }[] = [
  { shape: 'temporal-sliding', select: `SELECT ${ROW} FROM {x} WHERE ts + INTERVAL '3 seconds' > mz_now()` },
  { shape: 'temporal-window', select: `SELECT ${ROW} FROM {x} WHERE mz_now() >= ts AND mz_now() < ts + INTERVAL '4 seconds'` },
];
const TEMPORAL_MODELS: readonly { readonly shape: string; readonly select: string }[] = [
  { shape: 'temporal-mv-per-second', select: `SELECT date_trunc('second', ts) AS second, count(*) AS c FROM {x} WHERE ts + INTERVAL '3 seconds' > mz_now() GROUP BY 1` },
  { shape: 'temporal-mv-users', select: `SELECT u, count(*) AS c, max(n) AS mx FROM {x} WHERE mz_now() <= ts + INTERVAL '2 seconds' GROUP BY u` },
  // Rows entering later (near-future events) and leaving: both bounds, two keys.
  { shape: 'temporal-mv-between', select: `SELECT u, kind, count(*) AS c FROM {x} WHERE mz_now() BETWEEN ts AND ts + INTERVAL '3 seconds' GROUP BY u, kind` },
  // The seed's events_per_minute: a window, other filters and deleted users left out.
  {
    shape: 'temporal-mv-not-deleted',
    select: `SELECT date_trunc('second', e.ts) AS second, e.kind, count(*) AS c FROM {x} e WHERE mz_now() < e.ts + INTERVAL '3 seconds' AND e.kind IS DISTINCT FROM 'z' AND NOT EXISTS (SELECT 1 FROM {del} d WHERE d.u = e.u) GROUP BY 1, 2`,
  },
  // A DISTINCT ON kept by key with a window (a dedup's latest row per user while recent).
  { shape: 'temporal-distinct-on', select: `SELECT DISTINCT ON (u) u, id, ts FROM {x} WHERE ts + INTERVAL '2 seconds' >= mz_now() ORDER BY u, ts DESC, id` },
];

/** A plain view over X that only filters and projects (the chain keyed views look through). */
const VIEW_SHAPES: readonly string[] = [
  `SELECT ${ROW} FROM {x} WHERE kind IS DISTINCT FROM 'c'`,
  `SELECT id, u, kind, n, ts FROM {x} WHERE u IS NOT NULL`,
  `SELECT id, u, kind, n * 2 AS n, ts FROM {x}`,
];

/**
 * An event's time, resolved when it is first sent (a retry sends the same time): `@now<offset ms>#<uid>`.
 * Near now (temporal windows), the near future (rows that enter later), long past (late events).
 */
function eventTime(next: () => number, uid: number): string | undefined {
  const roll = next();
  if (roll < 0.55) return `@now${Math.round(-5000 + next() * 6500)}#${uid}`;
  if (roll < 0.85) return `@now${-Math.round(3_600_000 + next() * 3 * 86_400_000)}#${uid}`;
  if (roll < 0.9) return 'yesterday';
  return undefined;
}

/** Users and ids come from small pools, so that events meet: retries, partners, deletes, groups. */
/** An event sent, and where. */
interface Sent {
  readonly source: string;
  readonly body: Record<string, unknown>;
}

function event(next: () => number, sent: readonly Sent[], source: string, uid: number): Record<string, unknown> {
  // An id sent before, with the same or other content (a retry, or an earlier delivery).
  if (sent.length > 0 && next() < 0.3) {
    const earlier = pick(next, sent).body;
    return next() < 0.6 ? earlier : { ...earlier, kind: pick(next, ['a', 'b', 'c']), n: String(Math.floor(next() * 9)) };
  }
  // A partner (the same id) or a delete request (the same user) for an event of the other source.
  const other = sent.filter((item) => item.source !== source).map((item) => item.body);
  if (source === 'ev2' && other.length > 0 && next() < 0.35) return { id: `r${uid}`, user: pick(next, other).user ?? null, kind: 'delete' };
  const body: Record<string, unknown> = { id: other.length > 0 && next() < 0.35 ? pick(next, other).id : `m${Math.floor(next() * 25)}` };
  const user = next();
  body.user = other.length > 0 && user < 0.2 ? pick(next, other).user : user < 0.3 ? null : user < 0.35 ? 1 : `u${Math.floor(next() * 6)}`;
  body.kind = pick(next, ['a', 'b', 'b', 'c', 'delete', 'skip']);
  // Amounts grow as a case goes on (a maximum that moves: what a scalar subquery over it sees).
  if (next() < 0.8) body.n = next() < 0.9 ? String(Math.floor(next() * (20 + 8 * uid))) : 'x';
  const ts = eventTime(next, uid);
  if (ts !== undefined) body.ts = ts;
  if (next() < 0.7) body.seq = next() < 0.8 ? String(Math.floor(next() * 30)) : 'not a number';
  if (next() < 0.05) delete body.id;
  return body;
}

/** A case: its steps, from the seed. */
export function generateCase(seed: number, length = 48): Step[] {
  const next = random(seed);
  const steps: Step[] = [
    { kind: 'ddl', sql: `CREATE SOURCE {s}.ev1 FROM WEBHOOK BODY FORMAT JSON ARRAY` },
    { kind: 'ddl', sql: `CREATE SOURCE {s}.ev2 FROM WEBHOOK BODY FORMAT JSON ARRAY` },
    { kind: 'ddl', sql: `CREATE TABLE {s}.tb (u text, w int)` },
  ];
  const sent: Sent[] = [];
  const batches: { source: string; body: unknown }[] = [];
  /** Relations yielding ROW: models over sources, views over them, temporal views. */
  const rowRelations: string[] = [];
  const temporal = new Set<string>();
  /** The shape of each model over sources. */
  const shapes = new Map<string, string>();
  const models: string[] = [];
  let counter = 0;
  let uid = 0;
  const isTemporal = (select: string) => /mz_now/.test(select) || [...temporal].some((name) => select.includes(`{s}.${name} `) || select.endsWith(`{s}.${name}`));
  const create = (prefix: string, shape: string, select: string, columns?: string) => {
    const name = `${prefix}${++counter}`;
    const fresh = columns ? `SELECT * FROM (${select}) AS fresh (${columns})` : select;
    const timed = isTemporal(select);
    if (timed) temporal.add(name);
    steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.${name}${columns ? ` (${columns})` : ''} AS ${select}`, creates: { name, select: fresh, shape, temporal: timed }, select: fresh });
    models.push(name);
    return name;
  };
  const sourceModel = (variant: Variant) => {
    const select = variant.select.replaceAll('{src}', next() < 0.75 ? 'ev1' : 'ev2');
    const name = create('d', variant.shape, select, variant.columns);
    rowRelations.push(name);
    shapes.set(name, variant.shape);
    return name;
  };
  const traps = SOURCE_MODELS.filter((variant) => variant.trap);
  const firstModels = [sourceModel(pick(next, traps)), sourceModel(next() < 0.5 ? pick(next, traps) : pick(next, SOURCE_MODELS))];
  const deletes = `del`;
  const deleteSelect = `SELECT DISTINCT ON (body->>'user')\n  body->>'user' AS u FROM {s}.ev2 WHERE body->>'kind' = 'delete' ORDER BY body->>'user'`;
  steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.${deletes} AS ${deleteSelect}`, creates: { name: deletes, select: deleteSelect, shape: 'deletes' }, select: deleteSelect });
  models.push(deletes);
  // As the seed has them: a plain view reducing a kept dedup (stg_segment_deletes over
  // stg_segment_events), whose row for a user changes when an earlier delete request arrives.
  const requestsSelect = `SELECT DISTINCT ON (body->>'id')\n  body->>'id' AS id, body->>'user' AS u, body->>'kind' AS kind FROM {s}.ev2 ORDER BY body->>'id', body::text`;
  steps.push({ kind: 'ddl', sql: `CREATE MATERIALIZED VIEW {s}.req AS ${requestsSelect}`, creates: { name: 'req', select: requestsSelect, shape: 'dedup' }, select: requestsSelect });
  models.push('req');
  const plainDeletes = `SELECT DISTINCT ON (u) u, id FROM {s}.req WHERE kind = 'delete' ORDER BY u, id DESC`;
  steps.push({ kind: 'ddl', sql: `CREATE VIEW {s}.delv AS ${plainDeletes}`, select: plainDeletes });
  const deletesFor = () => (next() < 0.5 ? deletes : 'delv');
  // A view replaced under a kept view reading it (a model over a view, the view replaced later).
  const replaceable: string[] = [];
  const shapeOver = (x: string, y = pick(next, rowRelations), keyed = false) => {
    const shape = pick(next, keyed ? SHAPES.filter((candidate) => KEYED_SHAPES.includes(candidate.shape)) : SHAPES);
    // Named for reports by what it reads: a temporal view, or a plain view (which may be replaced).
    const under = temporal.has(x) ? ' over a temporal view' : x.startsWith('v') ? ' over a view' : shapes.has(x) ? ` over ${shapes.get(x)}` : '';
    const deleted = deletesFor();
    return { shape: shape.shape + under + (shape.select.includes('{del}') && deleted === 'delv' ? ' (deletes: a plain view)' : ''), select: shape.select.replaceAll('{x}', `{s}.${x}`).replaceAll('{y}', `{s}.${y}`).replaceAll('{del}', `{s}.${deleted}`) };
  };
  // What reads the first models, mostly by key: their change logs are read (MVs over MVs).
  for (const name of firstModels) {
    if (next() < 0.75) {
      const over = shapeOver(name, undefined, next() < 0.7);
      create('m', over.shape, over.select);
    }
  }
  const plainView = (x: string) => {
    const name = `v${++counter}`;
    const select = pick(next, VIEW_SHAPES).replaceAll('{x}', `{s}.${x}`);
    if (isTemporal(select)) temporal.add(name);
    steps.push({ kind: 'ddl', sql: `CREATE VIEW {s}.${name} AS ${select}`, select });
    rowRelations.push(name);
    return name;
  };
  if (next() < 0.45) {
    const view = plainView(rowRelations[0]!);
    replaceable.push(view);
    const over = shapeOver(view);
    create('m', over.shape, over.select);
  }
  // A temporal view under a kept view, or a kept view with a temporal filter of its own.
  const timedFeature = next() < 0.45;
  if (timedFeature) {
    const x = pick(next, rowRelations);
    const view = pick(next, TEMPORAL_VIEWS);
    const name = `t${++counter}`;
    const select = view.select.replaceAll('{x}', `{s}.${x}`);
    steps.push({ kind: 'ddl', sql: `CREATE VIEW {s}.${name} AS ${select}`, select });
    temporal.add(name);
    rowRelations.push(name);
    const over = shapeOver(name, x);
    create('m', over.shape, over.select);
    if (next() < 0.5) {
      const model = pick(next, TEMPORAL_MODELS);
      create('m', model.shape, model.select.replaceAll('{x}', `{s}.${pick(next, rowRelations)}`).replaceAll('{del}', `{s}.${deletes}`));
    }
  }
  // A temporal filter of its own over what does not depend on the time: kept, rows entering and
  // leaving by a time-ordered expiry.
  if (next() < 0.35) {
    const timeless = rowRelations.filter((name) => !temporal.has(name));
    if (timeless.length > 0) {
      const model = pick(next, TEMPORAL_MODELS);
      create('m', `${model.shape} (kept)`, model.select.replaceAll('{x}', `{s}.${pick(next, timeless)}`).replaceAll('{del}', `{s}.${deletes}`));
    }
  }
  const post = (source: string, body: unknown) => {
    steps.push({ kind: 'post', source, body });
    const roll = next();
    steps.push({ kind: 'check', when: roll < 0.5 ? 'now' : roll < 0.7 ? 'settled' : roll < 0.85 ? 'read-only' : 'other-session' });
  };
  while (steps.length < length) {
    const roll = next();
    if (roll < 0.5) {
      const source = next() < 0.6 ? 'ev1' : 'ev2';
      if (batches.length > 0 && next() < 0.15) {
        // A whole earlier batch delivered again.
        const replayed = pick(next, batches);
        post(replayed.source, replayed.body);
        continue;
      }
      const batch = next() < 0.4 ? Array.from({ length: 2 + Math.floor(next() * 6) }, () => event(next, sent, source, ++uid)) : [event(next, sent, source, ++uid)];
      sent.push(...batch.map((body) => ({ source, body })));
      const body = batch.length === 1 ? batch[0] : batch;
      batches.push({ source, body });
      post(source, body);
      if (timedFeature && next() < 0.2) steps.push({ kind: 'sleep', ms: 400 + Math.floor(next() * 1600) }, { kind: 'check', when: 'now' });
    } else if (roll < 0.62) {
      const x = pick(next, rowRelations);
      const over = shapeOver(x);
      create('m', over.shape, over.select);
    } else if (roll < 0.66) {
      plainView(pick(next, rowRelations));
    } else if (roll < 0.71) {
      sourceModel(next() < 0.6 ? pick(next, traps) : pick(next, SOURCE_MODELS));
    } else if (roll < 0.78) {
      const dml = pick(next, [
        `INSERT INTO {s}.tb VALUES ('u${Math.floor(next() * 6)}', ${Math.floor(next() * 9)})`,
        `UPDATE {s}.tb SET w = w + 1 WHERE u = 'u${Math.floor(next() * 6)}'`,
        `DELETE FROM {s}.tb WHERE w % 2 = 0`,
        `TRUNCATE {s}.tb`,
      ]);
      steps.push({ kind: 'dml', sql: dml });
      steps.push({ kind: 'check', when: 'now' });
    } else if (roll < 0.93) {
      // A replaced view (same columns), or a replaced materialized view.
      const views = [...new Set([...replaceable, ...rowRelations.filter((name) => name.startsWith('v'))])];
      if (views.length > 0 && next() < 0.6) {
        const view = pick(next, views);
        const x = pick(next, rowRelations.filter((name) => name.startsWith('d')));
        const select = `SELECT ${ROW} FROM {s}.${x} WHERE kind IS DISTINCT FROM '${pick(next, ['a', 'b', 'c'])}'`;
        steps.push({ kind: 'ddl', sql: `CREATE OR REPLACE VIEW {s}.${view} AS ${select}`, replaces: true, select });
      } else {
        const model = pick(next, models);
        if (model.startsWith('m')) {
          const over = shapeOver(pick(next, rowRelations));
          const timed = isTemporal(over.select);
          if (timed) temporal.add(model);
          steps.push({ kind: 'ddl', sql: `CREATE OR REPLACE MATERIALIZED VIEW {s}.${model} AS ${over.select}`, creates: { name: model, select: over.select, shape: over.shape, temporal: timed }, replaces: true, select: over.select });
        }
      }
      steps.push({ kind: 'check', when: 'now' });
    } else if (roll < 0.97) {
      const model = pick(next, models);
      steps.push({ kind: 'ddl', sql: `DROP MATERIALIZED VIEW {s}.${model} CASCADE`, drops: model });
    } else {
      steps.push({ kind: 'check', when: 'other-session' });
    }
  }
  if (timedFeature) steps.push({ kind: 'sleep', ms: 1500 });
  steps.push({ kind: 'check', when: 'now' }, { kind: 'check', when: 'settled' });
  return steps;
}

async function sortedRows(client: pg.Client, sql: string): Promise<string[]> {
  return (await client.query(sql)).rows.map((row) => JSON.stringify(row)).sort();
}

/** An event body with its times resolved (`@now…#uid`: once per uid, so that a retry repeats it). */
function resolveTimes(body: unknown, times: Map<string, string>): unknown {
  if (Array.isArray(body)) return body.map((item) => resolveTimes(item, times));
  if (typeof body === 'string' && body.startsWith('@now')) {
    let resolved = times.get(body);
    if (!resolved) {
      resolved = new Date(Date.now() + Number(body.slice(4, body.indexOf('#')))).toISOString();
      times.set(body, resolved);
    }
    return resolved;
  }
  if (typeof body === 'object' && body !== null) return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, resolveTimes(value, times)]));
  return body;
}

function eventCount(body: unknown): number {
  return Array.isArray(body) ? body.length : 1;
}

/**
 * Runs a case in schema `schema` (created here, dropped after): the first mismatch, and how many
 * comparisons were made.
 */
export async function runCase(server: TestServer, steps: readonly Step[], schema: string, options: { readonly all?: boolean } = {}): Promise<RunResult> {
  const s = (sql: string) => sql.replaceAll('{s}', schema);
  const models = new Map<string, Created>();
  const accepted = new Map<string, number>();
  const times = new Map<string, string>();
  const client = server.sql;
  let other: pg.Client | null = null;
  let comparisons = 0;
  let temporalComparisons = 0;
  /** With options.all, every mismatch (a view that mismatched is compared no more): a survey. */
  const found: Mismatch[] = [];
  const refusing = new Set<string>();
  const mismatch = (step: number, fields: Omit<Mismatch, 'step'>): RunResult | null => {
    found.push({ step, ...fields });
    if (fields.kind === 'rows') models.delete(fields.view);
    if (fields.kind === 'refused' || fields.kind === 'lost') refusing.add(fields.view);
    return options.all ? null : { mismatch: found[0]!, comparisons };
  };
  await server.query(`CREATE SCHEMA ${schema}`);
  try {
    for (const [index, step] of steps.entries()) {
      if (step.kind === 'ddl') {
        try {
          await client.query(s(step.sql));
          if (step.creates) models.set(step.creates.name, { ...step.creates, select: s(step.creates.select) });
          if (step.drops) {
            models.delete(step.drops);
            // What CASCADE dropped with it.
            const left = new Set((await server.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = $1::regnamespace`, [schema])).map((row) => row.name));
            for (const name of [...models.keys()]) if (!left.has(name)) models.delete(name);
          }
        } catch (error) {
          const message = (error as Error).message;
          if (process.env.KEPT_FUZZ_DEBUG) console.log(`step ${index} failed: ${message}\n${s(step.sql)}`);
          // A CREATE whose SELECT runs must succeed (a shrunk case may have dropped what it reads:
          // then its SELECT fails too). A replacement may be refused while others read the model.
          if (step.select && !(step.replaces && /depend/i.test(message))) {
            const runs = await client.query(`SELECT * FROM (${s(step.select)}) AS probe LIMIT 0`).then(
              () => true,
              () => false,
            );
            const stop = runs ? mismatch(index, { view: step.creates?.name ?? '', shape: step.creates?.shape ?? 'view', kind: 'create', when: message, kept: [], fresh: [s(step.sql)] }) : null;
            if (stop) return stop;
          }
        }
      } else if (step.kind === 'post') {
        const body = JSON.stringify(resolveTimes(step.body, times));
        let response: Response;
        let text: string;
        // A 503 asks to retry (an append waited 5 s behind a statement), as Segment does: not a refusal.
        for (let attempt = 0; ; attempt++) {
          response = await fetch(server.server.webhookUrl(step.source, schema), { method: 'POST', body });
          text = await response.text();
          if (response.status !== 503 || attempt >= 20) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        if (response.status !== 200) {
          if (refusing.has(step.source)) continue;
          const stop = mismatch(index, { view: step.source, shape: 'source', kind: 'refused', when: `POST answered ${response.status}: ${text}`, kept: [], fresh: [body] });
          if (stop) return stop;
          continue;
        }
        accepted.set(step.source, (accepted.get(step.source) ?? 0) + eventCount(step.body));
      } else if (step.kind === 'dml') {
        await server.query(s(step.sql)).catch(() => {});
      } else if (step.kind === 'sleep') {
        await new Promise((resolve) => setTimeout(resolve, step.ms));
      } else {
        if (step.when === 'settled') await server.server.maintainedViews.settled();
        for (const [source, count] of accepted) {
          const held = (await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${source}`))[0]!.n;
          if (held === count || refusing.has(source)) continue;
          const stop = mismatch(index, { view: source, shape: 'source', kind: 'lost', when: step.when, kept: [String(held)], fresh: [String(count)] });
          if (stop) return stop;
        }
        if (step.when === 'other-session') {
          // Another connection, in another time zone, reads first: its catch-up refreshes them.
          if (!other) {
            other = new pg.Client(server.server.pgUrl);
            await other.connect();
            await other.query(`SET TimeZone = 'Asia/Tokyo'`);
          }
          for (const name of models.keys()) await other.query(`SELECT * FROM ${schema}.${name}`);
        }
        for (const [name, model] of models) {
          let kept: string[];
          let fresh: string[];
          const pinned = model.temporal || step.when === 'read-only';
          // A read outside any transaction first (what catches a view up), then, for a view that
          // depends on the time, both reads at one pinned time.
          if (!pinned || step.when !== 'read-only') kept = await sortedRows(client, `SELECT * FROM ${schema}.${name}`);
          if (pinned) {
            await client.query(`BEGIN READ ONLY`);
            try {
              kept = await sortedRows(client, `SELECT * FROM ${schema}.${name}`);
              fresh = await sortedRows(client, model.select);
            } finally {
              await client.query(`COMMIT`).catch(() => {});
            }
          } else {
            fresh = await sortedRows(client, model.select);
          }
          comparisons++;
          if (model.temporal) {
            const kept = await client.query(`SELECT 1 FROM mz_local.maintained_views m WHERE m.view_oid = to_regclass($1) AND m.temporal`, [`${schema}.${name}`]);
            if (kept.rows.length > 0) temporalComparisons++;
          }
          if (JSON.stringify(kept!) !== JSON.stringify(fresh)) {
            const stop = mismatch(index, { view: name, shape: model.shape, kind: 'rows', when: step.when, kept: kept!, fresh });
            if (stop) return stop;
          }
        }
      }
    }
    if (process.env.KEPT_FUZZ_DEBUG) {
      console.log(await server.query(`SELECT c.relname AS name, m.refresh_kind AS kind, m.not_keyed_reason AS reason, m.refresh_function_sql IS NOT NULL AS folds FROM mz_local.maintained_views m JOIN pg_class c ON c.oid = m.view_oid WHERE c.relnamespace = $1::regnamespace`, [schema]));
    }
    return { mismatch: found[0] ?? null, comparisons, temporalComparisons, found };
  } finally {
    await (other as pg.Client | null)?.end().catch(() => {});
    await server.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
  }
}

/**
 * Drops steps while the case still fails the same way (same kind of mismatch): first everything
 * after the failing step, then one step at a time from the end, within `budget` replays and
 * `budgetMs`.
 */
export async function shrink(server: TestServer, steps: readonly Step[], failing: Mismatch, schemaPrefix: string, budget = 80, budgetMs = 40_000): Promise<{ steps: Step[]; mismatch: Mismatch }> {
  const deadline = Date.now() + budgetMs;
  let current = steps.slice(0, failing.step + 1);
  let replays = 0;
  let last: Mismatch | null = null;
  const fails = async (candidate: Step[]) => {
    replays++;
    const result = await runCase(server, candidate, `${schemaPrefix}_${replays}`);
    if (result.mismatch?.kind === failing.kind) last = result.mismatch;
    return result.mismatch?.kind === failing.kind;
  };
  // A mismatch that depends on when the background refresh ran may need a few replays to show.
  if (!(await fails(current)) && !(await fails(current)) && !(await fails(current))) {
    return { steps: current, mismatch: { ...failing, when: `${failing.when} (not reproduced on replay)` } };
  }
  let kept = last!;
  for (let index = current.length - 2; index >= 0 && replays < budget && Date.now() < deadline; index--) {
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
        case 'sleep':
          return `-- wait ${step.ms} ms`;
        case 'check':
          return `-- read every kept view (${step.when})`;
      }
    })
    .join('\n');
}

/** One line naming a mismatch. */
export function describeMismatch(found: Mismatch): string {
  switch (found.kind) {
    case 'rows':
      return `${found.view} (${found.shape}) read other rows than its SELECT at a ${found.when} read`;
    case 'refused':
      return `source ${found.view} refused a valid event: ${found.when}`;
    case 'lost':
      return `source ${found.view} holds ${found.kept[0]} events of the ${found.fresh[0]} it accepted`;
    case 'create':
      return `${found.view || 'a view'} (${found.shape}) failed to be created though its SELECT runs: ${found.when}`;
  }
}
