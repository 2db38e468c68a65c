/** How a blue/green deploy is printed: the steps it would run (--dry-run), and what it did. */
import pc from 'picocolors';
import type { BlueGreenReport } from '../runner/deploy/blue-green/blue-green-run.ts';
import { formatFailure } from '../runner/deploy/deploy-errors.ts';
import { formatMs } from './common.ts';
import { planJson } from './deploy-output.ts';

/** `{"blue_green": {"schemas", "clusters", "steps": [{"step", "sql"}]}, "actions": [...]}` */
export function blueGreenJson(report: BlueGreenReport): object {
  const bg = report.plan;
  return {
    blue_green: {
      schemas: bg?.schemas ?? [],
      clusters: bg?.clusters ?? [],
      steps: (bg?.steps ?? []).map((step) => ({ step: step.step, sql: step.sql })),
    },
    ...(planJson(report.deployPlan) as { actions: unknown[] }),
    ...(report.outcome === 'dry-run' ? {} : { outcome: report.outcome }),
  };
}

export function formatBlueGreenDryRun(report: BlueGreenReport): string[] {
  const bg = report.plan;
  if (!bg || bg.empty) return ['blue/green: no view, materialized view, index or stored test of a live schema changes — nothing to swap; the deploy would run in place, taking nothing offline'];
  const lines = [`blue/green: swap schemas ${bg.schemas.join(', ')}${bg.clusters.length ? ` and clusters ${bg.clusters.join(', ')}` : ''}`];
  for (const step of bg.steps) lines.push(`${pc.cyan(step.step.padEnd(14))} ${step.sql.split('\n').join(`\n${' '.repeat(15)}`)}`);
  for (const note of report.notes) lines.push(pc.dim(`note: ${note}`));
  lines.push('dry run, nothing was sent');
  return lines;
}

export function formatBlueGreenOutcome(report: BlueGreenReport): string[] {
  const lines: string[] = [];
  for (const note of report.notes) lines.push(pc.dim(`note: ${note}`));
  const swapped = report.plan ? [...report.plan.schemas, ...report.plan.clusters].join(', ') : '';
  switch (report.outcome) {
    case 'nothing-to-swap':
      lines.push(pc.green(`deployed in place: nothing live could go offline (no view, materialized view, index or stored test of a live schema changed) in ${formatMs(report.ms)}`));
      break;
    case 'promoted':
      lines.push(pc.green(`promoted: ${swapped} now serve the new version (${report.staged} models staged, waited ${formatMs(report.waitedMs)}, swap ${formatMs(report.promoteMs ?? 0)}) in ${formatMs(report.ms)}`));
      break;
    case 'staged':
      lines.push(pc.green(`staged and ready: ${report.plan!.schemas.map((schema) => `${schema}_deploy`).join(', ')} (${report.staged} models) in ${formatMs(report.ms)}`));
      lines.push('promote it with:  npm run models:deploy -- --blue-green --promote   (or --abort to drop it)');
      break;
    case 'aborted':
      lines.push(pc.yellow('aborted: the staged deploy was dropped; production is as it was'));
      break;
    case 'nothing-staged':
      lines.push('nothing is staged: there is nothing to abort');
      break;
    case 'not-ready': {
      const readiness = report.readiness!;
      const why = readiness.status === 'failing' ? readiness.reason : `${readiness.hydrated}/${readiness.total} hydrated, worst lag ${readiness.worstLagSeconds.toFixed(1)} s after ${formatMs(report.waitedMs)} (--timeout)`;
      lines.push(pc.red(`not promoted: the staged version is not ready — ${why}`));
      lines.push('production is untouched. Wait again with  npm run models:deploy -- --blue-green --promote  or drop it with  --abort');
      break;
    }
    case 'failed':
      if (report.failure) lines.push(pc.red(`error: ${formatFailure(report.failure)}`));
      for (const result of report.inPlace) if (result.failure) lines.push(pc.red(`error: ${formatFailure(result.failure)}`));
      if (!report.failure) lines.push(pc.red('blue/green deploy failed applying the changes above in place, before staging: nothing was swapped; production is serving'));
      else if (report.stagingKept !== undefined) {
        lines.push(pc.red(`blue/green deploy failed: production is untouched and serving, but the staged version was kept: ${report.stagingKept}`));
        lines.push('drop it with  npm run models:deploy -- --blue-green --abort  (the next deploy drops it too)');
      } else lines.push(pc.red('blue/green deploy failed: the staged version was dropped; production is untouched and serving'));
      break;
    case 'dry-run':
      break;
  }
  return lines;
}
