/**
 * The deployer's view of a database: sessions that run one statement at a time, over the Postgres
 * wire protocol (`pg`). Real Materialize and the local server are reached the same way, so what
 * the tests exercise locally is the code path that runs in production.
 */
import pg from 'pg';
import { quoteIdentifier } from '../../shared/sql-scan.ts';

export interface QueryResult<Row> {
  readonly rows: Row[];
}

export interface SqlSession {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
}

/** How to open a session: a `pg` client configuration (the password never leaves it). */
export type SessionConfig = pg.ClientConfig;

/** A `pg` client with the settings every deploy session needs. */
export async function openSession(config: SessionConfig, cluster: string): Promise<PgSession> {
  const client = new pg.Client({ application_name: 'segment-materialize', ...config });
  try {
    await client.connect();
    // Reads of the state table need a cluster; the target's cluster is the one users configured.
    await client.query(`SET cluster = ${quoteIdentifier(cluster)}`);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return new PgSession(client);
}

export class PgSession implements SqlSession {
  private closed = false;
  constructor(private readonly client: pg.Client) {
    // An error on an idle connection (server gone) must not crash the process; the next query fails instead.
    client.on('error', () => {});
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    const result = await this.client.query(sql, params as unknown[] | undefined);
    return { rows: result.rows as Row[] };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end().catch(() => {});
  }
}

/**
 * Up to `size` sessions opened on demand: independent models deploy in parallel, each statement on
 * a session of its own.
 */
export class SessionPool {
  private readonly idle: PgSession[] = [];
  private readonly all: PgSession[] = [];
  private readonly waiting: Array<(session: PgSession) => void> = [];
  private opening = 0;

  constructor(
    private readonly open: () => Promise<PgSession>,
    readonly size: number,
  ) {}

  /** The first session, opened now: used for state reads and writes. */
  async primary(): Promise<PgSession> {
    if (this.all.length === 0) {
      const session = await this.open();
      this.all.push(session);
      this.idle.push(session);
    }
    return this.all[0]!;
  }

  async run<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    const session = await this.acquire();
    try {
      return await work(session);
    } finally {
      this.release(session);
    }
  }

  private async acquire(): Promise<PgSession> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.length + this.opening < this.size) {
      this.opening++;
      try {
        const session = await this.open();
        this.all.push(session);
        return session;
      } finally {
        this.opening--;
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(session: PgSession): void {
    const next = this.waiting.shift();
    if (next) next(session);
    else this.idle.push(session);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((session) => session.close()));
    this.all.length = 0;
    this.idle.length = 0;
  }
}
