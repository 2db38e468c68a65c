/**
 * `LIST[…]` and `LIST(SELECT …)` as PostgreSQL expressions (README.md). An element that is itself a
 * list (a bracket without the keyword, `LIST[…]`, any expression that turns out to be an array) is
 * passed through mz_local.list_wrap, which wraps an array into the row a list of lists holds and
 * hands a scalar back as it is; so `LIST[[1], [2, 3]]` is ragged, and `LIST[a, b]` over two list
 * columns is their list, as in Materialize. Only insertions around the elements: the elements'
 * own tokens (subscripts, inner constructors, casts) are rewritten by the dialect's pass as usual.
 */
import type { TextEdit, Token } from '../tokens.ts';
import { closingBracket, isPunct, isWord } from '../token-walk.ts';

const WRAP = 'mz_local.list_wrap(';

/** A constant that PostgreSQL types from its context (a bare string, NULL, a parameter), or a number. */
function isBareConstant(tokens: readonly Token[], from: number, to: number): boolean {
  if (to === from) {
    const token = tokens[from]!;
    return token.type === 'string' || token.type === 'number' || token.type === 'param' || isWord(token, 'null') || isWord(token, 'true') || isWord(token, 'false');
  }
  return to === from + 1 && tokens[from]!.type === 'operator' && tokens[from]!.value === '-' && tokens[to]!.type === 'number';
}

/** The edits for the elements between the brackets at `open` and `close` (a list's own brackets). */
function elementEdits(tokens: readonly Token[], open: number, close: number, edits: TextEdit[]): void {
  let from = open + 1;
  let depth = 0;
  for (let index = open + 1; index <= close; index++) {
    const token = tokens[index]!;
    if (index < close && token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
    else if (index < close && token.type === 'punct' && (token.value === ')' || token.value === ']')) depth--;
    if (index !== close && !(depth === 0 && isPunct(token, ','))) continue;
    const to = index - 1;
    if (to >= from) elementEdit(tokens, from, to, edits);
    from = index + 1;
  }
}

function elementEdit(tokens: readonly Token[], from: number, to: number, edits: TextEdit[]): void {
  const first = tokens[from]!;
  if (isPunct(first, '[') && closingBracket(tokens, from) === to) {
    // An inner list written without its keyword: `[]` is the empty list, typed by its siblings
    // (a row literal of the wrapper, whose one field is the empty array).
    if (to === from + 1) {
      edits.push({ start: first.start, end: tokens[to]!.end, text: "'({})'" });
      return;
    }
    edits.push({ start: first.start, end: first.start, text: `${WRAP}ARRAY` });
    edits.push({ start: tokens[to]!.end, end: tokens[to]!.end, text: ')' });
    elementEdits(tokens, from, to, edits);
    return;
  }
  if (isBareConstant(tokens, from, to)) return;
  edits.push({ start: first.start, end: first.start, text: WRAP });
  edits.push({ start: tokens[to]!.end, end: tokens[to]!.end, text: ')' });
}

/** The edits for `LIST[…]` (the word `list` at `index`, `[` after it). */
export function listConstructorEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const open = index + 1;
  const close = closingBracket(tokens, open);
  const keyword = tokens[index]!;
  const edits: TextEdit[] = [{ start: keyword.start, end: keyword.end, text: 'ARRAY' }];
  if (close > open + 1) elementEdits(tokens, open, close, edits);
  return edits;
}

/** The edits for `LIST(SELECT …)`: each row's value wrapped, so a query of lists makes a list of lists. */
export function listSubqueryEdits(tokens: readonly Token[], index: number): TextEdit[] {
  const open = index + 1;
  const close = closingBracket(tokens, open);
  if (close < 0) return [];
  return [
    { start: tokens[index]!.start, end: tokens[open]!.end, text: `ARRAY(SELECT ${WRAP}mz_list.v) FROM (` },
    { start: tokens[close]!.start, end: tokens[close]!.start, text: ') AS mz_list(v)' },
  ];
}
