/**
 * How data-test results are printed, by models:test and by watch mode after each deploy: one line
 * per test (PASS / WARN / FAIL / ERROR, failing rows, time), a few sample rows under a failure, the
 * error at the test's file:line, and a summary. Machines get `--json` instead.
 */
import pc from 'picocolors';
import { formatLocation } from '../runner/errors.ts';
import { isFailure, type TestResult } from '../runner/tests/test-runner.ts';
import { formatMs } from './common.ts';

const STATUS_LABEL = { pass: pc.green('PASS '), warn: pc.yellow('WARN '), fail: pc.red('FAIL '), error: pc.red('ERROR') } as const;
const SAMPLE_WIDTH = 160;

export function formatTestResult(result: TestResult, options: { showSample?: boolean } = {}): string[] {
  const on = result.model ? pc.dim(` on ${result.model}`) : '';
  if (result.kind === 'unit') return formatUnitResult(result, on);
  const count = result.status === 'pass' || result.status === 'error' ? '' : ` ${result.failures} failing row${result.failures === 1 ? '' : 's'}`;
  const lines = [`  ${STATUS_LABEL[result.status]} ${result.name}${on}${count} ${pc.dim(formatMs(result.ms))}`];
  if (result.status === 'fail' || result.status === 'warn') {
    lines.push(pc.dim(`        ${formatLocation(result.location)}`));
    if (options.showSample !== false) for (const row of result.sample) lines.push(pc.dim(`        ${formatRow(row)}`));
  }
  if (result.error) {
    const where = result.error.location ? `${formatLocation(result.error.location)}: ` : '';
    lines.push(pc.red(`        ${where}${result.error.message}`));
    if (result.error.hint) lines.push(pc.dim(`        hint: ${result.error.hint}`));
  }
  return lines;
}

/**
 * A unit test: PASS, FAIL with its diff (rows expected but missing, rows produced but unexpected, as
 * mz-deploy's assertion query classifies them), or ERROR: a validation failure (missing mock, wrong
 * columns, unknown view) or a query that could not run, at the test's file:line.
 */
function formatUnitResult(result: TestResult, on: string): string[] {
  const missing = result.missing ?? [];
  const unexpected = result.unexpected ?? [];
  const diff = result.status === 'fail' ? ` ${missing.length} missing, ${unexpected.length} unexpected row${unexpected.length === 1 ? '' : 's'}` : '';
  const label = result.outcome === 'validation_failed' ? pc.red('INVALID') : STATUS_LABEL[result.status];
  const lines = [`  ${label} ${result.name}${on ? pc.dim(` (unit)${on.trimEnd()}`) : pc.dim(' (unit)')}${diff} ${pc.dim(formatMs(result.ms))}`];
  if (result.status === 'fail') {
    lines.push(pc.dim(`        ${formatLocation(result.location)}`));
    for (const row of missing.slice(0, DIFF_ROWS)) lines.push(`        ${pc.red('- missing   ')} ${formatRow(row)}`);
    if (missing.length > DIFF_ROWS) lines.push(pc.dim(`        … ${missing.length - DIFF_ROWS} more missing`));
    for (const row of unexpected.slice(0, DIFF_ROWS)) lines.push(`        ${pc.yellow('+ unexpected')} ${formatRow(row)}`);
    if (unexpected.length > DIFF_ROWS) lines.push(pc.dim(`        … ${unexpected.length - DIFF_ROWS} more unexpected`));
  }
  if (result.error) {
    const where = result.error.location ? `${formatLocation(result.error.location)}: ` : '';
    lines.push(pc.red(`        ${where}${result.error.message}`));
    if (result.error.hint) lines.push(pc.dim(`        hint: ${result.error.hint}`));
  }
  return lines;
}

const DIFF_ROWS = 10;

export interface TestSummary {
  readonly total: number;
  readonly passed: number;
  readonly warned: number;
  readonly failed: number;
  readonly errors: number;
  readonly ms: number;
}

export function summarizeTests(results: readonly TestResult[], ms: number): TestSummary {
  const count = (status: TestResult['status']) => results.filter((result) => result.status === status).length;
  return { total: results.length, passed: count('pass'), warned: count('warn'), failed: count('fail'), errors: count('error'), ms };
}

export function formatTestSummary(summary: TestSummary): string {
  const parts = [
    pc.green(`${summary.passed} passed`),
    summary.warned ? pc.yellow(`${summary.warned} warned`) : `${summary.warned} warned`,
    summary.failed ? pc.red(`${summary.failed} failed`) : `${summary.failed} failed`,
    ...(summary.errors ? [pc.red(`${summary.errors} could not run`)] : []),
  ];
  return `${summary.total} test${summary.total === 1 ? '' : 's'}: ${parts.join(', ')} ${pc.dim(`in ${formatMs(summary.ms)}`)}`;
}

/**
 * The `--json` shape: `{"tests": [{name, model, kind, severity, status, failures, sample}], "summary": {...}}`;
 * unit tests (`"kind": "unit"`) add `outcome` (passed, failed, validation_failed) and their
 * `missing` and `unexpected` rows.
 */
export function testsJson(results: readonly TestResult[], summary: TestSummary): unknown {
  return {
    tests: results.map((result) => ({
      name: result.name,
      model: result.model,
      kind: result.kind,
      severity: result.severity,
      status: result.status,
      failures: result.failures,
      sample: result.sample.map(jsonRow),
      source: result.source,
      ms: Math.round(result.ms * 10) / 10,
      location: formatLocation(result.location),
      ...(result.error ? { error: { message: result.error.message, location: result.error.location ? formatLocation(result.error.location) : null, hint: result.error.hint ?? null } } : {}),
      ...(result.kind === 'unit' ? { outcome: result.outcome ?? 'failed', missing: (result.missing ?? []).map(jsonRow), unexpected: (result.unexpected ?? []).map(jsonRow) } : {}),
    })),
    summary: { ...summary, ms: Math.round(summary.ms), ok: !results.some(isFailure) },
  };
}

function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]));
}

function formatRow(row: Record<string, unknown>): string {
  const text = Object.entries(jsonRow(row))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('  ');
  return text.length > SAMPLE_WIDTH ? `${text.slice(0, SAMPLE_WIDTH - 1)}…` : text;
}
