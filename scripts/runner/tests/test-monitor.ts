/**
 * Continuous testing while `dev` / `models:watch` run: the failure count of every test is followed
 * as events arrive, and a test that starts (or stops) failing is reported the moment it does.
 *
 * One SUBSCRIBE follows them all — `SELECT name, count(*) … UNION ALL …` over each test's query
 * (or its stored-failures view) — so the target keeps the counts incrementally and sends only the
 * ones that changed. Where SUBSCRIBE is missing, and on the local server (whose SUBSCRIBE
 * recomputes the query after every write, which would slow every webhook append down to that
 * query's pace), the monitor polls the same query instead: every 2 s, or less often when counting
 * takes long, so that it never holds the database more than a fifth of the time.
 */
import type { CompiledNode } from '../compile.ts';
import type { PgSession } from '../deploy/sql-session.ts';
import { sqlString } from '../deploy/deploy-sql.ts';
import { failingRows } from './test-runner.ts';

export interface FailureChange {
  readonly test: CompiledNode;
  readonly before: number;
  readonly after: number;
}

export interface TestMonitorOptions {
  /** Opens the monitor's own connection (a SUBSCRIBE holds its session). */
  readonly open: () => Promise<PgSession>;
  readonly onChange: (change: FailureChange) => void;
  /** Polling period where SUBSCRIBE is unavailable or not wanted (default 2 s). */
  readonly pollMs?: number;
  /**
   * Poll instead of subscribing. For the local server: its SUBSCRIBE recomputes the whole query
   * after every write, and this one (every test) costs each webhook append that recomputation.
   */
  readonly poll?: boolean;
  readonly onError?: (error: Error) => void;
}

const CURSOR = 'segment_materialize_test_monitor';

export class TestMonitor {
  private session: PgSession | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private readonly failures = new Map<string, number>();
  private tests = new Map<string, CompiledNode>();
  /** Whether the target answered SUBSCRIBE (false: polling). */
  subscribed = false;

  constructor(private readonly options: TestMonitorOptions) {}

  /**
   * Follows `tests` from now on (replacing what was followed). `known` gives the counts already
   * reported (by the run after a deploy), so only later changes are told.
   */
  async follow(followed: readonly CompiledNode[], known: ReadonlyMap<string, number>, storedCurrent: ReadonlySet<string>): Promise<void> {
    // Unit tests read mocks, not events: nothing to follow.
    const tests = followed.filter((test) => test.test?.kind !== 'unit');
    await this.stopLoop();
    this.stopped = false;
    this.tests = new Map(tests.map((test) => [test.name, test]));
    this.failures.clear();
    for (const [name, count] of known) if (this.tests.has(name)) this.failures.set(name, count);
    if (tests.length === 0) return;
    const query = countsQuery(tests, storedCurrent);
    this.session ??= await this.options.open();
    const session = this.session;
    if (this.options.poll) {
      this.subscribed = false;
      this.loop = this.pollLoop(session, query);
      return;
    }
    try {
      await session.query('BEGIN');
      await session.query(`DECLARE ${CURSOR} CURSOR FOR SUBSCRIBE (${query})`);
      this.subscribed = true;
      this.loop = this.fetchLoop(session);
    } catch {
      await session.query('ROLLBACK').catch(() => {});
      this.subscribed = false;
      this.loop = this.pollLoop(session, query);
    }
  }

  async close(): Promise<void> {
    await this.stopLoop();
    await this.session?.close();
    this.session = undefined;
  }

  private async stopLoop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => {});
    this.loop = undefined;
    if (this.subscribed && this.session) {
      await this.session.query(`CLOSE ${CURSOR}`).catch(() => {});
      await this.session.query('ROLLBACK').catch(() => {});
      this.subscribed = false;
    }
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

/** One row per test: its name and how many rows fail it now. */
export function countsQuery(tests: readonly CompiledNode[], storedCurrent: ReadonlySet<string>): string {
  return tests
    .map((test) => {
      return `SELECT ${sqlString(test.name)} AS name, count(*) AS failures FROM ${failingRows(test, storedCurrent.has(test.name))} AS failing`;
    })
    .join('\nUNION ALL\n');
}
