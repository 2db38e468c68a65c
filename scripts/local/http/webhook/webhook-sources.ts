/**
 * Webhook sources as the HTTP API needs them: looked up by (database, schema, name), each with its
 * append statement prepared once. The cache is dropped whenever a wire message may have changed the
 * catalog, so a rename makes the old URL 404 at once.
 */
import type { LocalDatabase } from '../../engine/engine.ts';
import { LOCAL_DATABASE } from '../../engine/database-identity.ts';
import type { BodyFormat, MappedHeader } from '../../sql/mz-statements.ts';
import { sqlIdentifier } from '../../sql/tokens.ts';
import { PreparedStatement } from '../../engine/prepared-statement.ts';
import { checkShape, type CheckShape } from './rejection-reasons.ts';
import { groupedAppend, type GroupedAppend } from './grouped-append.ts';

export interface WebhookSource {
  schema: string;
  name: string;
  bodyFormat: BodyFormat;
  includeHeaders: { allow: string[]; block: string[] } | null;
  mappedHeaders: MappedHeader[];
  /** The CHECK query alone ($1 body, $2 headers, $3 receive time), or null without a CHECK. */
  check: PreparedStatement | null;
  /** What the CHECK reads, to explain a rejection; null without a CHECK. */
  checkShape: CheckShape | null;
  /**
   * Check (if any) and insert in one statement, so a request's rows land atomically. Returns
   * ok, secrets_found, inserted.
   */
  append: PreparedStatement;
  /** Several requests in one statement (grouped-append.ts); null for shapes it does not take. */
  grouped: GroupedAppend | null;
}

interface SourceRow {
  schema: string;
  name: string;
  body_format: BodyFormat;
  check_sql: string | null;
  spec: { includeHeaders: WebhookSource['includeHeaders']; mappedHeaders: MappedHeader[] };
}

export class WebhookSourceCache {
  private sources = new Map<string, WebhookSource | null>();

  invalidate(): void {
    this.sources.clear();
  }

  /** `schema.name` of every webhook source (to suggest one when a URL names none). */
  async names(db: LocalDatabase): Promise<string[]> {
    const result = await db.query<{ name: string }>(
      `SELECT n.nspname::text || '.' || c.relname::text AS name
         FROM mz_local.webhook_sources w
         JOIN pg_class c ON c.oid = w.relid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        ORDER BY 1`,
    );
    return result.rows.map((row) => row.name);
  }

  /** The source as last looked up, without asking the database: undefined when not looked up since the catalog changed. */
  peek(database: string, schema: string, name: string): WebhookSource | null | undefined {
    if (database !== LOCAL_DATABASE) return null;
    return this.sources.get(`${schema}\u0000${name}`);
  }

  async resolve(db: LocalDatabase, database: string, schema: string, name: string): Promise<WebhookSource | null> {
    const cached = this.peek(database, schema, name);
    if (cached !== undefined) return cached;
    const key = `${schema}\u0000${name}`;
    const result = await db.query<SourceRow>(
      `SELECT n.nspname::text AS schema, c.relname::text AS name, w.body_format, w.check_sql, w.spec
         FROM mz_local.webhook_sources w
         JOIN pg_class c ON c.oid = w.relid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, name],
    );
    const row = result.rows[0];
    const source = row ? prepareSource(db, row) : null;
    this.sources.set(key, source);
    return source;
  }
}

/** Parameters of the append statement, in order. */
export const enum AppendParam {
  Body = 1,
  Headers = 2,
  ReceivedAt = 3,
  Rows = 4,
  FilteredHeaders = 5,
  FirstMappedHeader = 6,
}

function prepareSource(db: LocalDatabase, row: SourceRow): WebhookSource {
  const table = `${sqlIdentifier(row.schema)}.${sqlIdentifier(row.name)}`;
  const columns = ['body'];
  const values: string[] = [];
  let rowsFrom: string;
  switch (row.body_format) {
    case 'json':
    case 'json_array':
      // $4 is null when the rows are the body itself (a JSON array, or one document): not sent twice.
      rowsFrom = `jsonb_array_elements(coalesce($${AppendParam.Rows}::text, convert_from($${AppendParam.Body}::bytea, 'UTF8'))::jsonb) AS mz_rows(body)`;
      break;
    case 'text':
      rowsFrom = `(SELECT $${AppendParam.Rows}::text AS body) AS mz_rows`;
      break;
    case 'bytes':
      rowsFrom = `(SELECT $${AppendParam.Body}::bytea AS body) AS mz_rows`;
      break;
  }
  values.push('mz_rows.body');
  if (row.spec.includeHeaders) {
    columns.push('headers');
    values.push(`$${AppendParam.FilteredHeaders}::text::hstore`);
  }
  row.spec.mappedHeaders.forEach((mapped, index) => {
    columns.push(sqlIdentifier(mapped.column));
    values.push(`$${AppendParam.FirstMappedHeader + index}::${mapped.bytes ? 'bytea' : 'text'}`);
  });
  // Every parameter must appear in the statement for PostgreSQL to type it, used or not.
  const typedParams = [
    `$${AppendParam.Body}::bytea`,
    `$${AppendParam.Headers}::hstore`,
    `$${AppendParam.ReceivedAt}::timestamptz`,
    `$${AppendParam.Rows}::text`,
    `$${AppendParam.FilteredHeaders}::hstore`,
  ];
  const insert = `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values.join(', ')} FROM ${rowsFrom}`;
  const appendSql = row.check_sql
    ? `WITH mz_check AS (${row.check_sql}),
       mz_insert AS (${insert} WHERE (SELECT ok AND secrets_found FROM mz_check) IS TRUE RETURNING 1)
       SELECT (SELECT ok FROM mz_check) AS ok, (SELECT secrets_found FROM mz_check) AS secrets_found,
              (SELECT count(*) FROM mz_insert)::int AS inserted, ${unusedParams(typedParams)}`
    : `WITH mz_insert AS (${insert} RETURNING 1)
       SELECT true AS ok, true AS secrets_found, (SELECT count(*) FROM mz_insert)::int AS inserted, ${unusedParams(typedParams)}`;
  return {
    schema: row.schema,
    name: row.name,
    bodyFormat: row.body_format,
    includeHeaders: row.spec.includeHeaders,
    mappedHeaders: row.spec.mappedHeaders,
    check: row.check_sql ? new PreparedStatement(db, row.check_sql) : null,
    checkShape: row.check_sql ? checkShape(row.check_sql) : null,
    append: new PreparedStatement(db, appendSql),
    grouped: groupedAppend(db, {
      table,
      bodyFormat: row.body_format,
      checkSql: row.check_sql,
      includeHeaders: row.spec.includeHeaders !== null,
      mappedHeaders: row.spec.mappedHeaders,
      columns,
    }),
  };
}

function unusedParams(typedParams: string[]): string {
  return `(${typedParams.map((param) => `${param} IS NULL`).join(' AND ')}) AS mz_params_typed`;
}
