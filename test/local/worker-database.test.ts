/**
 * The local server's database on its own thread answers as an embedded PGlite does: typed rows,
 * errors with their fields, protocol responses whole and in order, the session's transaction
 * state, and a clear failure once it is gone.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerDatabase } from '../../scripts/local/engine/worker-database.ts';
import { temporaryDirectory } from '../helpers/temp-project.ts';
import { cString, frame } from '../../scripts/local/engine/protocol-bytes.ts';

/** Small shared buffers, as the test servers use: PGlite writes over all of them at start. */
const SMALL = { sharedBuffers: '16MB' } as const;

let db: WorkerDatabase;
beforeAll(async () => {
  db = await WorkerDatabase.open(SMALL);
});
afterAll(async () => {
  await db?.close();
});

/** A simple-query message, and the message types of its response in order. */
async function simpleQuery(sql: string): Promise<{ types: string; bytes: number }> {
  const parts: Uint8Array[] = [];
  await db.execProtocolRawStream(frame('Q', [cString(sql)]), { onRawData: (data) => parts.push(data) });
  const bytes = Buffer.concat(parts);
  let types = '';
  for (let offset = 0; offset + 5 <= bytes.length; offset += 1 + bytes.readInt32BE(offset + 1)) types += String.fromCharCode(bytes[offset]!);
  return { types, bytes: bytes.length };
}

describe('a database on its own thread', () => {
  it('returns rows with their types, as objects or arrays', async () => {
    const { rows } = await db.query<{ n: number; doc: unknown; at: Date; raw: Uint8Array; tags: string[] }>(
      `SELECT $1::int + 1 AS n, '{"plan": "pro", "seats": [1, 2]}'::jsonb AS doc, '2026-11-23 10:00:00+00'::timestamptz AS at, '\\x0102ff'::bytea AS raw, ARRAY['a', 'b'] AS tags`,
      [41],
    );
    expect(rows).toEqual([{ n: 42, doc: { plan: 'pro', seats: [1, 2] }, at: new Date('2026-11-23T10:00:00Z'), raw: new Uint8Array([1, 2, 255]), tags: ['a', 'b'] }]);
    const arrays = await db.query<unknown[]>(`SELECT 1 AS a, 'two' AS b`, [], { rowMode: 'array' });
    expect(arrays.rows).toEqual([[1, 'two']]);
    const results = await db.exec(`CREATE TEMP TABLE thread_notes (n int); INSERT INTO thread_notes VALUES (1), (2); SELECT count(*)::int AS c FROM thread_notes`);
    expect(results.at(-1)!.rows).toEqual([{ c: 2 }]);
  });

  it("keeps PostgreSQL's error fields across the thread", async () => {
    const failure = await db.query(`SELECT 1 / (SELECT 0)`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toMatchObject({ message: 'division by zero', code: '22012', severity: 'ERROR' });
    const syntax = await db.query(`SELECT FROM WHERE nothing`).catch((error: unknown) => error);
    expect(syntax).toMatchObject({ code: '42601', position: expect.any(String) });
    // The session is usable afterwards.
    expect((await db.query<{ ok: boolean }>(`SELECT true AS ok`)).rows).toEqual([{ ok: true }]);
  });

  it('streams a protocol response whole and in order, and reports the transaction state with its end', async () => {
    expect(db.isInTransaction()).toBe(false);
    expect((await simpleQuery('BEGIN')).types).toBe('CZ');
    expect(db.isInTransaction()).toBe(true);
    // ~3 MB of rows: more than one part goes ahead of the call's end.
    const big = await simpleQuery(`SELECT repeat('x', 1000) AS filler FROM generate_series(1, 3000)`);
    expect(big.types).toBe(`T${'D'.repeat(3000)}CZ`);
    expect(big.bytes).toBeGreaterThan(3_000_000);
    expect((await simpleQuery('COMMIT')).types).toBe('CZ');
    expect(db.isInTransaction()).toBe(false);
    // An error inside a transaction block leaves it open (and failed) until ROLLBACK.
    expect((await simpleQuery('BEGIN; SELECT 1 / 0')).types).toBe('CEZ');
    expect(db.isInTransaction()).toBe(true);
    await simpleQuery('ROLLBACK');
    expect(db.isInTransaction()).toBe(false);
  });

  it('answers calls made together in the order they were made', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => db.query<{ n: number }>(`SELECT $1::int AS n`, [index])));
    expect(answers.map((answer) => answer.rows[0]!.n)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });
});

describe('its lifetime', () => {
  it('fails every call after close with why', async () => {
    const closing = await WorkerDatabase.open(SMALL);
    await closing.close();
    await expect(closing.query('SELECT 1')).rejects.toThrow('the database is closed');
    await closing.close();
  });

  it('says when its thread ends by itself, and fails every call after that with why', async () => {
    const lost: Error[] = [];
    const dying = await WorkerDatabase.open({ ...SMALL, onLost: (reason) => lost.push(reason) });
    const inFlight = dying.query(`SELECT pg_sleep(0.2)`);
    // As a crash would end it (the thread is the class's own; nothing else reaches it).
    await (dying as unknown as { worker: Worker }).worker.terminate();
    await expect(inFlight).rejects.toThrow(/the local database stopped: its thread exited \(code 1\); restart the server/);
    await expect(dying.query('SELECT 1')).rejects.toThrow(/the local database stopped/);
    expect(lost.map((reason) => reason.message)).toEqual(['the local database stopped: its thread exited (code 1); restart the server']);
    // Closing it afterwards is quiet, and a close is never reported as a loss.
    await dying.close();
    const closed: Error[] = [];
    const closing = await WorkerDatabase.open({ ...SMALL, onLost: (reason) => closed.push(reason) });
    await closing.close();
    expect(closed).toEqual([]);
  });

  it("says why a database cannot be opened, in the engine's words", async () => {
    const dir = temporaryDirectory('worker-db-');
    const notADirectory = path.join(dir, 'data');
    writeFileSync(notADirectory, 'a file where the data directory should be');
    await expect(WorkerDatabase.open({ dataDir: notADirectory })).rejects.toThrow(notADirectory);
  });

  it('refuses shared buffers that are not a size, saying what a size looks like', async () => {
    await expect(WorkerDatabase.open({ sharedBuffers: 'lots' })).rejects.toThrow("shared buffers 'lots' is not a size such as 16MB or 1GB");
  });
});
