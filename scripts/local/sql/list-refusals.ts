/**
 * List statements Materialize refuses and the local server's arrays would run (list.slt). A list
 * is a PostgreSQL array here, and arrays have no fixed depth: `LIST[1,2][1][1]` is NULL and
 * `LIST[1]::int list list` is `{1}`, where Materialize knows the depth from the type. The depth is
 * known from the text only for a literal of integer constants, so only those are refused:
 *
 * - an index past the last layer: "cannot index into integer"; a slice there: "cannot subscript
 *   type integer" (list.slt at 6cc6493d, Materialize's current file);
 * - a slice with more layers than the list: "cannot slice into 2 layers; list only has 1 layer";
 * - a cast to a deeper integer list: "LIST could not convert type integer to integer list";
 * - integer constants beside lists of them: "LIST types integer and integer list cannot be matched";
 * - a text literal cast to a list with more leading braces than the list has layers
 *   (`'{{1}}'::int list`): "invalid input syntax for type list: unescaped '{' at beginning of element";
 * - list_prepend and list_cat with only NULL arguments, which no implementation takes in
 *   Materialize (PostgreSQL resolves them to text[]); list_append(NULL, NULL) is `{NULL}` in both;
 *   list_cat of two integer list literals of different depths; list_append / list_prepend of an
 *   integer literal and an integer list literal that are not one layer apart.
 */
import type { Token } from './tokens.ts';
import type { Refusal } from './refusal.ts';
import { closingBracket, isPunct, isWord } from './token-walk.ts';

const LIST_FUNCTIONS = new Set(['list_append', 'list_prepend', 'list_cat']);
const INTEGER_TYPES = new Set(['int', 'int4', 'integer']);

export function isListFunction(name: string): boolean {
  return LIST_FUNCTIONS.has(name);
}

/** `list_cat(NULL, NULL)` and the like: every argument a bare NULL; list_cat of two integer list literals of different depths. */
export function nullListCallRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || isPunct(tokens[index - 1], '.')) return null;
  const name = tokens[index]!.value;
  if (name === 'list_append' || name === 'list_prepend') {
    const refused = elementCallRefusal(tokens, index);
    // list_append(NULL, NULL) is `{NULL}` in Materialize; list_prepend(NULL, NULL) is refused below.
    if (refused || name === 'list_append') return refused;
  }
  if (tokens[index]!.value === 'list_cat' && isWord(tokens[index + 2], 'list')) {
    const first = integerListDepth(tokens, index + 3);
    if (first && isPunct(tokens[first.end + 1], ',') && isWord(tokens[first.end + 2], 'list')) {
      const second = integerListDepth(tokens, first.end + 3);
      if (second && isPunct(tokens[second.end + 1], ')') && second.depth !== first.depth) {
        const named = (depth: number) => `integer${' list'.repeat(depth)}`;
        return {
          message: `Cannot call function list_cat(${named(first.depth)}, ${named(second.depth)}): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts`,
          code: '42883',
        };
      }
    }
  }
  // `( NULL , NULL … )`: the tokens alternate NULL and commas up to the closing parenthesis.
  let count = 0;
  let at = index + 2;
  for (; isWord(tokens[at], 'null'); at += 2) {
    count++;
    if (!isPunct(tokens[at + 1], ',')) break;
  }
  if (count === 0 || !isPunct(tokens[at + 1], ')')) return null;
  const types = Array.from({ length: count }, () => 'unknown').join(', ');
  return {
    message: `Cannot call function ${tokens[index]!.value}(${types}): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts`,
    code: '42883',
  };
}

/**
 * `list_append(LIST[1], LIST[2])`, `list_append(1, LIST[1])`: an integer constant or integer list
 * literal where the list and its element must be one layer apart (the element one layer less),
 * which no implementation takes in Materialize (list.slt); here the wrapper rows of a list of
 * lists would take some of them. list_append(NULL, NULL) is `{NULL}` in Materialize: not refused.
 */
function elementCallRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const first = argumentDepth(tokens, index + 2);
  if (!first || !isPunct(tokens[first.end + 1], ',')) return null;
  const second = argumentDepth(tokens, first.end + 2);
  if (!second || !isPunct(tokens[second.end + 1], ')')) return null;
  const append = tokens[index]!.value === 'list_append';
  const [list, element] = append ? [first.depth, second.depth] : [second.depth, first.depth];
  if (list === element + 1) return null;
  const named = (depth: number) => `integer${' list'.repeat(depth)}`;
  return {
    message: `Cannot call function ${tokens[index]!.value}(${named(first.depth)}, ${named(second.depth)}): arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts`,
    code: '42883',
  };
}

/** An argument that is an integer constant (depth 0) or an integer list literal (`LIST[…]`), and its last token. */
function argumentDepth(tokens: readonly Token[], at: number): { depth: number; end: number } | null {
  const token = tokens[at];
  if (token?.type === 'number' && /^\d+$/.test(token.value)) return { depth: 0, end: at };
  if (isWord(token, 'list') && isPunct(tokens[at + 1], '[')) return integerListDepth(tokens, at + 1);
  return null;
}

/** `'{{1}}'::int list`: the `list` at `index` is the first of a cast of a string literal. */
export function listTextCastRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const type = tokens[index - 1];
  const cast = tokens[index - 2];
  const literal = tokens[index - 3];
  if (!isWord(type) || type!.value === 'list' || cast?.type !== 'operator' || cast.value !== '::' || literal?.type !== 'string') return null;
  let lists = 1;
  while (isWord(tokens[index + lists], 'list')) lists++;
  const leading = /^[\s{]*/.exec(literal.value)![0].replace(/\s/g, '').length;
  if (leading <= lists) return null;
  return { message: `invalid input syntax for type list: unescaped '{' at beginning of element: "${literal.value}"`, code: '22P02' };
}

/** `LIST[…]` of integer constants followed by too many subscripts, too deep a slice or a deeper cast. */
export function listLiteralRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '[') || isPunct(tokens[index - 1], '.')) return null;
  const literal = integerListDepth(tokens, index + 1);
  if (!literal) return mixedDepthRefusal(tokens, index + 1);
  let depth = literal.depth;
  let at = literal.end + 1;
  while (isPunct(tokens[at], '[')) {
    const close = closingBracket(tokens, at);
    if (close < 0) return null;
    let layers = 1;
    let slice = false;
    let nested = 0;
    for (let inner = at + 1; inner < close; inner++) {
      const token = tokens[inner]!;
      if (isPunct(token, '[') || isPunct(token, '(')) nested++;
      else if (isPunct(token, ']') || isPunct(token, ')')) nested--;
      else if (nested === 0 && isPunct(token, ':')) slice = true;
      else if (nested === 0 && isPunct(token, ',')) layers++;
    }
    if (depth === 0) return { message: slice ? 'cannot subscript type integer' : 'cannot index into integer', code: '42804' };
    if (slice && layers > depth) {
      return {
        message: `cannot slice into ${layers} layers; list only has ${depth} layer${depth === 1 ? '' : 's'}`,
        code: '42804',
      };
    }
    if (!slice) depth--;
    at = close + 1;
  }
  const cast = tokens[at];
  if (at === literal.end + 1 && cast?.type === 'operator' && cast.value === '::' && INTEGER_TYPES.has(tokens[at + 1]?.value ?? '')) {
    let lists = 0;
    while (isWord(tokens[at + 2 + lists], 'list')) lists++;
    if (lists > literal.depth) {
      return {
        message: `LIST could not convert type integer${' list'.repeat(literal.depth - 1)} to integer${' list'.repeat(lists - 1)}`,
        code: '42846',
      };
    }
  }
  return null;
}

/**
 * `LIST[1, LIST[2, 3]]`: integer constants and lists of them side by side in one literal, which
 * Materialize refuses ("LIST types integer and integer list cannot be matched", list.slt). Here the
 * inner list would be a row (lists/README.md) and PostgreSQL's words would name it.
 */
function mixedDepthRefusal(tokens: readonly Token[], open: number): Refusal | null {
  const close = closingBracket(tokens, open);
  if (close < 0) return null;
  const depths: number[] = [];
  let at = open + 1;
  while (at < close) {
    const element = isWord(tokens[at], 'list') && isPunct(tokens[at + 1], '[') ? at + 1 : at;
    if (isPunct(tokens[element], '[')) {
      const inner = integerListDepth(tokens, element);
      if (!inner) return null;
      depths.push(inner.depth);
      at = inner.end + 1;
    } else if (tokens[element]?.type === 'number' && /^\d+$/.test(tokens[element]!.value)) {
      depths.push(0);
      at = element + 1;
    } else return null;
    if (at < close && !isPunct(tokens[at++], ',')) return null;
  }
  const other = depths.find((depth) => depth !== depths[0]);
  if (other === undefined) return null;
  const named = (depth: number) => `integer${' list'.repeat(depth)}`;
  return { message: `LIST types ${named(depths[0]!)} and ${named(other)} cannot be matched`, code: '42804' };
}

/**
 * The depth of the literal whose `[` is at `open` when every element is an integer constant (or a
 * nested such literal, with or without LIST before it) at one depth; null for anything else.
 */
function integerListDepth(tokens: readonly Token[], open: number): { depth: number; end: number } | null {
  let level = 0;
  let depth = -1;
  for (let at = open; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (isPunct(token, '[')) level++;
    else if (isPunct(token, ']')) {
      if (--level === 0) return depth > 0 ? { depth, end: at } : null;
    } else if (token.type === 'number' && /^\d+$/.test(token.value)) {
      if (depth === -1) depth = level;
      else if (depth !== level) return null;
    } else if (isWord(token, 'null')) {
      // A NULL element takes the literal's depth from its siblings.
    } else if (!isPunct(token, ',') && !(isWord(token, 'list') && isPunct(tokens[at + 1], '['))) return null;
  }
  return null;
}

