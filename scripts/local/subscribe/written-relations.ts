/**
 * Which relations a client's statement writes, told from its text, so that the subscription hub
 * recomputes only the subscribed queries that read one of them (subscription-hub.ts): a plain
 * `INSERT INTO t`, `UPDATE [ONLY] t`, `DELETE FROM [ONLY] t` or `TRUNCATE [TABLE] [ONLY] t, …`
 * writes those tables alone. Anything else — a data-modifying WITH, MERGE, COPY, a TRUNCATE …
 * CASCADE, several statements, DDL — is unknown (null): every subscribed query is recomputed.
 * Triggers, rules and functions that write elsewhere are the hub's concern (it falls back to
 * recomputing everything while the database has any of its users').
 *
 * Names are returned unqualified, as the relation's own name (a word lower-cased, a quoted
 * identifier as written): the hub matches them against the names of the relations a query scans,
 * so a name in another schema only costs a recompute, never a missed change.
 */
import { tokenize, type Token } from '../sql/tokens.ts';

export function writtenRelations(sql: string): string[] | null {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return null;
  }
  // One statement only (a trailing semicolon allowed).
  while (tokens.length > 0 && isPunct(tokens[tokens.length - 1]!, ';')) tokens = tokens.slice(0, -1);
  if (tokens.some((token) => isPunct(token, ';'))) return null;
  const word = (index: number) => (tokens[index]?.type === 'word' ? tokens[index].value : null);
  let at: number;
  switch (word(0)) {
    case 'insert':
      if (word(1) !== 'into') return null;
      at = 2;
      break;
    case 'update':
      at = word(1) === 'only' ? 2 : 1;
      break;
    case 'delete':
      if (word(1) !== 'from') return null;
      at = word(2) === 'only' ? 3 : 2;
      break;
    case 'truncate': {
      if (tokens.some((token) => token.type === 'word' && token.value === 'cascade')) return null;
      at = word(1) === 'table' ? 2 : 1;
      const names: string[] = [];
      for (;;) {
        if (word(at) === 'only') at++;
        const name = qualifiedName(tokens, at);
        if (!name) return null;
        names.push(name.name);
        at = name.next;
        if (!tokens[at] || !isPunct(tokens[at]!, ',')) break;
        at++;
      }
      return names;
    }
    default:
      return null;
  }
  const name = qualifiedName(tokens, at);
  return name ? [name.name] : null;
}

/** `a`, `a.b` or `a.b.c` from `at`: the last part, and where the name ends. */
function qualifiedName(tokens: readonly Token[], at: number): { name: string; next: number } | null {
  let name: string | null = null;
  let index = at;
  for (;;) {
    const token = tokens[index];
    if (!token || (token.type !== 'word' && token.type !== 'quoted')) return null;
    name = token.value;
    index++;
    const dot = tokens[index];
    if (!dot || !isPunct(dot, '.')) break;
    index++;
  }
  return name === null ? null : { name, next: index };
}

function isPunct(token: Token, value: string): boolean {
  return (token.type === 'punct' || token.type === 'operator') && token.value === value;
}
