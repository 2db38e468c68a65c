/**
 * `WITH MUTUALLY RECURSIVE` (doc/user/content/sql/select/recursive-ctes.md) on PostgreSQL's
 * `WITH RECURSIVE`, for the bindings PostgreSQL can evaluate: each binding refers to itself and to
 * bindings before it, never to a later one. PostgreSQL then accepts only linear recursion (one
 * reference to itself, in the recursive term of a UNION, outside aggregates and subqueries), and for
 * such a body its iteration reaches the same fixed point as Materialize's.
 *
 * - `name (col type, …) AS (body)` → `name (col, …) AS (body)`: the declared types are dropped
 *   (PostgreSQL takes the body's);
 * - `(ERROR AT RECURSION LIMIT n)` is dropped (a body PostgreSQL accepts converges or runs on);
 * - refused, with words saying so: `RETURN AT RECURSION LIMIT` (its answer is the state after n
 *   rounds, which PostgreSQL's iteration does not have), and bindings that refer to a later
 *   binding (mutual recursion).
 */
import type { TextEdit, Token } from './tokens.ts';
import { closingParen, isPunct, isWord } from './token-walk.ts';

export type MutuallyRecursivePlan = { edits: TextEdit[]; skip: Array<[number, number]> } | { refusal: string };

/** The plan for `WITH MUTUALLY RECURSIVE` at `index` (the word `mutually`), or null when it is not one. */
export function mutuallyRecursivePlan(tokens: readonly Token[], index: number): MutuallyRecursivePlan | null {
  if (!isWord(tokens[index - 1], 'with') || !isWord(tokens[index + 1], 'recursive')) return null;
  const edits: TextEdit[] = [];
  const skip: Array<[number, number]> = [];
  let at = index + 2;
  let headerEnd = tokens[index + 1]!.end;
  if (isPunct(tokens[at], '(')) {
    const close = closingParen(tokens, at);
    if (close < 0) return null;
    const words = tokens.slice(at + 1, close).map((token) => token.value).join(' ');
    if (/^return at recursion limit\b/.test(words)) {
      return { refusal: 'WITH MUTUALLY RECURSIVE (RETURN AT RECURSION LIMIT …) is not supported by the local server; run it against Materialize' };
    }
    headerEnd = tokens[close]!.end;
    skip.push([at, close]);
    at = close + 1;
  }
  edits.push({ start: tokens[index]!.start, end: headerEnd, text: 'RECURSIVE' });
  const names: string[] = [];
  const bodies: Array<[number, number]> = [];
  for (;;) {
    const name = tokens[at];
    if (!name || !(name.type === 'word' || name.type === 'quoted') || !isPunct(tokens[at + 1], '(')) return null;
    const columnsClose = closingParen(tokens, at + 1);
    if (columnsClose < 0 || !isWord(tokens[columnsClose + 1], 'as') || !isPunct(tokens[columnsClose + 2], '(')) return null;
    // Column names: the first token after `(` and after each top-level comma.
    const columns: string[] = [];
    let depth = 0;
    let expectName = true;
    for (let column = at + 2; column < columnsClose; column++) {
      const token = tokens[column]!;
      if (expectName) {
        columns.push(token.type === 'quoted' ? `"${token.value.replace(/"/g, '""')}"` : token.value);
        expectName = false;
        continue;
      }
      if (isPunct(token, '(') || isPunct(token, '[')) depth++;
      else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
      else if (depth === 0 && isPunct(token, ',')) expectName = true;
    }
    edits.push({ start: tokens[at + 1]!.start, end: tokens[columnsClose]!.end, text: `(${columns.join(', ')})` });
    skip.push([at + 1, columnsClose]);
    names.push(name.value);
    const bodyClose = closingParen(tokens, columnsClose + 2);
    if (bodyClose < 0) return null;
    bodies.push([columnsClose + 3, bodyClose]);
    at = bodyClose + 1;
    if (!isPunct(tokens[at], ',')) break;
    at++;
  }
  // A binding may read itself and earlier bindings; a later one is mutual recursion.
  for (let binding = 0; binding < bodies.length; binding++) {
    const [from, to] = bodies[binding]!;
    for (let token = from; token < to; token++) {
      const word = tokens[token]!;
      // A relation read: after FROM or JOIN.
      if ((word.type === 'word' || word.type === 'quoted') && (isWord(tokens[token - 1], 'from') || isWord(tokens[token - 1], 'join'))) {
        const referenced = names.indexOf(word.value);
        if (referenced > binding) {
          return {
            refusal: `WITH MUTUALLY RECURSIVE where a binding reads a later one ("${names[binding]}" reads "${names[referenced]}") is not supported by the local server; run it against Materialize`,
          };
        }
      }
    }
  }
  return { edits, skip };
}
