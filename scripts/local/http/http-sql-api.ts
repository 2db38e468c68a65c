/**
 * Materialize's HTTP SQL API on the HTTP port (doc/user/content/integrations/http-api.md):
 *
 *   POST /api/sql  {"query": "SELECT 1; SELECT 2"}                         simple: statements of one
 *                                                                          string, in an implicit
 *                                                                          transaction
 *   POST /api/sql  {"queries": [{"query": "SELECT $1", "params": ["1"]}]}   extended: one statement
 *                                                                          each, text parameters
 *
 * → {"results": [ {"tag", "rows", "desc": {"columns": [{"name", "type_oid", "type_len", "type_mod"}]},
 *    "notices"} | {"ok": tag, "notices"} | {"error": {"message", "code", "detail"?, "hint"?}, "notices"} ]}
 *
 * Statements go through the server's own Postgres wire port, so the API gets exactly what psql
 * gets — the one translation point, Materialize's errors and text formats — and processing stops
 * at the first error, as Materialize's does. Session-bound statements (COPY, DECLARE, FETCH, CLOSE,
 * SUBSCRIBE) are refused, as there.
 */
import pg from 'pg';
import { splitStatements, tokenize } from '../sql/tokens.ts';

export interface SqlApiNotice {
  severity: string;
  message: string;
}

export type SqlApiResult =
  /**
   * `rowsJson`: each row as its JSON text (an array), built as the row arrived: a large result is
   * held once, as text, not as parsed values and again as the answer's JSON.
   */
  | { tag: string; rowsJson: string[]; desc: { columns: Array<{ name: string; type_oid: number; type_len: number; type_mod: number }> }; notices: SqlApiNotice[] }
  | { ok: string; notices: SqlApiNotice[] }
  | { error: SqlApiError; notices: SqlApiNotice[] };

/**
 * Materialize's error object (src/environmentd/src/http/sql.rs SqlError: message, code, detail?,
 * hint?). It has no position, so neither has this one, though PostgreSQL gives one.
 */
export interface SqlApiError {
  message: string;
  code: string;
  detail?: string;
  hint?: string;
}

/** A request the API refuses before running anything: a 400 with this text. */
export class SqlApiRequestError extends Error {}

const SESSION_BOUND = new Set(['copy', 'declare', 'fetch', 'close', 'subscribe']);

/** Statement → a result; raw text values in, JSON values out (numbers, booleans, jsonb as JSON). */
export class HttpSqlApi {
  private pool: pg.Pool | null = null;

  constructor(private readonly connection: () => { host: string; port: number }) {}

  /**
   * Runs a request's statements. `signal`: the HTTP client went away — its connection to the wire
   * port is closed, which stops the statement running for it (nobody would read the answer).
   */
  async run(body: unknown, signal?: AbortSignal): Promise<{ results: SqlApiResult[] }> {
    const request = parseRequest(body);
    const client = await this.clientPool().connect();
    let gone = false;
    const leave = () => {
      gone = true;
      // Destroyed, not returned to the pool: its statement ends with its connection.
      client.release(new Error('the HTTP client went away'));
    };
    if (signal?.aborted) leave();
    else signal?.addEventListener('abort', leave, { once: true });
    const notices: SqlApiNotice[] = [];
    const onNotice = (notice: { severity?: string; message?: string }) => notices.push({ severity: (notice.severity ?? 'notice').toLowerCase(), message: notice.message ?? '' });
    client.on('notice', onNotice);
    const results: SqlApiResult[] = [];
    try {
      if (request.kind === 'simple') {
        const implicit = request.statements.length > 1 && !request.statements.some((sql) => /^\s*(begin|start|commit|rollback|end)\b/i.test(sql));
        if (implicit) await client.query('BEGIN');
        for (const sql of request.statements) {
          const result = await runOne(client, sql, undefined, notices);
          results.push(result);
          if ('error' in result) break;
        }
        if (implicit) await client.query('error' in results[results.length - 1]! ? 'ROLLBACK' : 'COMMIT');
      } else {
        for (const query of request.queries) {
          const result = await runOne(client, query.query, query.params, notices);
          results.push(result);
          if ('error' in result) break;
        }
      }
      // A transaction left open must not outlive the request: the API has no sessions.
      const texts = request.kind === 'simple' ? request.statements : request.queries.map((query) => query.query);
      if (texts.some((text) => /^\s*(begin|start)\b/i.test(text))) await client.query('ROLLBACK').catch(() => {});
    } finally {
      signal?.removeEventListener('abort', leave);
      client.off('notice', onNotice);
      if (!gone) client.release();
    }
    return { results };
  }

  async close(): Promise<void> {
    await this.pool?.end();
    this.pool = null;
  }

  private clientPool(): pg.Pool {
    if (!this.pool) {
      const { host, port } = this.connection();
      this.pool = new pg.Pool({
        host,
        port,
        user: 'materialize',
        database: 'materialize',
        max: 4,
        // Values arrive as the server's text (Materialize's formats); typed here per column.
        types: { getTypeParser: () => (value: string) => value },
      });
      this.pool.on('error', () => {});
    }
    return this.pool;
  }
}

/**
 * The answer to a POST /api/sql whose Content-Type is not JSON: Materialize reads the body with
 * axum's `Json` extractor (src/environmentd/src/http/sql.rs: `Json(request): Json<SqlRequest>`),
 * which refuses it before reading the body with axum's MissingJsonContentType rejection
 * (axum/src/extract/rejection.rs): 415 Unsupported Media Type, this text. It also keeps web pages
 * out: a cross-origin POST with `Content-Type: text/plain` is a CORS "simple request", sent without
 * a preflight; one with application/json is not.
 */
export const JSON_CONTENT_TYPE_REQUIRED = 'Expected request with `Content-Type: application/json`';

/**
 * Whether axum's `Json` takes this Content-Type (axum/src/json.rs json_content_type): type
 * `application`, subtype `json` or a `+json` suffix (application/vnd.api+json), any parameters.
 */
export function isJsonContentType(header: string | undefined): boolean {
  const match = /^\s*([a-z0-9!#$&^_.+-]+)\/([a-z0-9!#$&^_.+-]+)\s*(?:;.*)?$/i.exec(header ?? '');
  if (!match) return false;
  const subtype = match[2]!.toLowerCase();
  return match[1]!.toLowerCase() === 'application' && (subtype === 'json' || subtype.endsWith('+json'));
}

export type ParsedRequest = { kind: 'simple'; statements: string[] } | { kind: 'extended'; queries: Array<{ query: string; params: Array<string | null> | undefined }> };

/** A request body in either form, checked; session-bound statements refused unless `allow` says. */
export function parseRequest(body: unknown, allowSubscribe = false): ParsedRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new SqlApiRequestError('request body must be a JSON object with "query" or "queries"');
  const record = body as Record<string, unknown>;
  if (typeof record.query === 'string') {
    const query = record.query;
    const texts = splitStatements(query, tokenize(query)).map((span) => query.slice(span.start, span.end));
    for (const text of texts) refuseSessionBound(text, allowSubscribe);
    return { kind: 'simple', statements: texts };
  }
  if (Array.isArray(record.queries)) {
    const queries = record.queries.map((entry, index) => {
      if (entry === null || typeof entry !== 'object' || typeof (entry as Record<string, unknown>).query !== 'string') {
        throw new SqlApiRequestError(`queries[${index}] must be an object with a "query" string`);
      }
      const { query, params } = entry as { query: string; params?: unknown };
      if (params !== undefined && (!Array.isArray(params) || params.some((param) => param !== null && typeof param !== 'string'))) {
        throw new SqlApiRequestError(`queries[${index}].params must be an array of strings and nulls (the API does not accept JSON numbers)`);
      }
      const spans = splitStatements(query, tokenize(query));
      if (spans.length !== 1) throw new SqlApiRequestError(`queries[${index}] must contain exactly one statement, not ${spans.length}`);
      refuseSessionBound(query, allowSubscribe);
      return { query, params: params as Array<string | null> | undefined };
    });
    return { kind: 'extended', queries };
  }
  throw new SqlApiRequestError('request body must have "query" (a string) or "queries" (an array)');
}

function refuseSessionBound(sql: string, allowSubscribe: boolean): void {
  const first = /^\s*([a-z]+)/i.exec(sql)?.[1]?.toLowerCase();
  if (first && SESSION_BOUND.has(first) && !(allowSubscribe && first === 'subscribe')) throw new SqlApiRequestError(`unsupported via this API: ${first.toUpperCase()}`);
}

/** The part of pg's client that reports each CommandComplete's full text (Result keeps only its first word). */
interface TagSource {
  connection: { on(event: 'commandComplete', listener: (message: { text: string }) => void): void; off(event: 'commandComplete', listener: (message: { text: string }) => void): void };
}

/** Runs one statement on `client` and describes its outcome as the API does. */
export async function runOne(client: pg.ClientBase, sql: string, params: Array<string | null> | undefined, notices: SqlApiNotice[]): Promise<SqlApiResult> {
  const taken = () => notices.splice(0);
  let completed: string | undefined;
  const onComplete = (message: { text: string }) => {
    completed = message.text;
  };
  const connection = (client as unknown as TagSource).connection;
  connection.on('commandComplete', onComplete);
  try {
    // Rows are turned into JSON text as they arrive and not kept by pg (a 'row' listener and no
    // callback: pg then does not accumulate them).
    const rowsJson: string[] = [];
    // pg's typings leave rowMode out of a Query's config, though Query takes it.
    const query = new pg.Query({ text: sql, values: params ?? [], rowMode: 'array' } as pg.QueryConfig);
    query.on('row', (row: Array<string | null>, result?: { fields: pg.FieldDef[] }) => {
      rowsJson.push(JSON.stringify(row.map((value, index) => jsonValue(value, result!.fields[index]!.dataTypeID))));
    });
    const result = await new Promise<pg.QueryResult>((resolve, reject) => {
      query.once('end', resolve);
      query.once('error', reject);
      client.query(query);
    });
    const tag = completed ?? commandTag(result);
    if (result.fields.length === 0) return { ok: tag, notices: taken() };
    return {
      tag,
      rowsJson,
      desc: { columns: result.fields.map((field) => ({ name: field.name, type_oid: field.dataTypeID, type_len: field.dataTypeSize, type_mod: field.dataTypeModifier })) },
      notices: taken(),
    };
  } catch (error) {
    const failure = error as pg.DatabaseError;
    return {
      error: {
        message: failure.message,
        code: failure.code ?? 'XX000',
        ...(failure.detail ? { detail: failure.detail } : {}),
        ...(failure.hint ? { hint: failure.hint } : {}),
      },
      notices: taken(),
    };
  } finally {
    connection.off('commandComplete', onComplete);
  }
}

/** How much JSON one piece of a streamed answer holds before it is written. */
const PIECE_CHARS = 1 << 20;

/**
 * The answer's JSON in pieces of about PIECE_CHARS, as JSON.stringify({results}) would write it:
 * a large result is never one string (V8 limits a string's length, and a second copy of a result
 * near max_result_size is what ran the server out of heap).
 */
export function* answerJsonPieces(answer: { results: SqlApiResult[] }): Generator<string> {
  yield '{"results":[';
  for (const [index, result] of answer.results.entries()) {
    if (index > 0) yield ',';
    if (!('rowsJson' in result)) {
      yield JSON.stringify(result);
      continue;
    }
    const { rowsJson, ...rest } = result;
    yield `{"tag":${JSON.stringify(rest.tag)},"rows":[`;
    let piece = '';
    for (const [rowIndex, row] of rowsJson.entries()) {
      piece += (rowIndex > 0 ? ',' : '') + row;
      if (piece.length >= PIECE_CHARS) {
        yield piece;
        piece = '';
      }
    }
    yield `${piece}],"desc":${JSON.stringify(rest.desc)},"notices":${JSON.stringify(rest.notices)}}`;
  }
  yield ']}';
}

/** A command tag rebuilt from pg's Result, should the CommandComplete text be missing. */
function commandTag(result: pg.QueryResult): string {
  const command = result.command ?? '';
  if (['SELECT', 'UPDATE', 'DELETE', 'MOVE', 'FETCH', 'COPY'].includes(command)) return `${command} ${result.rowCount ?? 0}`;
  if (command === 'INSERT') return `INSERT 0 ${result.rowCount ?? 0}`;
  return command;
}

const INTEGER_TYPES = new Set([20, 21, 23, 26]); // int8, int2, int4, oid
const FLOAT_TYPES = new Set([700, 701]);
const JSON_TYPES = new Set([114, 3802]);

/** A text value as the JSON Materialize's API sends: numbers, booleans and JSON as such. */
export function jsonValue(value: string | null, typeOid: number): unknown {
  if (value === null) return null;
  if (typeOid === 16) return value === 't';
  if (INTEGER_TYPES.has(typeOid)) {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : value;
  }
  if (FLOAT_TYPES.has(typeOid)) {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  if (JSON_TYPES.has(typeOid)) return JSON.parse(value) as unknown;
  return value;
}
