/**
 * pg_catalog as clients of Materialize see it. PostgreSQL's own catalog describes PGlite: a
 * materialized view is a view there, an index is not there at all, the server's own schema is
 * listed and pg_class has lost relhasoids, which psql and drivers ask for when the server claims
 * PostgreSQL 9.5 as Materialize does (server-version.ts). A client's statement naming one of those
 * catalog relations or functions as `pg_catalog.<name>` (as psql and drivers do) reads the
 * bootstrap's mz_local.<name> instead (catalog/catalog-views.sql), built over PostgreSQL's with
 * Materialize's view of the objects. The server's own queries and functions, and bare names, still
 * see PostgreSQL's catalog.
 */
import type { StatementSpan, TextEdit, Token } from './tokens.ts';
import { isPunct } from './token-walk.ts';

/** Relations read as mz_local's: psql's \d, \dt, \dv, \dm, \di, \dn, \l and \d name use them. */
const SHADOWED_RELATIONS = new Set(['pg_class', 'pg_index', 'pg_namespace', 'pg_database', 'pg_matviews', 'pg_views']);
/** Functions called as mz_local's (they know the indexes recorded here). */
const SHADOWED_FUNCTIONS = new Set(['pg_table_is_visible', 'pg_get_indexdef']);

function isName(token: Token | undefined): token is Token {
  return token !== undefined && (token.type === 'word' || token.type === 'quoted');
}

/**
 * The edits that make a statement read its catalog names as mz_local's (none when it names none).
 * Only names qualified with pg_catalog are read so — as psql's meta-commands and drivers' metadata
 * queries write them; a bare pg_class stays PostgreSQL's, so the server's own inspection of its
 * state (mz_local's relations, in its tests and tools) sees everything.
 */
export function catalogNameEdits(statement: StatementSpan): TextEdit[] {
  const { tokens } = statement;
  const edits: TextEdit[] = [];
  for (let index = 0; index + 2 < tokens.length; index++) {
    const token = tokens[index]!;
    if (!isName(token) || token.value !== 'pg_catalog' || !isPunct(tokens[index + 1], '.') || isPunct(tokens[index - 1], '.')) continue;
    const name = tokens[index + 2]!;
    if (!isName(name)) continue;
    const call = isPunct(tokens[index + 3], '(');
    if (call ? SHADOWED_FUNCTIONS.has(name.value) : SHADOWED_RELATIONS.has(name.value) && !isPunct(tokens[index + 3], '.')) {
      edits.push({ start: token.start, end: name.end, text: `mz_local.${name.value}` });
    }
    index += 2;
  }
  return edits;
}

/**
 * Schemas that belong to the server (Materialize's system schemas, and mz_local, where the local
 * server keeps its state): a user cannot drop, rename or swap them. Materialize answers
 * "system schema '…' cannot be modified" (its catalog's ReadOnlySystemSchema error).
 */
export const SYSTEM_SCHEMAS = new Set(['mz_catalog', 'mz_internal', 'mz_local', 'pg_catalog', 'information_schema', 'mz_introspection', 'mz_unsafe']);

/** The extensions the server's functions are built on (pgcrypto's hmac, hstore for map). */
export const SERVER_EXTENSIONS = new Set(['pgcrypto', 'hstore']);

/**
 * The system schema or server extension a DROP SCHEMA, ALTER SCHEMA, DROP EXTENSION or ALTER
 * EXTENSION statement would change, if any.
 */
export function protectedTarget(statement: StatementSpan): { kind: 'schema' | 'extension'; name: string } | null {
  const tokens = statement.tokens;
  const verb = tokens[0];
  const noun = tokens[1];
  if (verb?.type !== 'word' || (verb.value !== 'drop' && verb.value !== 'alter') || noun?.type !== 'word') return null;
  if (noun.value !== 'schema' && noun.value !== 'extension') return null;
  let index = 2;
  if (verb.value === 'drop' && tokens[index]?.value === 'if' && tokens[index + 1]?.value === 'exists') index += 2;
  // DROP takes a list of names; ALTER one name (ALTER SCHEMA a SWAP WITH b names two).
  for (; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (!isName(token)) continue;
    // A database-qualified schema name (materialize.mz_catalog): the last part is the schema.
    if (isPunct(tokens[index + 1], '.')) continue;
    const name = token.type === 'quoted' ? token.value : token.value.toLowerCase();
    if (noun.value === 'schema' && SYSTEM_SCHEMAS.has(name)) return { kind: 'schema', name };
    if (noun.value === 'extension' && SERVER_EXTENSIONS.has(name)) return { kind: 'extension', name };
    if (verb.value === 'drop' && isPunct(tokens[index + 1], ',')) continue;
    if (verb.value === 'alter' && noun.value === 'schema') {
      // ALTER SCHEMA a SWAP WITH b: b is changed too.
      const swap = tokens.findIndex((candidate, at) => at > index && candidate.type === 'word' && candidate.value === 'with');
      const other = swap === -1 ? undefined : tokens[swap + 1];
      if (isName(other) && SYSTEM_SCHEMAS.has(other.type === 'quoted' ? other.value : other.value)) return { kind: 'schema', name: other.value };
    }
    return null;
  }
  return null;
}
