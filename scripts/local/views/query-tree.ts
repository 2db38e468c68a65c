/**
 * A reader for PostgreSQL's text form of parse trees (pg_node_tree, e.g. pg_rewrite.ev_action: a
 * view's analysed query), the format of src/backend/nodes/outfuncs.c and read.c:
 *
 *   {QUERY :commandType 1 :rtable ({RANGETBLENTRY :rtekind 0 :relid 16393 …}) :havingQual <> …}
 *
 * Nodes are `{TYPE :field value …}`, lists `( … )` (integer, OID and bitmap lists start with `i`,
 * `o` or `b`), `<>` is NULL, tokens escape `(){}\` and blanks with a backslash, and a constant's
 * datum is its length then `[ bytes ]` (kept as one string here). The server reads views' query
 * trees with it to decide how a materialized view can be refreshed (keyed-refresh-plan.ts): the
 * analysed tree has every name resolved, which no text pattern over SQL can promise.
 */
export interface TreeNode {
  readonly type: string;
  readonly fields: Readonly<Record<string, TreeValue>>;
}
export type TreeValue = TreeNode | readonly TreeValue[] | string | null;

interface Token {
  readonly text: string;
  /** Punctuation ( ) { } that was not escaped. */
  readonly punctuation: boolean;
  /** Started with a backslash: never a field name or NULL. */
  readonly escaped: boolean;
}

const PUNCTUATION = new Set(['(', ')', '{', '}']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (char === ' ' || char === '\n' || char === '\t' || char === '\r') {
      index++;
      continue;
    }
    if (PUNCTUATION.has(char)) {
      tokens.push({ text: char, punctuation: true, escaped: false });
      index++;
      continue;
    }
    let value = '';
    const escaped = char === '\\';
    while (index < text.length) {
      const next = text[index]!;
      if (next === '\\' && index + 1 < text.length) {
        value += text[index + 1];
        index += 2;
        continue;
      }
      if (next === ' ' || next === '\n' || next === '\t' || next === '\r' || PUNCTUATION.has(next)) break;
      value += next;
      index++;
    }
    tokens.push({ text: value === '""' && !escaped ? '' : value, punctuation: false, escaped });
  }
  return tokens;
}

export class QueryTreeError extends Error {}

/** Parses a pg_node_tree text; throws QueryTreeError when it is not one. */
export function parseQueryTree(text: string): TreeValue {
  const tokens = tokenize(text);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const take = (): Token => {
    const token = tokens[position++];
    if (!token) throw new QueryTreeError('query tree ends early');
    return token;
  };
  const isFieldName = (token: Token | undefined): boolean => !!token && !token.punctuation && !token.escaped && token.text.startsWith(':');

  function value(): TreeValue {
    const token = take();
    if (token.punctuation && token.text === '{') return node();
    if (token.punctuation && token.text === '(') return list();
    if (token.punctuation) throw new QueryTreeError(`unexpected '${token.text}' in query tree`);
    if (!token.escaped && token.text === '<>') return null;
    return token.text;
  }

  function list(): TreeValue[] {
    const items: TreeValue[] = [];
    for (;;) {
      const next = peek();
      if (!next) throw new QueryTreeError('unterminated list in query tree');
      if (next.punctuation && next.text === ')') {
        position++;
        return items;
      }
      items.push(value());
    }
  }

  function node(): TreeNode {
    const type = take();
    if (type.punctuation) throw new QueryTreeError('node without a type in query tree');
    const fields: Record<string, TreeValue> = {};
    for (;;) {
      const next = take();
      if (next.punctuation && next.text === '}') return { type: type.text, fields };
      if (!isFieldName(next)) throw new QueryTreeError(`expected a field of ${type.text}, found '${next.text}'`);
      let fieldValue = value();
      // A datum: its length, then `[ bytes ]`, kept as one string.
      while (typeof fieldValue === 'string' && peek() && !isFieldName(peek()) && !peek()!.punctuation) fieldValue += ` ${take().text}`;
      fields[next.text.slice(1)] = fieldValue;
    }
  }

  const result = value();
  if (position !== tokens.length) throw new QueryTreeError('trailing text after the query tree');
  return result;
}

export function isNode(value: TreeValue | undefined, type?: string): value is TreeNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (type === undefined || (value as TreeNode).type === type);
}

/** A list field's items ([] for NULL, which is how an empty list is written). */
export function listOf(value: TreeValue | undefined): readonly TreeValue[] {
  return Array.isArray(value) ? value : [];
}

/** Every node of `type` anywhere under `value`, outermost first. */
export function findNodes(value: TreeValue | undefined, type: string, found: TreeNode[] = []): TreeNode[] {
  if (Array.isArray(value)) for (const item of value) findNodes(item, type, found);
  else if (isNode(value)) {
    if (value.type === type) found.push(value);
    for (const field of Object.values(value.fields)) findNodes(field, type, found);
  }
  return found;
}
