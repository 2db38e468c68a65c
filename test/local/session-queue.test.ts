/**
 * The session queue in front of the one PGlite session: a connection's extended query goes to the
 * database message after message without waiting for answers (a round trip each, with the
 * database on its own thread), yet nobody else's work lands inside it or inside a transaction.
 */
import { describe, expect, it } from 'vitest';
import type { Results } from '@electric-sql/pglite';
import type { LocalDatabase } from '../../scripts/local/engine/engine.ts';
import { SessionQueue } from '../../scripts/local/engine/session-queue.ts';
import { cString, frame, int16, int32 } from '../../scripts/local/engine/protocol-bytes.ts';

/** A database whose answers come when the test says: it records what reached it, in order. */
class ScriptedDatabase implements LocalDatabase {
  readonly received: string[] = [];
  private readonly waiting: Array<() => void> = [];
  inTransaction = false;

  async query<T>(sql: string): Promise<Results<T>> {
    this.received.push(`query ${sql}`);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return { rows: [], fields: [] } as unknown as Results<T>;
  }

  async exec(sql: string): Promise<Array<Results>> {
    this.received.push(`exec ${sql}`);
    return [];
  }

  async execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void> {
    const type = String.fromCharCode(message[0]!);
    this.received.push(type === 'Q' ? `Q ${new TextDecoder().decode(message.subarray(5, -1))}` : type);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    options.onRawData(new Uint8Array([message[0]!]));
  }

  isInTransaction(): boolean {
    return this.inTransaction;
  }

  async close(): Promise<void> {}

  /** Answers the oldest call waiting, and lets everything that follows from it run. */
  async answer(): Promise<void> {
    const next = this.waiting.shift();
    if (!next) throw new Error('nothing is waiting for an answer');
    next();
    await new Promise((resolve) => setImmediate(resolve));
  }

  get unanswered(): number {
    return this.waiting.length;
  }
}

function queueOver(db: ScriptedDatabase): SessionQueue {
  return new SessionQueue(db, {
    idleInTransactionTimeoutMs: 60_000,
    onIdleInTransaction: () => {},
    // As the wire server does: the message is handed over before the first await.
    execute: async (_handlerId, message, onData) => {
      await db.execProtocolRawStream(message, { onRawData: onData });
      return 1;
    },
  });
}

const parse = frame('P', [cString(''), cString('SELECT $1::int'), int16(0)]);
const bind = frame('B', [cString(''), cString(''), int16(0), int16(1), int32(1), new Uint8Array([0x37]), int16(0)]);
const execute = frame('E', [cString(''), int32(0)]);
const sync = frame('S', []);
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the session queue', () => {
  it("hands an extended query's messages over without waiting for answers, and runs other work after its Sync", async () => {
    const db = new ScriptedDatabase();
    const queue = queueOver(db);
    const answers: string[] = [];
    // A client sends its next message once the last one is settled (as pglite-socket does).
    const client = (async () => {
      for (const message of [parse, bind, execute, sync]) await queue.enqueue(1, message, (data) => answers.push(String.fromCharCode(data[0]!)));
    })();
    const other = queue.enqueue(2, frame('Q', [cString('SELECT 2')]), () => answers.push('other'));
    const local = queue.runLocal(async (database) => {
      answers.push('local');
      return database.exec('SELECT 3');
    }, 60_000);
    await settle();
    // Parse, Bind, Execute and Sync all reached the database before any answer.
    expect(db.received).toEqual(['P', 'B', 'E', 'S']);
    expect(db.unanswered).toBe(4);
    for (let index = 0; index < 3; index++) await db.answer();
    // Still inside the extended query: nothing else has started.
    expect(db.received).toEqual(['P', 'B', 'E', 'S']);
    await db.answer();
    await client;
    expect(answers.slice(0, 4)).toEqual(['P', 'B', 'E', 'S']);
    // After the Sync, the queue goes on in order: the other connection, then the local job.
    await settle();
    expect(db.received).toEqual(['P', 'B', 'E', 'S', 'Q SELECT 2']);
    await db.answer();
    await other;
    await local;
    expect(db.received).toEqual(['P', 'B', 'E', 'S', 'Q SELECT 2', 'exec SELECT 3']);
    expect(answers).toEqual(['P', 'B', 'E', 'S', 'other', 'local']);
    await queue.close();
  });

  it("keeps a connection's open transaction to itself: other work waits for its COMMIT", async () => {
    const db = new ScriptedDatabase();
    const queue = queueOver(db);
    const begin = queue.enqueue(1, frame('Q', [cString('BEGIN')]), () => {});
    await settle();
    db.inTransaction = true;
    await db.answer();
    await begin;
    const local = queue.runLocal((database) => database.exec('INSERT'), 60_000);
    const other = queue.enqueue(2, frame('Q', [cString('SELECT 2')]), () => {});
    const insideTransaction = queue.enqueue(1, frame('Q', [cString('SELECT 1')]), () => {});
    await settle();
    expect(db.received).toEqual(['Q BEGIN', 'Q SELECT 1']);
    await db.answer();
    await insideTransaction;
    const commit = queue.enqueue(1, frame('Q', [cString('COMMIT')]), () => {});
    await settle();
    db.inTransaction = false;
    await db.answer();
    await commit;
    await settle();
    // The local job was queued before the other connection's statement, and runs first.
    expect(db.received).toEqual(['Q BEGIN', 'Q SELECT 1', 'Q COMMIT', 'exec INSERT', 'Q SELECT 2']);
    await db.answer();
    await Promise.all([local, other]);
    await queue.close();
  });
  it('a connection gone while its message runs in a transaction: the transaction is ended (ROLLBACK, then Sync) before anyone else runs', async () => {
    const db = new ScriptedDatabase();
    const queue = queueOver(db);
    const statement = queue.enqueue(1, frame('Q', [cString('BEGIN; SELECT pg_sleep(1)')]), () => {});
    await settle();
    // Its socket closes while the statement runs: pglite-socket clears its queue and asks for its transaction to end.
    queue.clearQueueForHandler(1);
    await queue.clearTransactionIfNeeded(1);
    const other = queue.enqueue(2, frame('Q', [cString('SELECT 2')]), () => {});
    db.inTransaction = true;
    await db.answer();
    await statement;
    await settle();
    expect(db.received).toEqual(['Q BEGIN; SELECT pg_sleep(1)', 'exec ROLLBACK', 'S']);
    db.inTransaction = false;
    await db.answer();
    await settle();
    expect(db.received).toEqual(['Q BEGIN; SELECT pg_sleep(1)', 'exec ROLLBACK', 'S', 'Q SELECT 2']);
    await db.answer();
    await other;
    await queue.close();
  });

  it('a crowd of background jobs (subscription snapshots) takes at most every other turn from appends', async () => {
    const db = new ScriptedDatabase();
    const queue = queueOver(db);
    const blocker = queue.runLocal((database) => database.query('blocker'), 60_000);
    await settle();
    const snapshots = [1, 2, 3].map((n) => queue.runLocal((database) => database.query(`snapshot ${n}`), 60_000, { background: true }));
    const appends = [1, 2].map((n) => queue.runLocal((database) => database.query(`append ${n}`), 60_000));
    for (let turn = 0; turn < 6; turn++) await db.answer();
    await Promise.all([blocker, ...snapshots, ...appends]);
    expect(db.received).toEqual(['query blocker', 'query snapshot 1', 'query append 1', 'query snapshot 2', 'query append 2', 'query snapshot 3']);
    await queue.close();
  });

  it('an append still queued at its bound fails with QueueBusyError whatever it waits behind (a long statement here)', async () => {
    const db = new ScriptedDatabase();
    const queue = queueOver(db);
    const statement = queue.enqueue(1, frame('Q', [cString('SELECT pg_sleep(30)')]), () => {});
    await settle();
    const started = Date.now();
    const append = queue.runLocal((database) => database.query('append'), 100).then(() => null, (error: Error) => error);
    const failure = await append;
    expect(failure?.name === 'Error' && failure.constructor.name).toBe('QueueBusyError');
    expect(failure?.message).toMatch(/a statement is still running on the local server \(waited 0\.1 s\)/);
    expect(Date.now() - started).toBeLessThan(2000);
    // It never reached the database.
    await db.answer();
    await statement;
    expect(db.received).toEqual(['Q SELECT pg_sleep(30)']);
    await queue.close();
  });
});
