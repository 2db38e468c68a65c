/** Small formatting helpers shared by the views. */
import type { DeployStatus } from './api.ts';

const KIND_LABELS: Record<string, string> = {
  source: 'source',
  view: 'view',
  materialized_view: 'materialized view',
  index: 'index',
  test: 'test',
  cluster: 'cluster',
  secret: 'secret',
  connection: 'connection',
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** The kind in a lineage box, where space is short. */
export function shortKindLabel(kind: string): string {
  return kind === 'materialized_view' ? 'mat. view' : kindLabel(kind);
}

/**
 * What a lineage box says of a node's state. A data test that is not stored is never deployed:
 * it shows its last run instead (pass, fail 3), or "not run".
 */
export function nodeStateLabel(node: { kind: string; status: DeployStatus; test?: { status: string; failures: number } }): string {
  if (node.kind === 'test' && node.status === 'not_deployed') {
    if (!node.test) return 'not run';
    return node.test.status === 'pass' ? 'pass' : `${node.test.status} ${node.test.failures}`;
  }
  return statusLabel(node.status);
}

const STATUS_LABELS: Record<DeployStatus, string> = {
  deployed: 'deployed',
  redeploying: 'redeploying',
  failed: 'failed',
  not_deployed: 'not deployed',
  changed: 'changed, not deployed',
};

export function statusLabel(status: DeployStatus): string {
  return STATUS_LABELS[status] ?? status;
}

export function formatCount(count: number): string {
  if (count < 10_000) return String(count);
  if (count < 1_000_000) return `${(count / 1000).toFixed(count < 100_000 ? 1 : 0)}k`;
  return `${(count / 1_000_000).toFixed(1)}M`;
}

/** The same sizes as the rejection reasons the server writes. */
export { formatBytes } from '../../scripts/local/http/webhook/rejection-reasons.ts';

export function formatTime(time: number): string {
  const date = new Date(time);
  return `${date.toLocaleTimeString([], { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** A value as a table cell shows it: JSON compact, NULL marked. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
