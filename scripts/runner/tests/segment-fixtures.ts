/**
 * `MOCK <relation>(<col> <type>, …) FROM FILE '<path>'`: a mock whose rows are Segment Spec events
 * read from a JSON file (one event, an array of them, a `{"batch": […]}` body, or NDJSON), so a
 * test of a parse view starts from real payloads. This project's extension; it compiles to plain
 * mz-deploy syntax — `AS (SELECT * FROM (VALUES (…), …) AS v(<columns>))`, one row per event, each
 * value a typed literal — which is what target/compiled/<test>.sql and the manifest show.
 *
 * Each declared column takes, from each event:
 *   - `body`: the whole event (jsonb; text or bytea: its JSON);
 *   - `headers`: NULL (a webhook request's headers are not part of the event);
 *   - any other name: the field whose path, each key in snake_case and joined with `_`, is the
 *     name — as `models:generate` names columns: `message_id` ← messageId, `received_at` ←
 *     receivedAt, `context_library_name` ← context.library.name; `event_type` and
 *     `event_timestamp` ← `type` and `timestamp` (the seed's names for them). Objects and arrays as
 *     JSON, other values as text, cast to the declared type; a missing field is NULL.
 *
 * Pure: given the file's text, no database.
 */
import { ProjectError, type SourceLocation } from '../errors.ts';
import { parseSample, snakeCase } from '../generate-model.ts';
import type { UnitTestColumn } from './unit-test-parse.ts';

const ALIASES: Record<string, string> = { event_type: 'type', event_timestamp: 'timestamp' };

/** The events of a fixture file's text. */
export function fixtureEvents(text: string, file: string): Record<string, unknown>[] {
  const values = parseSample(text, file).flatMap((value) => (isObject(value) && Array.isArray(value.batch) ? value.batch : [value]));
  values.forEach((value, index) => {
    if (!isObject(value)) throw new ProjectError(`event ${index + 1} of ${file} is not a JSON object`, { file }, 'give Segment Spec events: objects with type, messageId, …');
  });
  return values as Record<string, unknown>[];
}

/** Every field of an event by its flattened snake_case path (objects also by their own path). */
function flatten(event: Record<string, unknown>): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  const walk = (value: unknown, path: string[]) => {
    if (path.length) {
      const name = path.map(snakeCase).join('_');
      if (!fields.has(name)) fields.set(name, value);
    }
    if (isObject(value)) for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
  };
  walk(event, []);
  return fields;
}

function literal(value: unknown, type: string): string {
  if (value === undefined || value === null) return `NULL::${type}`;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'::${type}`;
}

/** The mock's query, in plain SQL: one row per event, a typed literal per declared column. */
export function fixtureQuery(events: readonly Record<string, unknown>[], columns: readonly UnitTestColumn[], location: SourceLocation): string {
  if (columns.length === 0) throw new ProjectError('MOCK … FROM FILE declares no column', location);
  const names = columns.map((column) => (/^[a-z_][a-z0-9_$]*$/.test(column.name) ? column.name : `"${column.name.replace(/"/g, '""')}"`)).join(', ');
  if (events.length === 0) return `SELECT ${columns.map((column) => `NULL::${column.type}`).join(', ')} WHERE false`;
  const rows = events.map((event) => {
    const fields = flatten(event);
    const values = columns.map((column) => {
      if (column.name === 'body') return /^bytea$/i.test(column.type) ? `convert_to(${literal(JSON.stringify(event), 'text')}, 'UTF8')` : literal(JSON.stringify(event), column.type);
      if (column.name === 'headers') return `NULL::${column.type}`;
      const value = fields.has(column.name) ? fields.get(column.name) : ALIASES[column.name] !== undefined ? fields.get(ALIASES[column.name]!) : undefined;
      return literal(value, column.type);
    });
    return `    (${values.join(', ')})`;
  });
  return `SELECT * FROM (VALUES\n${rows.join(',\n')}\n  ) AS v(${names})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
