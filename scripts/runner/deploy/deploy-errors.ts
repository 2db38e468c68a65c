/**
 * A database error during a deploy, told the way users fix it: the model's file and line, the
 * line of compiled SQL the error points at, and the database's own detail and hint.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatLocation, type SourceLocation } from '../errors.ts';
import type { CompiledNode } from '../compile.ts';
import { MACROS_DIR, normalizeSourceText } from '../project-files.ts';
import { escapeRegExp } from '../../shared/regexp.ts';

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

/** `root`: the project root, to find the template line a compiled line came from. */
export function describeFailure(root: string, model: string, node: CompiledNode | undefined, sql: string | undefined, error: unknown): DeployFailure {
  const fields = asDatabaseError(error);
  const offset = sql === undefined ? undefined : errorOffset(sql, fields);
  let sqlLine: DeployFailure['sqlLine'];
  let location: SourceLocation | undefined = node ? { file: node.path } : undefined;
  if (sql !== undefined && offset !== undefined) {
    const line = countNewlines(sql, offset) + 1;
    sqlLine = { line, text: sql.split('\n')[line - 1] ?? '' };
    if (node && node.kind !== 'index') {
      // Compiled line bodyLine.sqlLine is file line bodyLine.fileLine, and the head above it is
      // generated; a multi-line macro shifts what follows, so confirm by the line's text.
      const estimate = line >= node.bodyLine.sqlLine ? node.bodyLine.fileLine + (line - node.bodyLine.sqlLine) : node.bodyLine.fileLine;
      location = locateTemplateLine(root, node.path, sqlLine.text, estimate) ?? { file: node.path, line: estimate };
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

/**
 * The template line a compiled line was rendered from: a line of the model whose text matches
 * with each `{{…}}` tag standing for anything (the closest to `estimate` if several do), else a
 * line of a macro that is the only match.
 */
export function locateTemplateLine(root: string, modelPath: string, compiledLine: string, estimate: number): SourceLocation | undefined {
  const wanted = compiledLine.trim();
  if (wanted === '') return undefined;
  const matches = (file: string): number[] => {
    let text: string;
    try {
      text = normalizeSourceText(readFileSync(path.join(root, file), 'utf8'));
    } catch {
      return [];
    }
    const lines: number[] = [];
    text.split('\n').forEach((line, index) => {
      if (templateLinePattern(line.trim())?.test(wanted)) lines.push(index + 1);
    });
    return lines;
  };
  const inModel = matches(modelPath);
  if (inModel.length) {
    const closest = inModel.reduce((best, line) => (Math.abs(line - estimate) < Math.abs(best - estimate) ? line : best));
    return { file: modelPath, line: closest };
  }
  let macros: string[] = [];
  try {
    macros = readdirSync(path.join(root, MACROS_DIR), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.sql'));
  } catch {
    return undefined;
  }
  const found = macros.flatMap((file) => matches(path.posix.join(MACROS_DIR, file.split(path.sep).join('/'))).map((line) => ({ file: path.posix.join(MACROS_DIR, file.split(path.sep).join('/')), line })));
  return found.length === 1 ? found[0] : undefined;
}

function templateLinePattern(line: string): RegExp | undefined {
  if (line === '' || /^\{\{[^}]*\}\}$/.test(line)) return undefined; // a tag alone matches anything
  const parts = line.split(/\{\{[^}]*\}\}/).map(escapeRegExp);
  return new RegExp(`^${parts.join('.*?')}$`);
}

/** Socket errors, and SQLSTATEs (class 08, and the server shutting down), that mean the session itself is gone. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH']);
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);
/** What `pg` says, without a code, when the socket closed under it or it is used afterwards. */
const CONNECTION_MESSAGES = /Connection terminated|encountered a connection error|is not queryable|Client was closed|socket hang up/i;

/**
 * Whether `error` says the connection to the target was lost (the server stopped or crashed, the
 * network went away), as opposed to the database refusing a statement: an error the database sent
 * (with its SQLSTATE) is judged by that alone.
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || SHUTDOWN_STATES.has(code);
  return CONNECTION_MESSAGES.test(error.message);
}
