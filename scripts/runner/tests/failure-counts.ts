/**
 * Where a data test's failing rows are read from, and counting many tests in one query.
 *
 * A stored test (store_failures, deployed as compiled now) is a materialized view of its failing
 * rows that the target keeps current — Materialize with a dataflow, the local server as a kept
 * view — so counting it is a read. Counting every stored test at once is one round trip:
 * `SELECT '<name>' AS name, count(*) AS failures FROM <view> UNION ALL …`, which Materialize runs as
 * one peek at one timestamp (every count is of the same instant) and the local server as one
 * statement (its kept views brought up to date once, before it). models:test and dev's monitor
 * (test-monitor.ts) both use it.
 */
import type { CompiledNode } from '../compile.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import { sqlString } from '../deploy/deploy-sql.ts';
import type { SqlSession } from '../deploy/sql-session.ts';

/**
 * What a test's failing rows are read from: its stored-failures view when that is deployed and
 * current, else its query — on a line of its own, so a database error's position maps to the
 * test's lines.
 */
export function failingRows(node: CompiledNode, stored: boolean): string {
  return stored ? `${quoteIdentifier(node.schema)}.${quoteIdentifier(node.name)}` : `(\n${node.test!.query}\n)`;
}

/** One row per test: its name and how many rows fail it now. */
export function countsQuery(tests: readonly CompiledNode[], stored: ReadonlySet<string>): string {
  return tests.map((test) => `SELECT ${sqlString(test.name)} AS name, count(*) AS failures FROM ${failingRows(test, stored.has(test.name))} AS failing`).join('\nUNION ALL\n');
}

/** The failure count of each test in `tests`, read in one query (`stored`: the tests read from their views). */
export async function readCounts(session: SqlSession, tests: readonly CompiledNode[], stored: ReadonlySet<string>): Promise<Map<string, number>> {
  if (tests.length === 0) return new Map();
  const rows = (await session.query<{ name: string; failures: string | number }>(countsQuery(tests, stored))).rows;
  return new Map(rows.map((row) => [row.name, Number(row.failures)]));
}
