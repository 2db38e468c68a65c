/**
 * How deploys are printed, shared by models:deploy, models:watch and dev: one line per model as it
 * finishes, failures with file:line and the compiled SQL line, a summary, and the plan for
 * --dry-run. Machines get --json instead.
 */
import pc from 'picocolors';
import type { ActionResult } from '../runner/deploy/deploy-execute.ts';
import { formatFailure } from '../runner/deploy/deploy-errors.ts';
import type { DeployPlan } from '../runner/deploy/deploy-plan.ts';
import { displayedStatements } from '../runner/deploy/deploy-sql.ts';
import type { DeployReport } from '../runner/deploy/deployer.ts';
import { formatMs } from './common.ts';

const ACTION_COLOR = { create: pc.green, replace: pc.yellow, drop: pc.red, unchanged: pc.dim } as const;

/** 'materialized view', dimmed and padded to line up the names after it. */
function kindColumn(kind: string): string {
  return pc.dim(kind.replace('_', ' ').padEnd(18));
}

export function formatResult(result: ActionResult): string {
  const action = ACTION_COLOR[result.action](result.action.padEnd(8));
  const kind = kindColumn(result.kind);
  const name = result.model.padEnd(30);
  if (result.status === 'failed') return `  ${pc.red('FAILED'.padEnd(8))} ${kind} ${name} ${pc.dim(formatMs(result.ms))}`;
  if (result.status === 'skipped') return `  ${pc.dim('skipped'.padEnd(8))} ${kind} ${name} ${pc.dim(result.skippedBecause ?? `upstream ${result.blockedBy} failed`)}`;
  const reason = result.reason && result.action !== 'create' ? pc.dim(` (${result.reason})`) : '';
  return `  ${action} ${kind} ${name} ${pc.dim(formatMs(result.ms))}${reason}`;
}

export interface Summary {
  readonly created: number;
  readonly replaced: number;
  readonly dropped: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly skipped: number;
}

export function summarize(report: DeployReport): Summary {
  const done = (action: string) => report.results.filter((result) => result.status === 'done' && result.action === action).length;
  return {
    created: done('create'),
    replaced: done('replace'),
    dropped: done('drop'),
    unchanged: report.plan.actions.filter((action) => action.action === 'unchanged').length,
    failed: report.results.filter((result) => result.status === 'failed').length,
    skipped: report.results.filter((result) => result.status === 'skipped').length,
  };
}

/** Failures with their location and SQL line, then what was left undeployed, then the summary line. */
export function formatOutcome(report: DeployReport): string[] {
  const lines: string[] = [];
  const summary = summarize(report);
  const failures = report.results.filter((result) => result.status === 'failed');
  for (const result of failures) lines.push(pc.red(`error: ${formatFailure(result.failure!)}`));
  const skipped = report.results.filter((result) => result.status === 'skipped');
  if (report.rejected) {
    lines.push(pc.yellow(`nothing was changed: every query was checked in a scratch schema before any DROP, and ${failures.length} failed`) + pc.dim(' — what is deployed keeps running; fix the error and deploy again'));
  } else if (failures.length) {
    const undeployed = [...failures, ...skipped].map((result) => result.model);
    lines.push(pc.yellow(`left undeployed: ${listSome(undeployed)}`) + pc.dim(' — fix the error and deploy again; the next deploy converges from here'));
  }
  for (const note of report.plan.notes) lines.push(pc.dim(`note: ${note}`));
  for (const name of report.uncheckedSecrets) lines.push(pc.dim(`note: secret ${name}: its variable is unset here, so its deployed value was kept unchecked`));
  const parts = [
    `${summary.created} created`,
    `${summary.replaced} replaced`,
    `${summary.dropped} dropped`,
    `${summary.unchanged} unchanged`,
    ...(summary.failed ? [pc.red(`${summary.failed} failed`)] : []),
    ...(summary.skipped ? [pc.yellow(`${summary.skipped} skipped`)] : []),
  ];
  const verdict = summary.failed ? pc.red('deploy failed') : pc.green('deployed');
  lines.push(`${verdict}: ${parts.join(', ')} in ${formatMs(report.ms)} (${report.ddlStatements} DDL statements)`);
  return lines;
}

/** Up to ten names, then how many more: a 1,000-model project must not print one endless line. */
function listSome(names: readonly string[], shown = 10): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

/** --dry-run: every change with its reason and the SQL it would send (secrets as placeholders). */
export function formatPlan(plan: DeployPlan): string[] {
  const lines: string[] = [];
  let unchanged = 0;
  for (const action of plan.actions) {
    if (action.action === 'unchanged') {
      unchanged++;
      continue;
    }
    const reason = action.reason && action.action !== 'create' ? pc.dim(` (${action.reason})`) : '';
    lines.push(`${ACTION_COLOR[action.action](action.action.padEnd(8))} ${kindColumn(action.kind)} ${action.model}${reason}`);
    for (const statement of displayedStatements(action)) lines.push(pc.dim(`${statement.replace(/^/gm, '    ')};`));
  }
  for (const note of plan.notes) lines.push(pc.dim(`note: ${note}`));
  const changes = plan.actions.length - unchanged;
  lines.push(`plan: ${changes} change${changes === 1 ? '' : 's'}, ${unchanged} unchanged — dry run, nothing was sent`);
  return lines;
}

export function planJson(plan: DeployPlan): object {
  return {
    actions: plan.actions.map((action) => ({
      model: action.model,
      action: action.action,
      kind: action.kind,
      ...(action.reason ? { reason: action.reason } : {}),
      ...(action.action === 'unchanged' ? {} : { sql: displayedStatements(action) }),
    })),
    notes: plan.notes,
  };
}

export function reportJson(report: DeployReport): object {
  const results = new Map(report.results.map((result) => [result.model, result]));
  return {
    actions: report.plan.actions.map((action) => {
      const result = results.get(action.model);
      return {
        model: action.model,
        action: action.action,
        kind: action.kind,
        status: action.action === 'unchanged' ? 'unchanged' : (result?.status ?? 'done'),
        ...(result ? { ms: Math.round(result.ms * 10) / 10 } : {}),
        ...(result?.failure ? { error: { message: result.failure.message, code: result.failure.code, location: result.failure.location, sql_line: result.failure.sqlLine, detail: result.failure.detail, hint: result.failure.hint } } : {}),
        ...(result?.blockedBy ? { blocked_by: result.blockedBy } : {}),
        ...(result?.skippedBecause ? { skipped_because: result.skippedBecause } : {}),
      };
    }),
    summary: { ...summarize(report), ms: Math.round(report.ms), ddl_statements: report.ddlStatements, validated: report.validated, rejected: report.rejected },
    notes: report.plan.notes,
  };
}
