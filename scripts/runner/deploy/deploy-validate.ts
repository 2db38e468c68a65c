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
import { quoteIdentifier } from '../sql-scan.ts';
import { describeFailure, type DeployFailure } from './deploy-errors.ts';
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
 * how many queries were checked. The scratch schema is dropped again whatever happens.
 */
export async function validatePlan(session: SqlSession, root: string, plan: DeployPlan): Promise<{ failures: ValidationFailure[]; validated: number }> {
  const planned = plan.createLevels.flat();
  const inScratch = new Map<string, string>();
  // Only what exists already (or is validated here) can be referenced: a query over a source or
  // secret this same deploy creates is checked by its real CREATE instead.
  const notYetThere = new Set(planned.filter((action) => !QUERY_KINDS.has(action.kind)).map((action) => action.model));
  const failures: ValidationFailure[] = [];
  const failedOrUnchecked = new Set<string>();
  let validated = 0;
  await session.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(SCRATCH_SCHEMA)} CASCADE`);
  await session.query(`CREATE SCHEMA ${quoteIdentifier(SCRATCH_SCHEMA)}`);
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
        inScratch.set(`${quoteIdentifier(node.schema)}.${quoteIdentifier(node.name)}`, `${quoteIdentifier(SCRATCH_SCHEMA)}.${quoteIdentifier(node.name)}`);
      } catch (error) {
        failedOrUnchecked.add(node.name);
        failures.push({ action, failure: describeFailure(root, node.name, node, sql, error) });
      }
    }
  } finally {
    await session.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(SCRATCH_SCHEMA)} CASCADE`);
  }
  return { failures, validated };
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
