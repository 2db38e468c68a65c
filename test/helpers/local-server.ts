/** The local server in-process for tests: in memory, on free ports, with a pg client. */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../scripts/local/local-server.ts';

export interface TestServer {
  server: LocalServer;
  sql: pg.Client;
  /** Runs one query and returns its rows. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startTestServer(options: LocalServerOptions = {}): Promise<TestServer> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, ...options });
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
