/**
 * What exists in the target's catalog, for the models the state does not know: an object created
 * by a deploy that stopped before recording it, or by hand. Read from mz_catalog views that
 * Materialize and the local server both have; user objects only (ids starting with 'u').
 */
import { catalogKey } from './deploy-plan.ts';
import type { SqlSession } from './sql-session.ts';

const RELATIONS = [
  ['mz_sources', 'source'],
  ['mz_views', 'view'],
  ['mz_materialized_views', 'materialized_view'],
  ['mz_secrets', 'secret'],
  ['mz_connections', 'connection'],
] as const;

export async function existingObjects(session: SqlSession): Promise<Set<string>> {
  const inSchemas = RELATIONS.map(
    ([view]) =>
      `SELECT s.name AS schema_name, o.name, '${view}' AS catalog
         FROM mz_catalog.${view} o
         JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id
         JOIN mz_catalog.mz_databases d ON d.id = s.database_id
        WHERE o.id LIKE 'u%' AND d.name = current_database()`,
  );
  const rows = await session.query<{ schema_name: string | null; name: string; catalog: string }>(
    [
      ...inSchemas,
      `SELECT NULL AS schema_name, name, 'mz_indexes' AS catalog FROM mz_catalog.mz_indexes WHERE id LIKE 'u%'`,
      `SELECT NULL AS schema_name, name, 'mz_clusters' AS catalog FROM mz_catalog.mz_clusters WHERE id LIKE 'u%'`,
    ].join('\nUNION ALL\n'),
  );
  const existing = new Set<string>();
  for (const row of rows.rows) {
    if (row.catalog === 'mz_indexes') existing.add(catalogKey('index', '', row.name));
    else if (row.catalog === 'mz_clusters') existing.add(catalogKey('cluster', '', row.name));
    else existing.add(catalogKey('view', row.schema_name ?? '', row.name));
  }
  return existing;
}
