/**
 * Continuous testing while `dev` / `models:watch` run: the failure count of every test is followed
 * as events arrive, and a test that starts (or stops) failing is reported the moment it does.
 *
 * One SUBSCRIBE follows them all — `SELECT name, count(*) … UNION ALL …` over each test's query
 * (or its stored-failures view) — so the target keeps the counts incrementally and sends only the
 * ones that changed. Where SUBSCRIBE is missing, the monitor polls the same query instead: every
 * 2 s, or less often when counting takes long, so that it never holds the database more than a
 * fifth of the time.
 *
 * On the local server (`poll`), a SUBSCRIBE's query is computed again after every write that may
 * change it (and rounds are spaced under sustained ingest: at most a tenth of the database's
 * time). For a stored test that is a read of a view the server keeps, brought up to date from the
 * write before it is read; for any other test it would be the test's whole query after every
 * event. So there the stored tests are followed with one SUBSCRIBE — a violating event is told as
 * soon as the server has caught up with it, and nothing is read while no event arrives — and the
 * others are polled as above.
 */
import type { CompiledNode } from '../compile.ts';
import type { PgSession } from '../deploy/sql-session.ts';
import { countsQuery } from './failure-counts.ts';

export interface FailureChange {
  readonly test: CompiledNode;
  readonly before: number;
  readonly after: number;
}

export interface TestMonitorOptions {
  /** Opens one of the monitor's connections (a SUBSCRIBE holds its session; polling takes another). */
  readonly open: () => Promise<PgSession>;
  readonly onChange: (change: FailureChange) => void;
  /** Polling period where SUBSCRIBE is unavailable or not wanted (default 2 s). */
  readonly pollMs?: number;
  /**
   * The local server: poll the tests whose failures are not stored (its SUBSCRIBE would run their
   * queries after every write), and subscribe to the stored ones (reads of kept views).
   */
  readonly poll?: boolean;
  readonly onError?: (error: Error) => void;
}

const CURSOR = 'segment_materialize_test_monitor';

export class TestMonitor {
  private subscribeSession: PgSession | undefined;
  private pollSession: PgSession | undefined;
  private loops: Promise<void>[] = [];
  private stopped = false;
  private readonly failures = new Map<string, number>();
  private tests = new Map<string, CompiledNode>();
  /** Whether a SUBSCRIBE follows some of the tests. */
  subscribed = false;
  /** The tests followed by the SUBSCRIBE, and those polled (names, in the order followed). */
  subscribedTests: readonly string[] = [];
  polledTests: readonly string[] = [];

  constructor(private readonly options: TestMonitorOptions) {}

  /**
   * Follows `tests` from now on (replacing what was followed). `known` gives the counts already
   * reported (by the run after a deploy), so only later changes are told. `storedCurrent`: the
   * tests whose stored-failures views are deployed as compiled now (read instead of their query).
   */
  async follow(followed: readonly CompiledNode[], known: ReadonlyMap<string, number>, storedCurrent: ReadonlySet<string>): Promise<void> {
    // Unit tests read mocks, not events: nothing to follow.
    const tests = followed.filter((test) => test.test?.kind !== 'unit');
    await this.stopLoops();
    this.stopped = false;
    this.tests = new Map(tests.map((test) => [test.name, test]));
    this.failures.clear();
    for (const [name, count] of known) if (this.tests.has(name)) this.failures.set(name, count);
    let subscribed = this.options.poll ? tests.filter((test) => storedCurrent.has(test.name)) : tests;
    if (subscribed.length && !(await this.subscribe(countsQuery(subscribed, storedCurrent)))) subscribed = [];
    const polled = tests.filter((test) => !subscribed.includes(test));
    this.subscribedTests = subscribed.map((test) => test.name);
    this.polledTests = polled.map((test) => test.name);
    if (polled.length) {
      this.pollSession ??= await this.options.open();
      this.loops.push(this.pollLoop(this.pollSession, countsQuery(polled, storedCurrent)));
    }
  }

  async close(): Promise<void> {
    await this.stopLoops();
    await this.subscribeSession?.close();
    await this.pollSession?.close();
    this.subscribeSession = undefined;
    this.pollSession = undefined;
  }

  /** Starts the SUBSCRIBE of `query`; false when the target refuses it (the tests are then polled). */
  private async subscribe(query: string): Promise<boolean> {
    this.subscribeSession ??= await this.options.open();
    const session = this.subscribeSession;
    try {
      await session.query('BEGIN');
      await session.query(`DECLARE ${CURSOR} CURSOR FOR SUBSCRIBE (${query})`);
    } catch {
      await session.query('ROLLBACK').catch(() => {});
      return false;
    }
    this.subscribed = true;
    this.loops.push(this.fetchLoop(session));
    return true;
  }

  private async stopLoops(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops.map((loop) => loop.catch(() => {})));
    this.loops = [];
    if (this.subscribed && this.subscribeSession) {
      await this.subscribeSession.query(`CLOSE ${CURSOR}`).catch(() => {});
      await this.subscribeSession.query('ROLLBACK').catch(() => {});
    }
    this.subscribed = false;
  }

  private async fetchLoop(session: PgSession): Promise<void> {
    while (!this.stopped) {
      let rows: Record<string, unknown>[];
      try {
        rows = (await session.query(`FETCH ALL ${CURSOR} WITH (timeout = '1s')`)).rows;
      } catch (error) {
        if (!this.stopped) this.options.onError?.(error as Error);
        return;
      }
      // A batch retracts the old count of a test and inserts the new one; insertions carry the count.
      const counts = new Map<string, number>();
      for (const row of rows) {
        if (Number(row.mz_diff) > 0) counts.set(String(row.name), Number(row.failures));
      }
      this.apply(counts);
    }
  }

  private async pollLoop(session: PgSession, query: string): Promise<void> {
    while (!this.stopped) {
      const started = performance.now();
      try {
        const rows = (await session.query<{ name: string; failures: string }>(query)).rows;
        this.apply(new Map(rows.map((row) => [row.name, Number(row.failures)])));
      } catch (error) {
        if (!this.stopped) this.options.onError?.(error as Error);
      }
      // Never more than a fifth of the time spent counting failures, however large the data.
      const period = Math.max(this.options.pollMs ?? 2000, (performance.now() - started) * 4);
      const until = Date.now() + period;
      while (!this.stopped && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private apply(counts: ReadonlyMap<string, number>): void {
    for (const [name, after] of counts) {
      const test = this.tests.get(name);
      if (!test) continue;
      const before = this.failures.get(name);
      this.failures.set(name, after);
      // The first count of a test not reported before is its baseline, told only when failing.
      if (before === undefined ? after > 0 : (before === 0) !== (after === 0)) this.options.onChange({ test, before: before ?? 0, after });
    }
  }
}
