/**
 * Validating a plan's queries before anything is dropped. A replace is DROP then CREATE: if the
 * CREATE fails (a typo in a macro), the model and everything downstream stay dropped until it is
 * fixed — marts offline in production, and in watch mode on every broken save. So before the
 * first DROP, each view and materialized view the plan creates is created as a plain view in a
 * scratch schema, in plan order, its references to other planned models pointing at their
 * scratch copies. Plain views cost nothing to create on Materialize (no dataflow), and PostgreSQL
 * checks them the same way. A failure there means the deploy changes nothing and says where.
 *
 * The scratch view keeps the compiled statement's line numbers (blank lines stand in for the
 * CREATE head), so a failure maps to the template line exactly as a real CREATE's would.
 */
import type { PlannedAction, DeployPlan } from './deploy-plan.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import { ProjectError } from '../errors.ts';
import { dropObjectStatement, dropOrder, foreignDependents, objectsIn, qualifiedName, readObjectGraph, typeName, type GraphObject } from './blue-green/blue-green-dependents.ts';
import { describeFailure, isConnectionLost, type DeployFailure } from './deploy-errors.ts';
import type { SqlSession } from './sql-session.ts';

export const SCRATCH_SCHEMA = 'segment_materialize_scratch';

const QUERY_KINDS = new Set(['view', 'materialized_view', 'test']);

export interface ValidationFailure {
  readonly action: PlannedAction;
  readonly failure: DeployFailure;
}

/** Whether the plan takes anything offline (a drop-first replace): only then is it validated. */
export function needsValidation(plan: DeployPlan): boolean {
  return plan.dropOrder.some((action) => action.action === 'replace');
}

/**
 * Creates every planned query as a scratch view; returns the failures (none: safe to apply) and
 * how many queries were checked. The scratch views are dropped again whatever happens, one by one,
 * then the emptied schema — never with CASCADE, so nothing else can go with them. `own`: names of
 * the project's models (scratch views are named after them).
 *
 * A scratch schema left by a deploy that stopped mid-validation is emptied the same way first,
 * provided it holds only such views and nothing elsewhere reads them; otherwise the deploy is
 * refused, naming what is there, before anything is created.
 */
export async function validatePlan(session: SqlSession, root: string, plan: DeployPlan, own: ReadonlySet<string> = new Set()): Promise<{ failures: ValidationFailure[]; validated: number }> {
  const planned = plan.createLevels.flat();
  const inScratch = new Map<string, string>();
  // Only what exists already (or is validated here) can be referenced: a query over a source or
  // secret this same deploy creates is checked by its real CREATE instead.
  const notYetThere = new Set(planned.filter((action) => !QUERY_KINDS.has(action.kind)).map((action) => action.model));
  const failures: ValidationFailure[] = [];
  const failedOrUnchecked = new Set<string>();
  const created: string[] = [];
  let validated = 0;
  await dropLeftoverScratch(session, new Set([...own, ...planned.map((action) => action.model)]));
  await session.query(`CREATE SCHEMA ${quoteIdentifier(SCRATCH_SCHEMA)}`);
  let failed = true;
  try {
    for (const action of planned) {
      const node = action.node!;
      if (!QUERY_KINDS.has(node.kind)) continue;
      if (node.dependsOn.some((dependency) => notYetThere.has(dependency) || failedOrUnchecked.has(dependency))) {
        failedOrUnchecked.add(node.name);
        continue;
      }
      const sql = scratchStatement(node, inScratch);
      try {
        validated++;
        await session.query(sql);
        created.push(node.name);
        inScratch.set(`${quoteIdentifier(node.schema)}.${quoteIdentifier(node.name)}`, `${quoteIdentifier(SCRATCH_SCHEMA)}.${quoteIdentifier(node.name)}`);
      } catch (error) {
        failedOrUnchecked.add(node.name);
        failures.push({ action, failure: describeFailure(root, node.name, node, sql, error) });
      }
    }
    failed = false;
  } finally {
    // Later views read earlier ones: dropped in reverse. An error here is only told when nothing
    // else already went wrong (that error is the one to see).
    try {
      for (const name of created.reverse()) await session.query(`DROP VIEW IF EXISTS ${quoteIdentifier(SCRATCH_SCHEMA)}.${quoteIdentifier(name)}`);
      await session.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(SCRATCH_SCHEMA)}`);
    } catch (error) {
      if (!failed) throw scratchNotDropped(error);
    }
  }
  return { failures, validated };
}

/** Empties and drops a scratch schema left by an earlier deploy: only scratch views nothing else reads. */
async function dropLeftoverScratch(session: SqlSession, own: ReadonlySet<string>): Promise<void> {
  const exists = await session.query<{ id: string }>(
    `SELECT s.id FROM mz_catalog.mz_schemas s JOIN mz_catalog.mz_databases d ON d.id = s.database_id WHERE s.name = $1 AND d.name = current_database()`,
    [SCRATCH_SCHEMA],
  );
  if (exists.rows.length === 0) return;
  const graph = await readObjectGraph(session);
  const scratch = new Set([SCRATCH_SCHEMA]);
  const inside = objectsIn(graph, scratch);
  const isInside = (object: GraphObject) => object.inCurrentDatabase && object.schema === SCRATCH_SCHEMA;
  const problems = [
    ...inside.filter((object) => object.type !== 'view' || !own.has(object.name)).map((object) => `it holds ${qualifiedName(object)} (${typeName(object)}), which no deploy created`),
    ...foreignDependents(
      graph,
      inside.map((object) => object.id),
      isInside,
    ).map(({ object, reads }) => `${qualifiedName(object)} (${typeName(object)}) reads ${reads.map((read) => `${read.schema}.${read.name}`).join(', ')}`),
  ];
  if (problems.length) {
    throw new ProjectError(
      `schema ${SCRATCH_SCHEMA} (where a deploy checks queries before dropping anything, left by a deploy that stopped) cannot be emptied without taking along objects that are not the deploy's: ${problems.join('; ')}`,
      undefined,
      `move or drop those objects (they must not live in or read ${SCRATCH_SCHEMA}), then deploy again. Nothing was changed`,
    );
  }
  for (const object of dropOrder(inside, graph.dependencies)) await session.query(dropObjectStatement(object, SCRATCH_SCHEMA));
  await session.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(SCRATCH_SCHEMA)}`);
}

function scratchNotDropped(error: unknown): Error {
  if (isConnectionLost(error)) return error as Error;
  return new ProjectError(
    `the deploy's scratch schema ${SCRATCH_SCHEMA} could not be dropped after checking the queries: ${(error as Error).message ?? String(error)} (something that is not the deploy's was created in it or over it meanwhile; nothing is dropped with CASCADE)`,
    undefined,
    `look at what reads ${SCRATCH_SCHEMA}, move or drop it, then deploy again. Nothing else was changed`,
  );
}

/** `CREATE VIEW scratch.name AS <the model's query>`, on the same lines as the compiled SQL. */
function scratchStatement(node: NonNullable<PlannedAction['node']>, inScratch: ReadonlyMap<string, string>): string {
  const lines = node.sql.split('\n');
  let body = lines.slice(node.bodyLine.sqlLine - 1).join('\n');
  // References render as "schema"."name" (SqlRelation): point those validated here at their copies.
  for (const [live, scratch] of inScratch) body = body.replaceAll(live, scratch);
  const head = `CREATE VIEW ${quoteIdentifier(SCRATCH_SCHEMA)}.${quoteIdentifier(node.name)} AS`;
  return `${head}${'\n'.repeat(Math.max(1, node.bodyLine.sqlLine - 1))}${body}`;
}
