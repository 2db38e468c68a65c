/**
 * `SELECT DISTINCT ON (k) …`: which row of a group is kept. Materialize keeps the first row in the
 * query's ORDER BY and breaks ties by comparing the rows themselves (its TopK orders by the ORDER
 * BY columns, then by the whole row), so a tie always keeps the smallest row; PostgreSQL keeps
 * whichever row its sort met first. with_mutually_recursive.slt (the connected-components relabel,
 * `DISTINCT ON (node) node, comp, round … ORDER BY node, comp`) reads a different fixed point when
 * the tie goes the other way.
 *
 * So the output columns are added to the sort as tie-breakers, by position:
 * `ORDER BY node, comp` → `ORDER BY node, comp, 1, 2, 3`, and a DISTINCT ON without ORDER BY gets
 * `ORDER BY k, 1, 2, …`. Materialize compares the input row, whose columns may come in another
 * order or include columns not selected: where those decide the tie, the rows kept can still
 * differ. Left alone: a select list with `*` (its columns are unknown here), and a DISTINCT ON in
 * a UNION / INTERSECT / EXCEPT branch.
 */
import type { TextEdit, Token } from './tokens.ts';
import { closingParen, enclosingParen, isPunct, isWord } from './token-walk.ts';

const SET_OPERATIONS = new Set(['union', 'intersect', 'except']);
const AFTER_ORDER_BY = new Set(['limit', 'offset', 'fetch', 'for']);

/** The edit that adds the tie-breakers for the DISTINCT at `index`, or null when none is added. */
export function distinctOnTieBreakEdit(tokens: readonly Token[], index: number, sql: string): TextEdit | null {
  if (!isWord(tokens[index - 1], 'select') || !isWord(tokens[index + 1], 'on') || !isPunct(tokens[index + 2], '(')) return null;
  const keysClose = closingParen(tokens, index + 2);
  if (keysClose < 0 || keysClose === index + 3) return null;
  const open = enclosingParen(tokens, index - 1);
  const levelEnd = open < 0 ? tokens.length : closingParen(tokens, open);
  if (levelEnd < 0) return null;
  let selectEnd = -1;
  let orderBy = -1;
  let orderEnd = levelEnd;
  for (let at = keysClose + 1, depth = 0; at < levelEnd; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth !== 0 || token.type !== 'word') continue;
    else if (SET_OPERATIONS.has(token.value)) return null;
    else if (token.value === 'from' && selectEnd < 0) selectEnd = at;
    else if (token.value === 'order' && isWord(tokens[at + 1], 'by') && orderBy < 0) orderBy = at;
    else if (AFTER_ORDER_BY.has(token.value) && orderEnd === levelEnd) orderEnd = at;
  }
  const columns = selectListSize(tokens, keysClose + 1, selectEnd < 0 ? (orderBy < 0 ? orderEnd : orderBy) : selectEnd);
  if (columns === 0) return null;
  const positions = Array.from({ length: columns }, (_, position) => String(position + 1)).join(', ');
  if (orderBy >= 0) {
    if (orderEnd <= orderBy + 2) return null;
    const last = tokens[orderEnd - 1]!;
    return { start: last.end, end: last.end, text: `, ${positions}` };
  }
  const keys = sql.slice(tokens[index + 3]!.start, tokens[keysClose - 1]!.end);
  const at = tokens[orderEnd - 1]!.end;
  return { start: at, end: at, text: ` ORDER BY ${keys}, ${positions}` };
}

/** The number of items of a select list (tokens from..to), or 0 when one is a `*`. */
function selectListSize(tokens: readonly Token[], from: number, to: number): number {
  if (to <= from) return 0;
  let items = 1;
  for (let at = from, depth = 0; at < to; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0 && isPunct(token, ',')) items++;
    else if (depth === 0 && token.type === 'operator' && token.value === '*' && (at === from || isPunct(tokens[at - 1], ',') || isPunct(tokens[at - 1], '.'))) return 0;
  }
  return items;
}
