/**
 * `models:test --junit-xml FILE`: the results as JUnit XML, the report CI systems read (as
 * `mz-deploy test --junit-xml` writes for unit tests). One <testsuite> for unit tests and one for
 * data tests; a failing test has a <failure> (its diff or failing rows), a test that could not run
 * or whose definition is invalid an <error>, a warning passes with its rows in <system-out>.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatLocation } from '../errors.ts';
import type { TestResult } from './test-runner.ts';

export function junitXml(project: string, results: readonly TestResult[]): string {
  const suites = [
    { name: `${project}.unit`, results: results.filter((result) => result.kind === 'unit') },
    { name: `${project}.data`, results: results.filter((result) => result.kind !== 'unit') },
  ].filter((suite) => suite.results.length > 0);
  const totals = count(results);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${escape(project)}" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" time="${seconds(totals.ms)}">`];
  for (const suite of suites) {
    const c = count(suite.results);
    lines.push(`  <testsuite name="${escape(suite.name)}" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="0" time="${seconds(c.ms)}">`);
    for (const result of suite.results) {
      const file = result.location.file;
      const line = result.location.line;
      const attributes = `name="${escape(result.name)}" classname="${escape(result.model ?? file)}" file="${escape(file)}"${line ? ` line="${line}"` : ''} time="${seconds(result.ms)}"`;
      const body = details(result);
      if (result.status === 'pass') {
        lines.push(`    <testcase ${attributes}/>`);
      } else if (result.status === 'warn') {
        lines.push(`    <testcase ${attributes}>`, `      <system-out>${escape(body)}</system-out>`, '    </testcase>');
      } else if (result.status === 'fail') {
        const message = result.kind === 'unit' ? `${result.missing?.length ?? 0} missing, ${result.unexpected?.length ?? 0} unexpected row(s)` : `${result.failures} failing row(s)`;
        lines.push(`    <testcase ${attributes}>`, `      <failure message="${escape(message)}" type="${result.kind === 'unit' ? 'failed' : 'failing_rows'}">${escape(body)}</failure>`, '    </testcase>');
      } else {
        const type = result.outcome === 'validation_failed' ? 'validation_failed' : 'error';
        lines.push(`    <testcase ${attributes}>`, `      <error message="${escape(result.error?.message ?? 'could not run')}" type="${type}">${escape(body)}</error>`, '    </testcase>');
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

export function writeJunitXml(file: string, project: string, results: readonly TestResult[]): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, junitXml(project, results));
}

function details(result: TestResult): string {
  const lines = [formatLocation(result.location)];
  for (const row of result.missing ?? []) lines.push(`missing     ${JSON.stringify(row)}`);
  for (const row of result.unexpected ?? []) lines.push(`unexpected  ${JSON.stringify(row)}`);
  for (const row of result.sample) lines.push(JSON.stringify(row));
  if (result.error) {
    lines.push(`${result.error.location ? `${formatLocation(result.error.location)}: ` : ''}${result.error.message}`);
    if (result.error.hint) lines.push(`hint: ${result.error.hint}`);
  }
  return lines.join('\n');
}

function count(results: readonly TestResult[]): { tests: number; failures: number; errors: number; ms: number } {
  return {
    tests: results.length,
    failures: results.filter((result) => result.status === 'fail').length,
    errors: results.filter((result) => result.status === 'error').length,
    ms: results.reduce((sum, result) => sum + result.ms, 0),
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** XML text and attribute escaping; characters XML 1.0 cannot hold at all are dropped. */
function escape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
