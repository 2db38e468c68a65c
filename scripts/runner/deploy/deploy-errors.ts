/**
 * A database error during a deploy, told the way users fix it: the model's file and line, the
 * line of compiled SQL the error points at, and the database's own detail and hint.
 */
import { formatLocation, type SourceLocation } from '../errors.ts';
import type { CompiledNode } from '../compile.ts';

export interface DatabaseErrorFields {
  readonly message: string;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly position?: string;
  readonly internalPosition?: string;
  readonly internalQuery?: string;
}

export interface DeployFailure {
  readonly model: string;
  readonly message: string;
  readonly code: string | undefined;
  /** The model file, at the line the error points at when it points somewhere. */
  readonly location: SourceLocation | undefined;
  /** 1-based line of the compiled SQL, and its text. */
  readonly sqlLine: { readonly line: number; readonly text: string } | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
}

export function describeFailure(model: string, node: CompiledNode | undefined, sql: string | undefined, error: unknown): DeployFailure {
  const fields = asDatabaseError(error);
  const offset = sql === undefined ? undefined : errorOffset(sql, fields);
  let sqlLine: DeployFailure['sqlLine'];
  let location: SourceLocation | undefined = node ? { file: node.path } : undefined;
  if (sql !== undefined && offset !== undefined) {
    const line = countNewlines(sql, offset) + 1;
    sqlLine = { line, text: sql.split('\n')[line - 1] ?? '' };
    if (node && node.kind !== 'index') {
      // Compiled line bodyLine.sqlLine is file line bodyLine.fileLine; the head above it is generated.
      const fileLine = line >= node.bodyLine.sqlLine ? node.bodyLine.fileLine + (line - node.bodyLine.sqlLine) : node.bodyLine.fileLine;
      location = { file: node.path, line: fileLine };
    }
  }
  return { model, message: fields.message, code: fields.code, location, sqlLine, detail: fields.detail, hint: fields.hint };
}

export function formatFailure(failure: DeployFailure): string {
  const where = failure.location ? `${formatLocation(failure.location)}: ` : '';
  const lines = [`${where}${failure.model}: ${failure.message}${failure.code ? ` (${failure.code})` : ''}`];
  if (failure.sqlLine) lines.push(`  compiled SQL line ${failure.sqlLine.line}: ${failure.sqlLine.text.trim()}`);
  if (failure.detail) lines.push(`  detail: ${failure.detail}`);
  if (failure.hint) lines.push(`  hint: ${failure.hint}`);
  return lines.join('\n');
}

function asDatabaseError(error: unknown): DatabaseErrorFields {
  if (error && typeof error === 'object' && 'message' in error) {
    const value = error as Partial<Record<keyof DatabaseErrorFields, unknown>>;
    const text = (key: keyof DatabaseErrorFields) => (typeof value[key] === 'string' && value[key] !== '' ? (value[key] as string) : undefined);
    return {
      message: text('message') ?? String(error),
      ...(text('code') ? { code: text('code')! } : {}),
      ...(text('detail') ? { detail: text('detail')! } : {}),
      ...(text('hint') ? { hint: text('hint')! } : {}),
      ...(text('position') ? { position: text('position')! } : {}),
      ...(text('internalPosition') ? { internalPosition: text('internalPosition')! } : {}),
      ...(text('internalQuery') ? { internalQuery: text('internalQuery')! } : {}),
    };
  }
  return { message: String(error) };
}

/**
 * 0-based offset into `sql`. `position` counts characters of the statement sent. An error raised
 * inside a statement the server ran on our behalf (the local server runs a materialized view's
 * query in its own CREATE VIEW) carries that statement and a position in it instead: find the
 * longest tail of it that is part of what we sent, and translate.
 */
export function errorOffset(sql: string, fields: DatabaseErrorFields): number | undefined {
  if (fields.position) {
    const position = Number(fields.position);
    return Number.isInteger(position) && position >= 1 ? Math.min(position - 1, sql.length) : undefined;
  }
  if (!fields.internalQuery || !fields.internalPosition) return undefined;
  const query = fields.internalQuery;
  const position = Number(fields.internalPosition) - 1;
  if (!Number.isInteger(position) || position < 0) return undefined;
  for (let start = 0; start <= position && start < query.length; start++) {
    const at = sql.indexOf(query.slice(start));
    if (at !== -1) return at + (position - start);
  }
  return undefined;
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < end; index = text.indexOf('\n', index + 1)) count++;
  return count;
}
