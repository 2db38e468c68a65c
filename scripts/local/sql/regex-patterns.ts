/**
 * Regular expression patterns too large to compile here are refused before PGlite sees them.
 *
 * PostgreSQL's regex compiler recurses once per state of the pattern's automaton (markreachable,
 * markcanreach…). Under WebAssembly that recursion runs on the JavaScript engine's stack, and a
 * pattern of some tens of kilobytes overflows it: V8 throws a RangeError ("Maximum call stack size
 * exceeded") that PGlite's execProtocolRawSync catches and drops — no ErrorResponse, no
 * ReadyForQuery, and PostgreSQL's error cleanup never runs (the next statement warns of leaked
 * resources, and the extended-protocol state of the session is lost: "unnamed prepared statement
 * does not exist"). Measured on the database thread: 40,000 literal characters compile, 60,000 do
 * not; (a|b) repeated overflows near 50,000 bytes. Materialize refuses patterns over 1 MiB with
 * "regex pattern too large (N bytes, max 1048576 bytes)" (src/repr/src/adt/regex.rs,
 * MAX_REGEX_SIZE_BEFORE_COMPILATION); the local server's limit is lower, for the reason above.
 *
 * Literal patterns are checked here; a parameter ($n) in a pattern position is checked when the
 * statement runs, by mz_local.regex_pattern (bootstrap). Patterns computed in the query (from a
 * column, repeat(), concatenation) are not seen.
 */
import { sqlLiteral, type StatementSpan, type TextEdit, type Token } from './tokens.ts';

export const LOCAL_MAX_REGEX_BYTES = 32 * 1024;
export const MATERIALIZE_MAX_REGEX_BYTES = 1024 * 1024;

const REGEX_OPERATORS = new Set(['~', '~*', '!~', '!~*']);
const encoder = new TextEncoder();

export function regexTooLargeMessage(bytes: number): string {
  return `regex pattern too large (${bytes} bytes, max ${LOCAL_MAX_REGEX_BYTES} bytes): the local server's regular expression engine cannot compile longer patterns (Materialize allows ${MATERIALIZE_MAX_REGEX_BYTES} bytes)`;
}

/** Where a token is a pattern: after a regex operator, SIMILAR TO, or as a later argument of regexp_*(). */
function patternPositions(tokens: readonly Token[]): number[] {
  const positions: number[] = [];
  const calls: Array<string | null> = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const previous = tokens[index - 1];
    if (token.type === 'punct' && token.value === '(') {
      calls.push(previous?.type === 'word' ? previous.value : null);
      continue;
    }
    if (token.type === 'punct' && token.value === ')') {
      calls.pop();
      continue;
    }
    if (token.type !== 'string' && token.type !== 'param') continue;
    const afterOperator = previous?.type === 'operator' && REGEX_OPERATORS.has(previous.value);
    const afterSimilarTo = previous?.type === 'word' && previous.value === 'to' && tokens[index - 2]?.value === 'similar';
    const call = calls[calls.length - 1];
    const regexArgument = previous?.type === 'punct' && previous.value === ',' && typeof call === 'string' && call.startsWith('regexp_');
    if (afterOperator || afterSimilarTo || regexArgument) positions.push(index);
  }
  return positions;
}

/** The size of the first literal pattern over the limit, or null. */
export function tooLargeRegexLiteral(statement: StatementSpan): number | null {
  for (const index of patternPositions(statement.tokens)) {
    const token = statement.tokens[index]!;
    if (token.type !== 'string' || token.value.length <= LOCAL_MAX_REGEX_BYTES / 4) continue;
    const bytes = encoder.encode(token.value).length;
    if (bytes > LOCAL_MAX_REGEX_BYTES) return bytes;
  }
  return null;
}

/** The edits that check each parameter in a pattern position when the statement runs. */
export function regexParameterEdits(statement: StatementSpan): TextEdit[] {
  return patternPositions(statement.tokens)
    .map((index) => statement.tokens[index]!)
    .filter((token) => token.type === 'param')
    .map((token) => ({ start: token.start, end: token.end, text: `mz_local.regex_pattern(${token.value})` }));
}

/** The bootstrap's run-time check (see above). */
export const REGEX_PATTERN_SQL = String.raw`
CREATE OR REPLACE FUNCTION mz_local.regex_pattern(pattern text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
  IF octet_length(pattern) > ${LOCAL_MAX_REGEX_BYTES} THEN
    RAISE EXCEPTION USING MESSAGE = format(${sqlLiteral(regexTooLargeMessage(0).replace('(0 bytes', '(%s bytes'))}, octet_length(pattern)), ERRCODE = '54000';
  END IF;
  RETURN pattern;
END
$fn$;
`;
