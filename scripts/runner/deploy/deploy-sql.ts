/**
 * The statements a planned action sends. Each is sent on its own: Materialize runs most DDL
 * outside transactions. DROPs never CASCADE: the plan drops dependents itself, so nothing outside
 * it disappears; they say IF EXISTS so a deploy converges after a partial one.
 */
import type { ManifestKind } from '../model-config.ts';
import { secretPlaceholder } from '../model-sql.ts';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import type { PlannedAction } from './deploy-plan.ts';

const DROP_KEYWORD: Record<ManifestKind, string> = {
  cluster: 'CLUSTER',
  secret: 'SECRET',
  connection: 'CONNECTION',
  source: 'SOURCE',
  view: 'VIEW',
  materialized_view: 'MATERIALIZED VIEW',
  index: 'INDEX',
  // Only tests with stored failures are deployed: as materialized views of their failing rows.
  test: 'MATERIALIZED VIEW',
};

export function dropStatement(object: { kind: ManifestKind; schema: string; name: string }): string {
  const name = object.kind === 'cluster' ? quoteIdentifier(object.name) : `${quoteIdentifier(object.schema)}.${quoteIdentifier(object.name)}`;
  return `DROP ${DROP_KEYWORD[object.kind]} IF EXISTS ${name}`;
}

/** A SQL string literal (standard_conforming_strings: only quotes are doubled). */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The statements that create (or converge) the action's model. A secret's value replaces the
 * placeholder its compiled SQL carries; callers must never print these statements, only
 * `displayedStatements`.
 */
export function createStatements(action: PlannedAction, secretValue?: string): string[] {
  const node = action.node!;
  if (node.kind !== 'secret') return [node.sql];
  if (secretValue === undefined) throw new Error(`internal: no value for secret ${node.name}`);
  const placeholder = secretPlaceholder(node.secretEnv ?? '');
  const literal = sqlString(secretValue);
  const alter = alterSecret(node, literal);
  // CREATE … IF NOT EXISTS keeps an existing secret's old value: ALTER makes it the current one.
  if (action.action === 'replace' && !action.dropsFirst) return [alter];
  return [node.sql.replace(placeholder, () => literal), alter];
}

/** What `--dry-run` shows: the same statements with secrets still as placeholders. */
export function displayedStatements(action: PlannedAction): string[] {
  const statements: string[] = [];
  if (action.dropsFirst && action.deployed && action.action !== 'create') statements.push(dropStatement(action.deployed));
  if (action.action === 'drop' || action.action === 'unchanged') return statements;
  const node = action.node!;
  if (node.kind !== 'secret') return [...statements, node.sql];
  const alter = alterSecret(node, secretPlaceholder(node.secretEnv ?? ''));
  return action.action === 'replace' && !action.dropsFirst ? [alter] : [...statements, node.sql, alter];
}

function alterSecret(node: { schema: string; name: string }, valueSql: string): string {
  return `ALTER SECRET ${quoteIdentifier(node.schema)}.${quoteIdentifier(node.name)} AS ${valueSql}`;
}
