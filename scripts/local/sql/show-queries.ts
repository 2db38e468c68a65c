/**
 * The SELECTs behind Materialize's SHOW statements, with Materialize's column names and order
 * (doc/user/content/sql/show-*.md): every listing ends in a `comment` column, `LIKE 'pattern'`
 * filters on the first column and `WHERE …` on any of them.
 */
import type { QualifiedName, ShowableType, ShowCreateType, ShowFilter } from './mz-statements.ts';
import { sqlIdentifier, sqlLiteral } from './tokens.ts';

/** The columns of an index's relation, in order, as a text array: the key Materialize gives a default index. */
const DEFAULT_INDEX_KEY = `(SELECT array_agg(a.attname::text ORDER BY a.attnum)::text FROM pg_attribute a WHERE a.attrelid = i.on_relid AND a.attnum > 0 AND NOT a.attisdropped)`;

interface Listing {
  /** The query, with its columns named as Materialize names them. */
  readonly select: string;
  readonly orderBy: string;
}

function literalOrNull(value: string | null | undefined): string {
  return value === null || value === undefined ? 'NULL' : sqlLiteral(value);
}

function objectListing(objectType: string, columns: string, schema: string | null, cluster: string | null): Listing {
  const filters = [`object_type = ${sqlLiteral(objectType)}`, `schema_name = ${schema ? sqlLiteral(schema) : 'current_schema()'}`];
  if (cluster) filters.push(`cluster = ${sqlLiteral(cluster)}`);
  return { select: `SELECT ${columns}, ''::text AS comment FROM mz_local.show_objects WHERE ${filters.join(' AND ')}`, orderBy: 'name' };
}

function listing(what: ShowableType, schema: string | null, cluster: string | null, on?: QualifiedName): Listing {
  switch (what) {
    case 'sources':
      return objectListing('source', 'name, type, cluster', schema, cluster);
    case 'materialized views':
      return objectListing('materialized view', 'name, cluster', schema, cluster);
    case 'connections':
      return objectListing('connection', 'name, type', schema, cluster);
    case 'views':
    case 'secrets':
    case 'tables':
      return objectListing(what.replace(/s$/, ''), 'name', schema, cluster);
    case 'indexes': {
      // SHOW INDEXES ON x: the indexes on x, wherever x is (an unknown x fails as an unknown name).
      const filters = on
        ? [`i.on_relid = ${sqlLiteral([on.schema, on.name].filter((part): part is string => part !== null).map((part) => sqlIdentifier(part)).join('.'))}::regclass`]
        : [`i.schema_name = ${schema ? sqlLiteral(schema) : 'current_schema()'}`];
      if (cluster) filters.push(`i.cluster_name = ${sqlLiteral(cluster)}`);
      return {
        // A default index is keyed by every column of its relation (materialized_views.slt: `{?column?}`).
        select: `SELECT i.name, c.relname::text AS "on", i.cluster_name AS cluster, coalesce('{' || i.key_sql || '}', ${DEFAULT_INDEX_KEY}, '{}') AS key, ''::text AS comment
                   FROM mz_local.indexes i JOIN pg_class c ON c.oid = i.on_relid WHERE ${filters.join(' AND ')}`,
        orderBy: 'name',
      };
    }
    case 'objects':
      return {
        // Materialize spells the kinds here as its catalog does: materialized-view (materialized_views.slt).
        select: `SELECT name, replace(object_type, ' ', '-') AS type, ''::text AS comment FROM mz_local.show_objects
                  WHERE schema_name = ${schema ? sqlLiteral(schema) : 'current_schema()'}`,
        orderBy: 'name',
      };
    case 'clusters':
      return {
        select: `SELECT c.name, coalesce(string_agg(r.name || ' (' || coalesce(r.size, '') || ')', ', ' ORDER BY r.name), '') AS replicas, ''::text AS comment
                   FROM mz_local.clusters c LEFT JOIN mz_local.cluster_replicas r ON r.cluster_id = c.id GROUP BY c.name`,
        orderBy: 'name',
      };
    case 'cluster replicas':
      return {
        select: `SELECT c.name AS cluster, r.name AS replica, r.size, true AS ready, ''::text AS comment
                   FROM mz_local.cluster_replicas r JOIN mz_local.clusters c ON c.id = r.cluster_id`,
        orderBy: 'cluster, replica',
      };
    case 'schemas':
      return {
        select: `SELECT name, ''::text AS comment FROM mz_catalog.mz_schemas`,
        orderBy: 'name',
      };
    case 'databases':
      return { select: `SELECT name, ''::text AS comment FROM mz_catalog.mz_databases`, orderBy: 'name' };
  }
}

export function showQuery(what: ShowableType, schema: string | null, cluster: string | null, filter: ShowFilter, on?: QualifiedName): string {
  return filtered(listing(what, schema, cluster, on), filter);
}

function filtered(list: Listing, filter: ShowFilter): string {
  if (!filter) return `${list.select} ORDER BY ${list.orderBy}`;
  const firstColumn = list.orderBy.split(',')[0]!.trim();
  const condition = 'like' in filter ? `${firstColumn} LIKE ${sqlLiteral(filter.like)}` : filter.where;
  return `SELECT * FROM (${list.select}) AS show WHERE ${condition} ORDER BY ${list.orderBy}`;
}

/**
 * SHOW COLUMNS: name, nullable, type (Materialize's type names: map for maps), comment. The relation
 * is resolved once, in a subquery: compared with the (volatile) function itself, every row of
 * pg_attribute called it (~150 ms a SHOW COLUMNS, against ~2 ms).
 */
export function showColumnsQuery(relation: QualifiedName, filter: ShowFilter): string {
  const columns = `SELECT a.attname::text AS name, NOT a.attnotnull AS nullable, mz_local.type_name(a.atttypid, a.atttypmod) AS type, ''::text AS comment, a.attnum
                     FROM pg_attribute a
                    WHERE a.attrelid = (SELECT mz_local.relation_for_show(${literalOrNull(relation.database)}, ${literalOrNull(relation.schema)}, ${sqlLiteral(relation.name)}))
                      AND a.attnum > 0 AND NOT a.attisdropped`;
  const condition = !filter ? 'true' : 'like' in filter ? `name LIKE ${sqlLiteral(filter.like)}` : filter.where;
  return `SELECT name, nullable, type, comment FROM (${columns}) AS show WHERE ${condition} ORDER BY attnum`;
}

/** SHOW CREATE …: `name` fully qualified, `create_sql` with quoted, fully qualified names. */
export function showCreateQuery(objectType: ShowCreateType, name: QualifiedName): string {
  return `SELECT name, create_sql FROM mz_local.show_create(${sqlLiteral(objectType)}, ${literalOrNull(name.database)}, ${literalOrNull(name.schema)}, ${sqlLiteral(name.name)})`;
}
