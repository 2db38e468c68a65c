/**
 * models:generate: a sample JSON payload → a parse-view model, the way Materialize's JSON parsing
 * widget does it: nested objects flattened into snake_case columns, types inferred from the
 * sample values. Casts are guarded by jsonb_typeof, so one odd event yields a NULL instead of an
 * error that would stop the whole view.
 */
import { parse as parseJson, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { LineIndex } from './line-index.ts';
import { ProjectError } from './errors.ts';

export type InferredType = 'text' | 'numeric' | 'boolean' | 'timestamp' | 'jsonb' | 'null';

export interface InferredColumn {
  /** JSON keys from the root to the value. */
  readonly path: readonly string[];
  readonly column: string;
  readonly type: InferredType;
  /** True when a timestamp sample is ISO 8601 but not the exact form Materialize parses. */
  readonly looseTimestamp: boolean;
}

const EXACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

/** Parses a sample file: one JSON value, or NDJSON (one value per line). Errors say line:col. */
export function parseSample(raw: string, file: string): unknown[] {
  // A byte-order mark (a Windows editor's) is not part of the JSON.
  const text = raw.startsWith('\ufeff') ? raw.slice(1) : raw;
  const whole = parseStrictJson(text);
  if (!whole.error) return Array.isArray(whole.value) ? whole.value : [whole.value];
  // NDJSON: one value per non-empty line.
  const values: unknown[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    if (line.trim() !== '') {
      const parsed = parseStrictJson(line);
      if (parsed.error) {
        // Report against whichever reading got further: usually the whole document's.
        const at = values.length > 0 ? offset + parsed.error.offset : whole.error.offset;
        const reason = values.length > 0 ? parsed.error.reason : whole.error.reason;
        throw new ProjectError(`the sample is not valid JSON: ${reason}`, { file, ...new LineIndex(text).position(at) }, 'give one JSON object (or an array of them, or NDJSON)');
      }
      values.push(parsed.value);
    }
    offset += line.length + 1;
  }
  return values;
}

function parseStrictJson(text: string): { value: unknown; error?: { offset: number; reason: string } } {
  const errors: ParseError[] = [];
  const value: unknown = parseJson(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  return first ? { value, error: { offset: first.offset, reason: printParseErrorCode(first.error) } } : { value };
}

/** Infers columns from one or more sample objects (their union: a key in any sample is a column). */
export function inferColumns(samples: readonly unknown[]): InferredColumn[] {
  const leaves = new Map<string, { path: string[]; type: InferredType; loose: boolean }>();
  const visit = (value: unknown, path: string[]): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
      for (const [key, child] of Object.entries(value)) visit(child, [...path, key]);
      return;
    }
    if (path.length === 0) return;
    const key = JSON.stringify(path);
    const type = typeOf(value);
    const loose = type === 'timestamp' && !EXACT_TIMESTAMP.test(value as string);
    const previous = leaves.get(key);
    leaves.set(key, previous ? { path, type: mergeTypes(previous.type, type), loose: previous.loose || loose } : { path, type, loose });
  };
  for (const sample of samples) {
    if (sample === null || typeof sample !== 'object' || Array.isArray(sample)) {
      throw new ProjectError('every sample must be a JSON object (an event)', undefined, 'pass a Segment event, e.g. {"type": "track", "event": "Order Completed", …}');
    }
    visit(sample, []);
  }

  const used = new Map<string, number>();
  return [...leaves.values()].map((leaf) => {
    const base = leaf.path.map(snakeCase).join('_') || 'value';
    const seen = used.get(base) ?? 0;
    used.set(base, seen + 1);
    return { path: leaf.path, column: seen ? `${base}_${seen + 1}` : base, type: leaf.type, looseTimestamp: leaf.loose };
  });
}

function typeOf(value: unknown): InferredType {
  if (value === null) return 'null';
  if (Array.isArray(value) || typeof value === 'object') return 'jsonb';
  if (typeof value === 'number') return 'numeric';
  if (typeof value === 'boolean') return 'boolean';
  return ISO_TIMESTAMP.test(String(value)) ? 'timestamp' : 'text';
}

function mergeTypes(a: InferredType, b: InferredType): InferredType {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if (a === 'jsonb' || b === 'jsonb') return 'jsonb';
  return 'text';
}

/** `messageId` → `message_id`, `HTTPStatus` → `http_status`, `utm-source` → `utm_source`. */
export function snakeCase(key: string): string {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (snake === '') return 'field';
  return /^[0-9]/.test(snake) ? `_${snake}` : snake;
}

/** Keywords that need quotes as column names (PostgreSQL's and Materialize's reserved words). */
const RESERVED = new Set(
  'all and any array as asc between both case cast check collate column constraint create current_date current_time current_timestamp current_user default desc distinct do else end except false fetch for foreign from grant group having in initially intersect into is join lateral leading left like limit localtime localtimestamp not null offset on only or order placing primary references returning right select session_user some symmetric table then timestamp to trailing true type union unique user using variadic when where window with'.split(' '),
);

export function columnName(name: string): string {
  return RESERVED.has(name) ? `"${name}"` : name;
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The SQL expression reading `path` from `source` as JSON (`->`) or as text (`->>`). */
function jsonPath(source: string, path: readonly string[], asText: boolean): string {
  const steps = path.map((key, index) => `${index === path.length - 1 && asText ? '->>' : '->'}${sqlString(key)}`);
  return `${source}${steps.join('')}`;
}

export function columnExpression(column: InferredColumn, source: string): string {
  const text = jsonPath(source, column.path, true);
  const json = jsonPath(source, column.path, false);
  switch (column.type) {
    case 'numeric':
      return `CASE WHEN jsonb_typeof(${json}) = 'number' THEN (${text})::numeric END`;
    case 'boolean':
      return `CASE WHEN jsonb_typeof(${json}) = 'boolean' THEN (${text})::boolean END`;
    case 'timestamp':
      return `try_parse_monotonic_iso8601_timestamp(${text})`;
    case 'jsonb':
      return json;
    default:
      return text;
  }
}

export interface GenerateOptions {
  readonly name: string;
  /** The model to read from (its `column` holds the JSON). */
  readonly from: string;
  readonly column: string;
  /** Only rows whose `type` field equals this (e.g. track). */
  readonly eventType?: string;
  readonly sampleFile: string;
}

export function generateParseView(samples: readonly unknown[], options: GenerateOptions): string {
  const columns = inferColumns(samples);
  if (columns.length === 0) throw new ProjectError('the sample has no fields to turn into columns', { file: options.sampleFile });
  const source = `e.${options.column}`;
  const lines = columns.map((column, index) => {
    const separator = index === columns.length - 1 ? '' : ',';
    const note =
      column.type === 'null'
        ? '  -- null in the sample: read as text'
        : column.looseTimestamp
          ? '  -- NULL unless exactly YYYY-MM-DDThh:mm:ss.sssZ; use (…)::timestamptz for other forms'
          : '';
    return `  ${columnExpression(column, source)} AS ${columnName(column.column)}${separator}${note}`;
  });
  const where = options.eventType ? `\nWHERE ${source}->>'type' = ${sqlString(options.eventType)}` : '';
  return [
    '---',
    'kind: view',
    `description: ${JSON.stringify(`Parsed from ${options.sampleFile} by models:generate`)}`,
    '---',
    'SELECT',
    ...lines,
    `FROM {{ref.${options.from}}} AS e${where}`,
    '',
  ].join('\n');
}
