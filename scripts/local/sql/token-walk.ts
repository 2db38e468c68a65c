/**
 * Small questions about a statement's tokens (tokens.ts) that every rewrite of sql/ asks: is this
 * token that punctuation or that word, and where is the parenthesis that closes or encloses it.
 */
import type { Token } from './tokens.ts';

export function isPunct(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.type === 'punct' && token.value === value;
}

/** A bare word (keywords and unquoted names, lower-cased by the tokenizer), optionally this one. */
export function isWord(token: Token | undefined, value?: string): boolean {
  return token !== undefined && token.type === 'word' && (value === undefined || token.value === value);
}

/** The index of the `)` closing the `(` at `open`, or -1. */
export function closingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.type !== 'punct') continue;
    if (token.value === '(') depth++;
    else if (token.value === ')' && --depth === 0) return index;
  }
  return -1;
}

/** The index of the bracket closing the one at `open` (`(` or `[`), or -1. */
export function closingBracket(tokens: readonly Token[], open: number): number {
  const opening = tokens[open]!.value;
  const closing = opening === '(' ? ')' : ']';
  let depth = 0;
  for (let index = open; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.type !== 'punct') continue;
    if (token.value === opening) depth++;
    else if (token.value === closing && --depth === 0) return index;
  }
  return -1;
}

/** The index of the `(` enclosing `at`, or -1. */
export function enclosingParen(tokens: readonly Token[], at: number): number {
  let depth = 0;
  for (let index = at - 1; index >= 0; index--) {
    const token = tokens[index]!;
    if (token.type !== 'punct') continue;
    if (token.value === ')') depth++;
    else if (token.value === '(' && depth-- === 0) return index;
  }
  return -1;
}

/** The token naming the type a string literal at `index` is cast to: `'x'::t` or `CAST('x' AS t)`. */
export function castTypeOf(tokens: readonly Token[], index: number): Token | undefined {
  const next = tokens[index + 1];
  if (next?.type === 'operator' && next.value === '::') return tokens[index + 2];
  if (isWord(next, 'as') && isPunct(tokens[index - 1], '(') && isWord(tokens[index - 2], 'cast')) return tokens[index + 2];
  return undefined;
}
