/**
 * The bootstrap: the SQL that turns a fresh PGlite database into the local stand-in for Materialize,
 * read from this folder's .sql files in the order below and run as one script (engine/engine.ts).
 *
 * Every statement is idempotent (IF NOT EXISTS / OR REPLACE). The engine names a bootstrapped
 * database by BOOTSTRAP_VERSION and a hash of BOOTSTRAP_SQL, so editing any part (or bumping the
 * version) reruns the bootstrap on existing data directories and rebuilds the cached template.
 */
import { readFileSync } from 'node:fs';
import { REGEX_PATTERN_SQL } from '../sql/regex-patterns.ts';

export const BOOTSTRAP_VERSION = 8;

/** The version of the view planner (views/plan-kept-views.ts): views an older one planned are planned again at start. */
export const PLAN_VERSION = 7;

function part(file: string): string {
  return readFileSync(new URL(file, import.meta.url), 'utf8').replaceAll('{{PLAN_VERSION}}', String(PLAN_VERSION));
}

export const BOOTSTRAP_SQL = [
  part('core.sql'), // schemas, extensions, the catalog's tables and the functions behind the DDL
  part('kept-views.sql'), // kept materialized views (views/)
  part('catalog-views.sql'), // mz_catalog's relations, which use the functions above
  REGEX_PATTERN_SQL, // built from the limits in sql/regex-patterns.ts, which the translator shares
  part('blue-green.sql'), // SWAP, hydration and lag relations
  part('materialize-functions.sql'), // Materialize's functions PostgreSQL lacks or answers otherwise
  part('lists-and-maps.sql'), // list (on arrays) and map (on hstore): functions, aggregates, constructors' helpers
  part('finish.sql'),
].join('\n');
