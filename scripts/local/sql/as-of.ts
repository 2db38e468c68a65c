/**
 * `SELECT … AS OF [AT LEAST] <timestamp>` (Materialize's time travel; test/sqllogictest/as_of.slt).
 * The local server keeps no history: every read is at the current time, which is what
 * `AS OF AT LEAST t` allows and what an `AS OF t` naming the present or the future reads. So the
 * clause is checked as Materialize checks it and then dropped:
 *
 * - nothing after it: `Expected a timestamp value after 'AS OF', found EOF`;
 * - a call to a function whose value depends on the session or the time (now(), mz_now(),
 *   current_database(), …): `calling an unmaterializable function in AS OF or UP TO not yet supported`;
 * - a literal that is no mz_timestamp (negative, fractional, past 2^64 - 1, NULL, text that is
 *   neither digits nor a date): `AS OF or UP TO should be castable to a (non-null) mz_timestamp value`.
 *
 * Other expressions are dropped unchecked. Only a clause at the end of a top-level SELECT (or WITH,
 * VALUES, TABLE) is read; SUBSCRIBE has its own (subscribe/).
 *
 * What the clause does change is mz_now(): Materialize evaluates a temporal filter at the time read
 * (temporal.slt: `SELECT * FROM valid AS OF 2` has the rows valid at 2 ms past the epoch). An exact
 * `AS OF <number>` sets mz_local.as_of to `<statement start>|<ms>` before the query runs, and
 * mz_now() (catalog/core.sql) answers that time in that statement only:
 *
 *   SELECT mz_as_of_q.* FROM (SELECT set_config('mz_local.as_of', …, true) AS mz_as_of_set) AS mz_as_of
 *   CROSS JOIN LATERAL (SELECT * FROM (<the query>) AS mz_as_of_query WHERE mz_as_of.mz_as_of_set IS NOT NULL OFFSET 0) AS mz_as_of_q
 *
 * The lateral reference makes the setting's row the outer side, and the condition on it a one-time
 * filter checked before the query's first row. A view whose temporal filter is kept in a table
 * (views/temporal-plan.ts) still answers its rows of now.
 */
import type { TextEdit, Token } from './tokens.ts';
import { enclosingParen, isPunct, isWord } from './token-walk.ts';
import type { Refusal } from './refusal.ts';

const QUERY_WORDS = new Set(['select', 'with', 'values', 'table']);
const UNMATERIALIZABLE = new Set([
  'now', 'mz_now', 'current_timestamp', 'localtimestamp', 'current_date', 'current_time', 'current_database', 'current_user',
  'current_schema', 'current_role', 'session_user', 'pg_backend_pid', 'mz_version', 'mz_environment_id', 'random',
]);
const MZ_TIMESTAMP_MAX = 18446744073709551615n;

/**
 * What to do with `AS OF` at `index` (the `as`): drop it (the edit, and for an exact time a `prefix`
 * inserted at the statement's start), refuse it, or nothing (not the clause).
 */
export function asOfClause(tokens: readonly Token[], index: number): { edit: TextEdit; prefix?: TextEdit } | { refusal: Refusal } | null {
  if (!isWord(tokens[index + 1], 'of') || !QUERY_WORDS.has(tokens[0]?.type === 'word' ? tokens[0].value : '')) return null;
  if (enclosingParen(tokens, index) !== -1) return null;
  let first = index + 2;
  if (isWord(tokens[first], 'at') && isWord(tokens[first + 1], 'least')) first += 2;
  const tail = tokens.slice(first);
  const edit = { start: tokens[index]!.start, end: tokens[tokens.length - 1]!.end, text: '' };
  if (tail.length === 0) return { refusal: { message: "Expected a timestamp value after 'AS OF', found EOF", code: '42601' } };
  for (let at = 0; at < tail.length; at++) {
    const token = tail[at]!;
    if (token.type === 'word' && UNMATERIALIZABLE.has(token.value) && (isPunct(tail[at + 1], '(') || token.value.startsWith('current_') || token.value === 'localtimestamp')) {
      return { refusal: { message: 'calling an unmaterializable function in AS OF or UP TO not yet supported', code: '0A000' } };
    }
  }
  // A literal, with an optional sign and an optional cast: checked as mz_timestamp would read it.
  let at = 0;
  const negative = tail[0]?.type === 'operator' && tail[0].value === '-';
  if (negative || (tail[0]?.type === 'operator' && tail[0].value === '+')) at++;
  const literal = tail[at];
  const castOnly = tail.length === at + 1 || (tail[at + 1]?.type === 'operator' && tail[at + 1]!.value === '::' && tail.length === at + 3);
  if (!literal || !castOnly) return { edit };
  const castable =
    literal.type === 'number'
      ? numberIsMzTimestamp(literal.value, negative) !== null
      : literal.type === 'string'
        ? /^\s*\d+\s*$/.test(literal.value)
          ? BigInt(literal.value.trim()) <= MZ_TIMESTAMP_MAX
          : /^\s*\d{4}-\d{2}-\d{2}/.test(literal.value)
        : literal.type !== 'word';
  if (literal.type === 'word' && literal.value !== 'null') {
    // A name: no column is in scope after the query (as_of.slt: `AS OF a`).
    return { refusal: { message: `column "${literal.value}" does not exist`, code: '42703' } };
  }
  if (!castable) return { refusal: { message: 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value', code: '22023' } };
  const atLeast = first !== index + 2;
  const milliseconds =
    literal.type === 'number' ? numberIsMzTimestamp(literal.value, negative) : literal.type === 'string' && /^\s*\d+\s*$/.test(literal.value) ? BigInt(literal.value.trim()) : null;
  if (atLeast || milliseconds === null) return { edit };
  const start = tokens[0]!.start;
  const setting = `set_config('mz_local.as_of', statement_timestamp()::text || '|${milliseconds}', true)`;
  return {
    prefix: { start, end: start, text: `SELECT mz_as_of_q.* FROM (SELECT ${setting} AS mz_as_of_set) AS mz_as_of CROSS JOIN LATERAL (SELECT * FROM (` },
    edit: { ...edit, text: `) AS mz_as_of_query WHERE mz_as_of.mz_as_of_set IS NOT NULL OFFSET 0) AS mz_as_of_q` },
  };
}

/** The whole number of milliseconds from 0 to 2^64 - 1 a number literal is (`192741824E4` is one, `1.2` and `1E38` are not), or null. */
function numberIsMzTimestamp(text: string, negative: boolean): bigint | null {
  const match = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return null;
  const exponent = Number(match[3] ?? 0);
  let digits = (match[1] ?? '') + (match[2] ?? '');
  let scale = (match[2] ?? '').length - exponent;
  digits = digits.replace(/^0+/, '');
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  if (digits === '') return 0n; // zero, whatever its sign
  if (negative || scale > 0 || digits.length - scale > 20) return null;
  const value = BigInt(digits) * 10n ** BigInt(-scale);
  return value <= MZ_TIMESTAMP_MAX ? value : null;
}
