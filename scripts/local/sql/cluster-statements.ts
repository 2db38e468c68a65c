/**
 * Cluster statements, parsed and checked the way Materialize plans them (src/sql/src/plan/
 * statement/ddl.rs: plan_create_cluster, plan_replica_config, ALTER CLUSTER's rules):
 *
 *   CREATE CLUSTER c [(] SIZE [=] '…' [, REPLICATION FACTOR [=] n] [, MANAGED [= bool]]
 *                        [, SCHEDULE [=] MANUAL | ON REFRESH [(…)]] [, INTROSPECTION INTERVAL [=] …]
 *                        [, INTROSPECTION DEBUGGING [= bool]] [, DISK [= bool]]
 *                        [, AVAILABILITY ZONES [=] ('…', …)] [, REPLICAS [=] (r (SIZE '…'), …)] [)]
 *   ALTER CLUSTER [IF EXISTS] c SET (…) [WITH (…)] | RESET (…)
 *   CREATE CLUSTER REPLICA c.r [(] SIZE [=] '…' [, AVAILABILITY ZONE …] … [)]
 *   DROP CLUSTER REPLICA [IF EXISTS] c.r [, …]
 *
 * A local cluster computes nothing of its own, so sizes are recorded, not enforced; the catalog
 * (mz_clusters, mz_cluster_replicas) and the errors are what users see and get.
 */
import { MzStatementError } from './mz-statements-error.ts';
import type { Token } from './tokens.ts';

export interface ReplicaOptions {
  size?: string;
  availabilityZone?: string;
  introspectionInterval?: string | null;
  introspectionDebugging?: boolean;
  disk?: boolean;
}

export interface ReplicaDefinition extends ReplicaOptions {
  name: string;
}

export interface ClusterOptions {
  size?: string;
  replicationFactor?: number;
  managed?: boolean;
  schedule?: string;
  introspectionInterval?: string | null;
  introspectionDebugging?: boolean;
  disk?: boolean;
  availabilityZones?: string[];
  replicas?: ReplicaDefinition[];
}

export type ClusterOptionName = keyof ClusterOptions;

/** What the cursor in mz-statements.ts offers; kept narrow so this module stays on its own. */
export interface OptionCursor {
  index: number;
  peek(offset?: number): Token | undefined;
  accept(...words: string[]): boolean;
  acceptPunct(punct: string): boolean;
  expectPunct(punct: string): void;
  atEnd(): boolean;
  fail(expected: string): never;
  identifier(): string;
  string(): string;
  matchingParen(): number;
}

const CLUSTER_OPTION_WORDS: Array<[string[], ClusterOptionName]> = [
  [['size'], 'size'],
  [['replication', 'factor'], 'replicationFactor'],
  [['managed'], 'managed'],
  [['schedule'], 'schedule'],
  [['introspection', 'interval'], 'introspectionInterval'],
  [['introspection', 'debugging'], 'introspectionDebugging'],
  [['disk'], 'disk'],
  [['availability', 'zones'], 'availabilityZones'],
  [['replicas'], 'replicas'],
];

/** `(option, …)` or `option, …` to the end of the statement (Materialize accepts both). */
export function parseClusterOptions(cursor: OptionCursor): ClusterOptions {
  const options: ClusterOptions = {};
  const parenthesized = cursor.acceptPunct('(');
  if (!parenthesized && cursor.atEnd()) return options;
  do {
    const name = clusterOptionName(cursor);
    if (name in options) throw new MzStatementError(`${optionLabel(name)} specified more than once`);
    (options as Record<string, unknown>)[name] = clusterOptionValue(cursor, name);
  } while (cursor.acceptPunct(','));
  if (parenthesized) cursor.expectPunct(')');
  return options;
}

/** `RESET (option, …)`: the names only. */
export function parseOptionNames(cursor: OptionCursor): ClusterOptionName[] {
  cursor.expectPunct('(');
  const names: ClusterOptionName[] = [];
  do names.push(clusterOptionName(cursor));
  while (cursor.acceptPunct(','));
  cursor.expectPunct(')');
  return names;
}

function clusterOptionName(cursor: OptionCursor): ClusterOptionName {
  for (const [words, name] of CLUSTER_OPTION_WORDS) if (cursor.accept(...words)) return name;
  return cursor.fail('Expected one of AVAILABILITY, DISK, INTROSPECTION, MANAGED, REPLICAS, REPLICATION, SIZE or SCHEDULE');
}

export function optionLabel(name: ClusterOptionName): string {
  return CLUSTER_OPTION_WORDS.find(([, option]) => option === name)![0].join(' ').toUpperCase();
}

function clusterOptionValue(cursor: OptionCursor, name: ClusterOptionName): unknown {
  cursor.acceptPunct('=');
  switch (name) {
    case 'size':
      return stringValue(cursor);
    case 'replicationFactor':
      return integerValue(cursor);
    case 'managed':
    case 'introspectionDebugging':
    case 'disk':
      return booleanValue(cursor);
    case 'introspectionInterval':
      return intervalValue(cursor);
    case 'schedule':
      return scheduleValue(cursor);
    case 'availabilityZones': {
      cursor.expectPunct('(');
      const zones: string[] = [];
      if (!cursor.acceptPunct(')')) {
        do zones.push(stringValue(cursor));
        while (cursor.acceptPunct(','));
        cursor.expectPunct(')');
      }
      return zones;
    }
    case 'replicas': {
      cursor.expectPunct('(');
      const replicas: ReplicaDefinition[] = [];
      if (!cursor.acceptPunct(')')) {
        do {
          const replicaName = cursor.identifier();
          replicas.push({ name: replicaName, ...parseReplicaOptions(cursor, true) });
        } while (cursor.acceptPunct(','));
        cursor.expectPunct(')');
      }
      return replicas;
    }
  }
}

const REPLICA_OPTION_WORDS: Array<[string[], keyof ReplicaOptions | 'unsupported']> = [
  [['size'], 'size'],
  [['availability', 'zone'], 'availabilityZone'],
  [['introspection', 'interval'], 'introspectionInterval'],
  [['introspection', 'debugging'], 'introspectionDebugging'],
  [['disk'], 'disk'],
];

/** A replica's options: `(SIZE '…', …)`, or without parentheses after CREATE CLUSTER REPLICA. */
export function parseReplicaOptions(cursor: OptionCursor, requireParens: boolean): ReplicaOptions {
  const options: ReplicaOptions = {};
  const parenthesized = requireParens ? (cursor.expectPunct('('), true) : cursor.acceptPunct('(');
  if (parenthesized && cursor.acceptPunct(')')) return options;
  if (!parenthesized && cursor.atEnd()) return options;
  do {
    const found = REPLICA_OPTION_WORDS.find(([words]) => cursor.accept(...words));
    if (!found) cursor.fail('Expected one of AVAILABILITY, BILLED, COMPUTE, COMPUTECTL, DISK, INTERNAL, INTROSPECTION, SIZE, STORAGE, STORAGECTL or WORKERS');
    const name = found[1] as keyof ReplicaOptions;
    cursor.acceptPunct('=');
    if (name === 'size' || name === 'availabilityZone') options[name] = stringValue(cursor);
    else if (name === 'introspectionInterval') options.introspectionInterval = intervalValue(cursor);
    else options[name] = booleanValue(cursor);
  } while (cursor.acceptPunct(','));
  if (parenthesized) cursor.expectPunct(')');
  return options;
}

function stringValue(cursor: OptionCursor): string {
  const token = cursor.peek();
  if (token?.type === 'string') return cursor.string();
  if (token?.type === 'word' || token?.type === 'number') {
    cursor.index++;
    return token.value;
  }
  return cursor.fail('Expected literal string');
}

function integerValue(cursor: OptionCursor): number {
  const token = cursor.peek();
  const text = token?.type === 'number' || token?.type === 'string' ? token.value : undefined;
  if (text === undefined || !/^\d+$/.test(text)) return cursor.fail('Expected a non-negative integer');
  cursor.index++;
  return Number(text);
}

/** A bare flag (`MANAGED`, `DISK`) means true; otherwise true/false/on/off, quoted or not. */
function booleanValue(cursor: OptionCursor): boolean {
  const token = cursor.peek();
  if (!token || (token.type === 'punct' && (token.value === ',' || token.value === ')'))) return true;
  const value = token.value.toLowerCase();
  if (['true', 'on', 't', 'yes'].includes(value)) {
    cursor.index++;
    return true;
  }
  if (['false', 'off', 'f', 'no'].includes(value)) {
    cursor.index++;
    return false;
  }
  return cursor.fail('Expected a boolean');
}

/** `'1s'`, `INTERVAL '1s'`, or 0 (no introspection: NULL). */
function intervalValue(cursor: OptionCursor): string | null {
  cursor.accept('interval');
  const token = cursor.peek();
  if (token?.type === 'number' && Number(token.value) === 0) {
    cursor.index++;
    return null;
  }
  return stringValue(cursor);
}

/** MANUAL, or ON REFRESH [(HYDRATION TIME ESTIMATE = '…')]: recorded as 'manual' / 'on-refresh'. */
function scheduleValue(cursor: OptionCursor): string {
  if (cursor.accept('manual')) return 'manual';
  if (cursor.accept('on', 'refresh')) {
    if (cursor.peek()?.value === '(') cursor.index = cursor.matchingParen() + 1;
    return 'on-refresh';
  }
  return cursor.fail('Expected one of MANUAL or ON');
}

/**
 * Materialize's planning rules for CREATE CLUSTER: managed unless REPLICAS is given; a managed
 * cluster needs SIZE and takes no REPLICAS; an unmanaged one takes only REPLICAS, each with SIZE.
 */
export function checkCreateCluster(options: ClusterOptions): void {
  const managed = options.managed ?? options.replicas === undefined;
  if (managed) {
    if (options.replicas !== undefined) throw new MzStatementError('REPLICAS not supported for managed clusters', 'XX000');
    if (options.size === undefined) throw new MzStatementError('SIZE must be specified for managed clusters', 'XX000');
    if (options.schedule === 'on-refresh' && options.replicationFactor !== undefined) {
      throw new MzStatementError('REPLICATION FACTOR cannot be given together with any SCHEDULE other than MANUAL', 'XX000');
    }
    return;
  }
  if (options.replicas === undefined) throw new MzStatementError('REPLICAS must be specified for unmanaged clusters', 'XX000');
  const unmanagedRefusals: Array<[ClusterOptionName, string]> = [
    ['availabilityZones', 'AVAILABILITY ZONES not supported for unmanaged clusters'],
    ['replicationFactor', 'REPLICATION FACTOR not supported for unmanaged clusters'],
    ['introspectionDebugging', 'INTROSPECTION DEBUGGING not supported for unmanaged clusters'],
    ['introspectionInterval', 'INTROSPECTION INTERVAL not supported for unmanaged clusters'],
    ['size', 'SIZE not supported for unmanaged clusters'],
    ['disk', 'DISK not supported for unmanaged clusters'],
  ];
  for (const [name, message] of unmanagedRefusals) if (options[name] !== undefined) throw new MzStatementError(message, 'XX000');
  if (options.schedule !== undefined && options.schedule !== 'manual') {
    throw new MzStatementError('cluster schedules other than MANUAL are not supported for unmanaged clusters', 'XX000');
  }
  for (const replica of options.replicas) checkReplica(replica);
}

export function checkReplica(replica: ReplicaOptions): void {
  if (replica.size === undefined) throw new MzStatementError('SIZE option must be specified', 'XX000');
}
