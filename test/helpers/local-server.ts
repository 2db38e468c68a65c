/** The local server in-process for tests: in memory, on free ports, with a pg client. */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../scripts/local/local-server.ts';
import { compiledPGliteModule } from '../../scripts/local/engine/compiled-pglite.ts';
import { borrowDatabase, TEST_SHARED_BUFFERS } from './database-pool.ts';

export interface TestServer {
  server: LocalServer;
  sql: pg.Client;
  /** Runs one query and returns its rows. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startTestServer(options: LocalServerOptions = {}): Promise<TestServer> {
  const server = opensItsOwnDatabase(options)
    ? await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, sharedBuffers: TEST_SHARED_BUFFERS, ...(await compiledModule()), ...options })
    : await startOnPooledDatabase(options);
  const sql = new pg.Client(server.pgUrl);
  await sql.connect();
  return {
    server,
    sql,
    async query<T>(text: string, values?: unknown[]) {
      const result = await sql.query(text, values as unknown[] | undefined);
      return result.rows as T[];
    },
    async close() {
      await sql.end().catch(() => {});
      await server.stop();
    },
  };
}

/**
 * A server whose options are about the database (a data directory, its size or limits) opens its
 * own; every other in-memory server runs on one of the worker's pooled databases (database-pool.ts).
 */
function opensItsOwnDatabase(options: LocalServerOptions): boolean {
  return options.memory === false || options.dataDir !== undefined || options.sharedBuffers !== undefined || options.maxResultBytes !== undefined || options.wasmModule !== undefined;
}

async function startOnPooledDatabase(options: LocalServerOptions): Promise<LocalServer> {
  const database = await borrowDatabase();
  try {
    return await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, ...options, database });
  } catch (error) {
    await database.giveBack();
    throw error;
  }
}

/** PGlite compiled once for the worker's many servers (a test server lives seconds). */
async function compiledModule(): Promise<{ wasmModule?: WebAssembly.Module }> {
  const wasmModule = await compiledPGliteModule();
  return wasmModule ? { wasmModule } : {};
}

/**
 * One in-memory server for the tests of a file (or of the describe block it is called in): started
 * before them, stopped after them. The object returned stands for it from the first test on.
 */
export function serverForTests(options: LocalServerOptions = {}): TestServer {
  let current: TestServer | undefined;
  const started = (): TestServer => {
    if (!current) throw new Error('the test server is used before its beforeAll started it (or after afterAll stopped it)');
    return current;
  };
  beforeAll(async () => {
    current = await startTestServer(options);
  });
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get server() {
      return started().server;
    },
    get sql() {
      return started().sql;
    },
    query: <T = Record<string, unknown>>(text: string, values?: unknown[]) => started().query<T>(text, values),
    close: () => started().close(),
  };
}

/** The first row's values in column order (columns may share a name). */
export async function firstRowValues(t: TestServer, sql: string): Promise<unknown[]> {
  const result = await t.sql.query({ text: sql, rowMode: 'array' });
  return result.rows[0] as unknown[];
}

/** The message `sql` fails with on the test server; a statement that runs fails the test instead. */
export async function errorMessageOf(t: TestServer, sql: string): Promise<string> {
  try {
    await t.query(sql);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected ${sql} to fail`);
}

export function hmacHex(secret: string, body: string | Buffer, algorithm = 'sha1'): string {
  return createHmac(algorithm, secret).update(body).digest('hex');
}

export interface PostResult {
  status: number;
  text: string;
}

export async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<PostResult> {
  const response = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
  return { status: response.status, text: await response.text() };
}
