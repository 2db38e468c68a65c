/**
 * Materialize's own session variables that PostgreSQL does not have, kept per session as custom
 * settings (`mz.<name>`): SET name = value | DEFAULT, RESET name and SHOW name work on them as on
 * Materialize, and every connection has its own (connection-state.ts switches them with the rest).
 * (max_result_size is kept alike, with its byte sizes: byte-size.ts.)
 */
import { sqlIdentifier, sqlLiteral } from './tokens.ts';

export interface MzVariable {
  /** As SET/SHOW name it (lower case). */
  readonly name: string;
  /** The custom setting it is kept in. */
  readonly setting: string;
  /** What SHOW says while it is not set. */
  readonly defaultValue: string;
  /** The values it takes, when constrained (compared in lower case). */
  readonly values?: readonly string[];
}

/** Materialize's defaults (its session variables' definitions). */
export const MZ_VARIABLES: readonly MzVariable[] = [
  { name: 'cluster', setting: 'mz.cluster', defaultValue: 'quickstart' },
  { name: 'cluster_replica', setting: 'mz.cluster_replica', defaultValue: '' },
  { name: 'database', setting: 'mz.database', defaultValue: 'materialize' },
  // Materialize's only isolation levels are serializable ones; its default is strict serializable.
  { name: 'transaction_isolation', setting: 'mz.transaction_isolation', defaultValue: 'strict serializable', values: ['serializable', 'strict serializable'] },
];

export function mzVariable(name: string): MzVariable | undefined {
  return MZ_VARIABLES.find((variable) => variable.name === name);
}

/** SET (value) or RESET (null): the statement for PGlite, or the error Materialize gives. */
export function setVariableSql(variable: MzVariable, value: string | null): { sql: string } | { error: string; code: string } {
  if (value === null) return { sql: `RESET ${variable.setting}` };
  let stored = value;
  if (variable.values) {
    stored = value.toLowerCase();
    if (!variable.values.includes(stored)) return { error: `invalid value for parameter "${variable.name}": "${value}"`, code: '22023' };
  }
  return { sql: `SET ${variable.setting} TO ${sqlLiteral(stored)}` };
}

export function showVariableSql(variable: MzVariable): string {
  return `SELECT coalesce(nullif(current_setting(${sqlLiteral(variable.setting)}, true), ''), ${sqlLiteral(variable.defaultValue)}) AS ${sqlIdentifier(variable.name)}`;
}
