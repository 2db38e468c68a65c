/**
 * The wait step of a blue/green deploy: the staged objects are ready when every one is hydrated on
 * every replica and the worst lag is under the threshold. A staging cluster without replicas, or
 * whose replicas keep being OOM-killed, will never get there: it is reported as failing at once
 * instead of being waited on until the timeout (mz-deploy's rules, see DESIGN.md).
 */
import type { SqlSession } from '../sql-session.ts';

export interface ReadinessRow {
  readonly kind: 'object' | 'cluster';
  readonly id: string;
  readonly name: string;
  readonly cluster: string | null;
  readonly hydrated: boolean;
  readonly replicas: number;
  readonly lag_seconds: number | null;
  readonly oom_kills: number;
}

export type Readiness =
  | { readonly status: 'ready'; readonly hydrated: number; readonly total: number; readonly worstLagSeconds: number }
  | { readonly status: 'hydrating' | 'lagging'; readonly hydrated: number; readonly total: number; readonly worstLagSeconds: number }
  | { readonly status: 'failing'; readonly reason: string; readonly hydrated: number; readonly total: number; readonly worstLagSeconds: number };

/** OOM kills in a day, per replica, beyond which a cluster is considered crash-looping. */
const OOM_KILLS_PER_REPLICA = 3;

export function evaluateReadiness(rows: readonly ReadinessRow[], lagThresholdSeconds: number): Readiness {
  const objects = rows.filter((row) => row.kind === 'object');
  const hydrated = objects.filter((row) => row.hydrated && Number(row.replicas) > 0).length;
  const worstLagSeconds = Math.max(0, ...objects.map((row) => Number(row.lag_seconds ?? 0)));
  const counts = { hydrated, total: objects.length, worstLagSeconds };
  for (const cluster of rows.filter((row) => row.kind === 'cluster')) {
    const replicas = Number(cluster.replicas);
    if (replicas === 0) return { status: 'failing', reason: `cluster ${cluster.name} has no replicas: nothing on it can hydrate (ALTER CLUSTER ${cluster.name} SET (REPLICATION FACTOR = 1))`, ...counts };
    if (Number(cluster.oom_kills) >= OOM_KILLS_PER_REPLICA * replicas) {
      return { status: 'failing', reason: `cluster ${cluster.name}'s replicas were OOM-killed ${cluster.oom_kills} times in the last day: it is too small for these models (a larger SIZE on the cluster model)`, ...counts };
    }
  }
  if (hydrated < objects.length) return { status: 'hydrating', ...counts };
  if (worstLagSeconds > lagThresholdSeconds) return { status: 'lagging', ...counts };
  return { status: 'ready', ...counts };
}

export interface WaitOptions {
  readonly query: string;
  readonly lagThresholdMs: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly onProgress?: (readiness: Readiness, elapsedMs: number) => void;
}

/** Polls until ready; resolves with the last readiness (ready, failing, or not ready at the timeout). */
export async function waitUntilReady(session: SqlSession, options: WaitOptions): Promise<{ readiness: Readiness; elapsedMs: number }> {
  const started = performance.now();
  for (;;) {
    const rows = (await session.query<ReadinessRow>(options.query)).rows;
    const readiness = evaluateReadiness(rows, options.lagThresholdMs / 1000);
    const elapsedMs = performance.now() - started;
    options.onProgress?.(readiness, elapsedMs);
    if (readiness.status === 'ready' || readiness.status === 'failing' || elapsedMs >= options.timeoutMs) return { readiness, elapsedMs };
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs, Math.max(1, options.timeoutMs - elapsedMs))));
  }
}
