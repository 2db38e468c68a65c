/**
 * `IGNORE NULLS` / `RESPECT NULLS` on lag, lead, first_value and last_value (Materialize's window
 * functions page, doc/user/content/sql/functions/_index.md), which PostgreSQL 17 does not parse.
 * RESPECT NULLS is the default and is dropped. IGNORE NULLS is rewritten over array_agg of the
 * non-NULL values in the window's frame (catalog/materialize-functions.sql has the helpers):
 *
 * - first_value(x) IGNORE NULLS OVER (w) → the first non-NULL value of the frame;
 * - last_value(x) IGNORE NULLS OVER (w) → the last non-NULL value of the frame;
 * - lag(x [, n [, d]]) IGNORE NULLS OVER (w) → the n-th non-NULL value before the row (ROWS from
 *   the partition's start to the row before), else d; lead likewise after the row.
 *
 * Each window costs an array per row (quadratic in a partition's size); fine for local data.
 */
import type { TextEdit, Token } from './tokens.ts';
import { closingParen, isPunct, isWord } from './token-walk.ts';

export const NULLS_WINDOW_FUNCTIONS = new Set(['lag', 'lead', 'first_value', 'last_value']);

/** The edit for `fn(args) IGNORE|RESPECT NULLS OVER (…)` at `index` (the function's name), and the last token it covers. */
export function windowNullsEdit(tokens: readonly Token[], index: number, sql: string, rewrite: (text: string) => string): { edit: TextEdit; last: number } | null {
  const name = tokens[index]!.value;
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const close = closingParen(tokens, index + 1);
  const mode = tokens[close + 1];
  if (close < 0 || !(isWord(mode, 'ignore') || isWord(mode, 'respect')) || !isWord(tokens[close + 2], 'nulls')) return null;
  if (mode!.value === 'respect') return { edit: { start: mode!.start, end: tokens[close + 2]!.end, text: '' }, last: close + 2 };
  if (!isWord(tokens[close + 3], 'over') || !isPunct(tokens[close + 4], '(')) return null;
  const windowOpen = close + 4;
  const windowClose = closingParen(tokens, windowOpen);
  if (windowClose < 0) return null;
  // The arguments, split at top-level commas.
  const args: string[] = [];
  let depth = 0;
  let start = index + 2;
  for (let at = index + 2; at <= close; at++) {
    const token = tokens[at]!;
    if (token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
    else if (token.type === 'punct' && (token.value === ')' || token.value === ']') && at !== close) depth--;
    if ((depth === 0 && isPunct(token, ',')) || at === close) {
      if (at > start) args.push(rewrite(sql.slice(tokens[start]!.start, tokens[at - 1]!.end)));
      start = at + 1;
    }
  }
  if (args.length === 0) return null;
  const value = `(${args[0]})`;
  const window = rewrite(sql.slice(tokens[windowOpen + 1]?.start ?? tokens[windowClose]!.start, tokens[windowClose]!.start)).trim();
  const values = (frame: string) => `array_agg(${value}) FILTER (WHERE ${value} IS NOT NULL) OVER (${window}${frame})`;
  let text: string;
  if (name === 'first_value' || name === 'last_value') {
    if (args.length !== 1) return null;
    text = name === 'first_value' ? `(${values('')})[1]` : `mz_local.last_element(${values('')})`;
  } else {
    // lag/lead look past any frame: only a window without one can take the frame they need.
    for (let at = windowOpen + 1; at < windowClose; at++) {
      if (isWord(tokens[at], 'rows') || isWord(tokens[at], 'range') || isWord(tokens[at], 'groups')) return null;
    }
    const offset = args[1] ?? '1';
    const found =
      name === 'lag'
        ? `mz_local.nth_from_end(${values(' ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING')}, ${offset})`
        : `(${values(' ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING')})[${offset}]`;
    text = args[2] === undefined ? found : `coalesce(${found}, ${args[2]})`;
  }
  return { edit: { start: tokens[index]!.start, end: tokens[windowClose]!.end, text }, last: windowClose };
}
