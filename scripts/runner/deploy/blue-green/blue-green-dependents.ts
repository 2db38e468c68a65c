/**
 * Which objects depend on which, on the target: what a blue/green deploy must know so that it never
 * takes along objects that are not the project's. A view, materialized view, index or sink made by
 * hand over a swapped object follows that object (by id) into the old-side schema at the swap, and
 * dropping the old version would drop it too; so such objects are found before any DDL and the
 * deploy refused, and the old version is dropped object by object, then the empty schema and
 * cluster, never with CASCADE.
 *
 * Materialize lists dependencies in `mz_internal.mz_object_dependencies`. The local server has no
 * such relation; its views are PostgreSQL views, whose dependencies PostgreSQL records in
 * `pg_depend` (a materialized view reads its definition through a view in `mz_local`, which the
 * closure below walks through like any object). Index → relation edges come from `mz_indexes`,
 * which both have.
 */
import { quoteIdentifier } from '../../../shared/sql-scan.ts';
import type { SqlSession } from '../sql-session.ts';

export interface GraphObject {
  readonly id: string;
  readonly name: string;
  /** Materialize's type: view, materialized-view, index, sink, table, source, … */
  readonly type: string;
  readonly schema: string | null;
  readonly database: string | null;
  readonly cluster: string | null;
  /** In the session's database (the one deploys create in). */
  readonly inCurrentDatabase: boolean;
}

export interface ObjectGraph {
  /** Every user object, by id. */
  readonly objects: ReadonlyMap<string, GraphObject>;
  /** id → ids it reads directly (user ids only; ids of the local server's internal views included). */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  /** id → ids reading it directly. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

const UNKNOWN_RELATION = '42P01';

export async function readObjectGraph(session: SqlSession): Promise<ObjectGraph> {
  const objects = await session.query<{ id: string; name: string; type: string; schema_name: string | null; database_name: string | null; cluster: string | null; current: boolean }>(
    `SELECT o.id, o.name, o.type, s.name AS schema_name, d.name AS database_name, c.name AS cluster,
            coalesce(d.name = current_database(), false) AS current
       FROM mz_catalog.mz_objects o
       LEFT JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id
       LEFT JOIN mz_catalog.mz_databases d ON d.id = s.database_id
       LEFT JOIN mz_catalog.mz_clusters c ON c.id = o.cluster_id
      WHERE o.id LIKE 'u%'`,
  );
  const edges: Array<{ object_id: string; referenced_object_id: string }> = [];
  edges.push(...(await session.query<{ object_id: string; referenced_object_id: string }>(`SELECT id AS object_id, on_id AS referenced_object_id FROM mz_catalog.mz_indexes WHERE id LIKE 'u%'`)).rows);
  try {
    edges.push(
      ...(
        await session.query<{ object_id: string; referenced_object_id: string }>(
          `SELECT object_id, referenced_object_id FROM mz_internal.mz_object_dependencies WHERE object_id LIKE 'u%' AND referenced_object_id LIKE 'u%'`,
        )
      ).rows,
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNKNOWN_RELATION) throw error;
    // The local server: PostgreSQL's own record of what each view's query reads.
    edges.push(
      ...(
        await session.query<{ object_id: string; referenced_object_id: string }>(
          `SELECT DISTINCT 'u' || w.ev_class AS object_id, 'u' || d.refobjid AS referenced_object_id
             FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid
            WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
              AND d.refobjid <> w.ev_class`,
        )
      ).rows,
    );
  }
  const dependencies = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.object_id === edge.referenced_object_id) continue;
    const out = dependencies.get(edge.object_id) ?? [];
    if (!out.includes(edge.referenced_object_id)) out.push(edge.referenced_object_id);
    dependencies.set(edge.object_id, out);
    const back = dependents.get(edge.referenced_object_id) ?? [];
    if (!back.includes(edge.object_id)) back.push(edge.object_id);
    dependents.set(edge.referenced_object_id, back);
  }
  return {
    objects: new Map(
      objects.rows.map((row) => [
        row.id,
        { id: row.id, name: row.name, type: row.type, schema: row.schema_name, database: row.database_name, cluster: row.cluster, inCurrentDatabase: row.current === true },
      ]),
    ),
    dependencies,
    dependents,
  };
}

/** `database.schema.name`, as users name it anywhere. */
export function qualifiedName(object: GraphObject): string {
  return [object.database, object.schema, object.name].filter((part): part is string => part !== null).join('.');
}

/** `view`, `materialized view`, … */
export function typeName(object: { type: string }): string {
  return object.type.replace(/-/g, ' ');
}

/** Objects of the session's database in one of `schemas`. */
export function objectsIn(graph: ObjectGraph, schemas: ReadonlySet<string>): GraphObject[] {
  return [...graph.objects.values()].filter((object) => object.inCurrentDatabase && object.schema !== null && schemas.has(object.schema));
}

export interface ForeignDependent {
  readonly object: GraphObject;
  /** The objects of the set it reads, directly or through objects outside the set. */
  readonly reads: readonly GraphObject[];
}

/**
 * The objects that read (directly or through others) one of `roots`, and for which `isOwn` is
 * false: what would follow them and be lost with them.
 */
export function foreignDependents(graph: ObjectGraph, roots: Iterable<string>, isOwn: (object: GraphObject) => boolean): ForeignDependent[] {
  const rootSet = new Set(roots);
  const reached = new Set<string>();
  const queue = [...rootSet];
  while (queue.length) {
    const id = queue.pop()!;
    for (const dependent of graph.dependents.get(id) ?? []) {
      if (reached.has(dependent) || rootSet.has(dependent)) continue;
      reached.add(dependent);
      queue.push(dependent);
    }
  }
  const found: ForeignDependent[] = [];
  for (const id of reached) {
    const object = graph.objects.get(id);
    if (!object || isOwn(object)) continue;
    // What of the set it reads: walk its dependencies, stopping at the set.
    const reads = new Set<string>();
    const seen = new Set<string>([id]);
    const walk = [id];
    while (walk.length) {
      for (const dependency of graph.dependencies.get(walk.pop()!) ?? []) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        if (rootSet.has(dependency)) reads.add(dependency);
        else walk.push(dependency);
      }
    }
    found.push({ object, reads: [...reads].map((read) => graph.objects.get(read)!).filter(Boolean).sort(byName) });
  }
  return found.sort((a, b) => byName(a.object, b.object));
}

function byName(a: GraphObject, b: GraphObject): number {
  const left = qualifiedName(a);
  const right = qualifiedName(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * `objects` ordered so that each comes before everything it reads (transitively, through objects
 * not in the list too): each can then be dropped without CASCADE. Ties: indexes first, then by name.
 */
export function dropOrder<T extends { readonly id: string; readonly type: string; readonly name: string }>(objects: readonly T[], dependencies: ReadonlyMap<string, readonly string[]>): T[] {
  const ids = new Set(objects.map((object) => object.id));
  // For each object, the listed objects it reads, through unlisted ones if need be.
  const reads = new Map<string, Set<string>>();
  for (const object of objects) {
    const found = new Set<string>();
    const seen = new Set<string>([object.id]);
    const walk = [object.id];
    while (walk.length) {
      for (const dependency of dependencies.get(walk.pop()!) ?? []) {
        if (seen.has(dependency)) continue;
        seen.add(dependency);
        if (ids.has(dependency)) found.add(dependency);
        walk.push(dependency);
      }
    }
    reads.set(object.id, found);
  }
  // Read by nobody left → droppable now.
  const readers = new Map<string, number>(objects.map((object) => [object.id, 0]));
  for (const found of reads.values()) for (const id of found) readers.set(id, readers.get(id)! + 1);
  const rank = (object: T) => (object.type === 'index' ? 0 : 1);
  const remaining = [...objects].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ordered: T[] = [];
  while (remaining.length) {
    const at = remaining.findIndex((object) => readers.get(object.id) === 0);
    // A cycle cannot happen between views; should the catalog say otherwise, keep going in name order.
    const next = remaining.splice(at === -1 ? 0 : at, 1)[0]!;
    ordered.push(next);
    for (const id of reads.get(next.id) ?? []) readers.set(id, readers.get(id)! - 1);
  }
  return ordered;
}

/** `DROP <type> IF EXISTS "schema"."name"` — never CASCADE. */
export function dropObjectStatement(object: { readonly type: string; readonly name: string }, schema: string): string {
  return `DROP ${typeName(object).toUpperCase()} IF EXISTS ${quoteIdentifier(schema)}.${quoteIdentifier(object.name)}`;
}
