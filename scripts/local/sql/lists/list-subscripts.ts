/**
 * A chain of subscripts on a value, `v[i][j][a:b][k]`, as calls that read them as Materialize does
 * (README.md): consecutive indexes are one mz_local.list_get(v, i, j), which unwraps a list of
 * lists layer by layer (and on an array of several dimensions indexes them all, as PostgreSQL
 * does); a slice is mz_local.list_slice(v, a, b) on the value so far, so `l[2][2:2]` slices the
 * second inner list and `l[2:3][1]` indexes the slice. Every subscript goes through
 * mz_local.list_bound (bigint as it is, numerics rounded, text parsed, dates refused in
 * Materialize's words); an open bound is 1 or the largest bigint, while a NULL bound makes the
 * slice NULL.
 *
 * A slice over several layers, `[1:2, 2:3]`, is mz_local.list_slice_layers(v, ARRAY[1, 2, 2, 3]):
 * the outer layer sliced, then each inner list.
 *
 * Only the brackets and the `:` are replaced and the call's name inserted before the value, so the
 * value's and the subscripts' own tokens are rewritten by the dialect's pass as usual.
 */
import type { TextEdit, Token } from '../tokens.ts';
import { isPunct } from '../token-walk.ts';

const LARGEST_BIGINT = '9223372036854775807';

/** One `[…]` of the chain: its brackets, the first `:` when it is a slice, and the `:`s and `,`s of a slice over layers. */
interface Subscript {
  readonly open: number;
  readonly close: number;
  readonly colon: number;
  readonly separators: number[];
}

/** The subscripts from the `[` at `open`, each ending where the next begins. */
function chainAt(tokens: readonly Token[], open: number, closing: (open: number) => number): Subscript[] | null {
  const chain: Subscript[] = [];
  for (let at = open; isPunct(tokens[at], '['); ) {
    const close = closing(at);
    if (close < 0) return null;
    let colon = -1;
    let depth = 0;
    const separators: number[] = [];
    for (let index = at + 1; index < close; index++) {
      const token = tokens[index]!;
      if (token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
      else if (token.type === 'punct' && (token.value === ')' || token.value === ']')) depth--;
      else if (depth === 0 && (isPunct(token, ':') || isPunct(token, ','))) {
        if (colon < 0 && isPunct(token, ':')) colon = index;
        separators.push(index);
      }
    }
    // A comma outside a slice (`[1, 2]`) is no subscript Materialize has: left as written.
    if (colon < 0 && separators.length > 0) return null;
    chain.push({ open: at, close, colon, separators });
    at = close + 1;
  }
  return chain;
}

/**
 * The edits for the subscripts from the `[` at `open` on the value whose text starts at `start`;
 * null when the chain is not one this reads (`[1, 2]`).
 */
export function subscriptChainEdits(tokens: readonly Token[], open: number, start: number, closing: (open: number) => number): TextEdit[] | null {
  const chain = chainAt(tokens, open, closing);
  if (!chain || chain.length === 0) return null;
  const calls: string[] = [];
  const edits: TextEdit[] = [];
  const replace = (index: number, text: string) => edits.push({ start: tokens[index]!.start, end: tokens[index]!.end, text });
  for (let at = 0; at < chain.length; at++) {
    const subscript = chain[at]!;
    if (subscript.colon < 0) {
      // Consecutive indexes: one list_get.
      const group = at === 0 || chain[at - 1]!.colon >= 0;
      if (group) calls.push('mz_local.list_get(');
      replace(subscript.open, ', mz_local.list_bound(');
      const lastOfGroup = at === chain.length - 1 || chain[at + 1]!.colon >= 0;
      replace(subscript.close, lastOfGroup ? '))' : ')');
      continue;
    }
    if (subscript.separators.length > 1) {
      // `[a:b, c:d]`: mz_local.list_slice_layers(v, ARRAY[a, b, c, d]::bigint[]).
      calls.push('mz_local.list_slice_layers(');
      const marks = [subscript.open, ...subscript.separators, subscript.close];
      for (let mark = 0; mark < marks.length; mark++) {
        const before = mark > 0 && marks[mark - 1]! + 1 < marks[mark]! ? ')' : '';
        const after = mark < marks.length - 1 && marks[mark]! + 1 < marks[mark + 1]! ? 'mz_local.list_bound(' : mark % 2 === 0 ? '1' : LARGEST_BIGINT;
        if (mark === 0) replace(marks[mark]!, `, ARRAY[${after}`);
        else if (mark === marks.length - 1) replace(marks[mark]!, `${before}]::bigint[])`);
        else replace(marks[mark]!, `${before}, ${after}`);
      }
      continue;
    }
    calls.push('mz_local.list_slice(');
    const lowerOpen = subscript.colon === subscript.open + 1;
    const upperOpen = subscript.close === subscript.colon + 1;
    replace(subscript.open, lowerOpen ? ', 1' : ', mz_local.list_bound(');
    replace(subscript.colon, `${lowerOpen ? '' : ')'}, ${upperOpen ? LARGEST_BIGINT : 'mz_local.list_bound('}`);
    replace(subscript.close, upperOpen ? ')' : '))');
  }
  // The outermost call first: the last subscript applies to everything before it.
  const prefix = calls.reverse().join('');
  return [{ start, end: start, text: prefix }, ...edits];
}
