/**
 * Differential fuzz of kept materialized views (test/helpers/kept-views-fuzz.ts): random cases of
 * events, DML, views and materialized views, each kept view compared with its SELECT run fresh at
 * every read. A bounded run here: MIN_SEEDS seeds from the first (30001–30004 in CI, the same every
 * run), then more while KEPT_FUZZ_SECONDS lasts (0 by default); longer runs with new seeds:
 *
 *   KEPT_FUZZ_SECONDS=600 npx vitest run test/local/kept-views-fuzz.test.ts
 *   KEPT_FUZZ_SEED=1234 npx vitest run test/local/kept-views-fuzz.test.ts    # one case again
 *
 * Seeds start at KEPT_FUZZ_SEED (else a fixed seed, so that CI is repeatable; KEPT_FUZZ_RANDOM=1
 * draws one). A failing case is shrunk and printed with its seed; every bug found becomes a named
 * test in kept-views-regressions.test.ts.
 *
 * The generator also draws delete requests arriving after folded rows (taken out by retractions),
 * deletes read through a plain view reducing a kept dedup (as the seed's stg_segment_deletes), HAVING
 * groups entering and leaving, and data tests' stored failures (unique, not_null, accepted_values).
 *
 * Cases run in LANES lanes at once, each lane with its own connection and each case in its own
 * schema, taking the next seed in turn: a case spends most of its time asleep waiting for rows to
 * enter and leave temporal windows (seeds 30001–30003 sleep 13.5 s of a 19.7 s serial run), and
 * another case runs in those pauses. The lanes also share the server's refresh machinery, as the
 * sessions of a real deployment do.
 *
 * Against the engine before issue 30's fixes (e0d0aae^) this run, then serial with a 15 s budget
 * that reached 3 seeds, failed from seeds 30001, 40001, 50001, 60001 and 70001 (LIMIT, HAVING, a
 * column list, an MV over a temporal view); MIN_SEEDS (4) makes every run cover more seeds from its
 * start than that serial run reached on this machine (3, seeds 30001–30003 from the default).
 * Surveyed over seeds 30001–30100 it finds every shape the issue lists.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { describeMismatch, describeSteps, generateCase, runCase, shrink } from '../helpers/kept-views-fuzz.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

const seconds = Number(process.env.KEPT_FUZZ_SECONDS ?? 0);
const oneSeed = process.env.KEPT_FUZZ_SEED !== undefined && process.env.KEPT_FUZZ_SECONDS === undefined;
const firstSeed = Number(process.env.KEPT_FUZZ_SEED ?? (process.env.KEPT_FUZZ_RANDOM ? Math.floor(Math.random() * 1e9) : 30_001));
/**
 * Cases run at once. Measured here (seeds 30001–30004, load ~2): 5.3, 5.0, 10.2 and 9.3 s each
 * alone; 16.2 s in 2 lanes, 14.9 s (5 seeds) in 3, 12.4 s in 4 — about the longest case alone.
 */
const LANES = oneSeed ? 1 : 4;
/** Seeds every run covers whatever the budget and load: more than the serial 15 s run reached (3). */
const MIN_SEEDS = oneSeed ? 1 : 4;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ refreshQuietMs: 15 });
});
afterAll(async () => {
  await t?.close();
});

/** The test server seen through a connection of the lane's own (runCase pins reads in transactions on it). */
async function laneServer(server: TestServer): Promise<TestServer> {
  const sql = new pg.Client(server.server.pgUrl);
  await sql.connect();
  return {
    server: server.server,
    sql,
    async query<T>(text: string, values?: unknown[]) {
      return (await sql.query(text, values as unknown[] | undefined)).rows as T[];
    },
    close: () => sql.end(),
  };
}

it(
  'kept views read as their SELECT through random events, DML, replaced and dropped models, at every read',
  async () => {
    const deadline = Date.now() + seconds * 1000;
    let nextSeed = firstSeed;
    let failed = false;
    const covered: number[] = [];
    let comparisons = 0;
    let temporal = 0;
    const lane = async () => {
      const server = await laneServer(t);
      try {
        while (!failed && (nextSeed < firstSeed + MIN_SEEDS || (!oneSeed && Date.now() < deadline))) {
          const seed = nextSeed++;
          const steps = generateCase(seed);
          const result = await runCase(server, steps, `fz_${seed}`);
          covered.push(seed);
          comparisons += result.comparisons;
          temporal += result.temporalComparisons ?? 0;
          if (result.mismatch) {
            failed = true;
            const shrunk = await shrink(server, steps, result.mismatch, `fz_${seed}_s`);
            const report = [
              `kept view mismatch, seed ${seed} (KEPT_FUZZ_SEED=${seed} replays it): ${describeMismatch(shrunk.mismatch)}`,
              `kept:  ${JSON.stringify(shrunk.mismatch.kept)}`,
              `fresh: ${JSON.stringify(shrunk.mismatch.fresh)}`,
              `shrunk case ({s} is its schema):`,
              describeSteps(shrunk.steps),
            ].join('\n');
            console.error(report);
            expect.fail(report);
          }
        }
      } finally {
        await server.close().catch(() => {});
      }
    };
    // Every lane finishes its case before the test ends (the server stops after it), then the
    // first failure is the test's.
    const outcomes = await Promise.allSettled(Array.from({ length: LANES }, lane));
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    covered.sort((a, b) => a - b);
    console.log(`kept-views fuzz: ${covered.length} rounds in ${LANES} lanes, ${comparisons} comparisons (${temporal} of views kept with a temporal filter), seeds ${covered[0]}–${covered.at(-1)}`);
  },
  // The run, the seeds every run covers (a first case may take ~10 s on a cold server), and
  // shrinking a failure (≤ 40 s).
  (seconds * 2 + 120) * 1000,
);
