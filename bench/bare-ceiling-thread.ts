/**
 * The ceiling the webhook figures are compared with: bare PGlite inserts of the same rows,
 * embedded in a thread of its own (started by bench/bare-ceiling.ts). A thread of its own, as the
 * local server's database has: measured on the bench's main thread instead, the ceiling carried
 * whatever the bench process had built before (its collections traced the whole process heap), and
 * went from ~100k to ~71k rows/s in 100-row inserts depending on what ran earlier.
 *
 * Every run writes into a table of its own: an in-memory table slows down as it grows (the same
 * 300 batches into one table went from ~105k to ~35–78k rows/s by its fifth run).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../scripts/local/engine/engine.ts';
import { PreparedStatement } from '../scripts/local/engine/prepared-statement.ts';

export interface BareCeilingData {
  /** One JSON event per single-row insert. */
  readonly singles: readonly string[];
  /** JSON arrays of events, one per batch insert. */
  readonly batches: readonly string[];
  readonly batchSize: number;
  /** hstore text of the headers column. */
  readonly headers: string;
}

export type BareCeilingCommand = { kind: 'singles' } | { kind: 'batches' } | { kind: 'query'; count: number } | { kind: 'close' };
export type BareCeilingReply = { kind: 'ready' } | { kind: 'rate'; rate: number } | { kind: 'failed'; message: string };

const port = parentPort!;
const data = workerData as BareCeilingData;
const db = await openDatabase();
let tables = 0;

async function freshTable(): Promise<string> {
  const name = `bare_${tables++}`;
  await db.exec(`CREATE TABLE ${name} (body jsonb NOT NULL, headers hstore NOT NULL, event_type text)`);
  return name;
}

/** Rows per second. Prepared statements: the fastest direct way found here (query() re-plans every call). */
async function run(command: BareCeilingCommand): Promise<number> {
  switch (command.kind) {
    case 'singles': {
      const insertOne = new PreparedStatement(db, `INSERT INTO ${await freshTable()} (body, headers, event_type) VALUES ($1::text::jsonb, $2::text::hstore, $3::text)`);
      const started = performance.now();
      for (const body of data.singles) await insertOne.run([body, data.headers, 'track']);
      return data.singles.length / ((performance.now() - started) / 1000);
    }
    case 'batches': {
      const insertBatch = new PreparedStatement(
        db,
        `INSERT INTO ${await freshTable()} (body, headers, event_type) SELECT value, $2::text::hstore, $3::text FROM jsonb_array_elements($1::text::jsonb)`,
      );
      const started = performance.now();
      for (const body of data.batches) await insertBatch.run([body, data.headers, 'track']);
      return (data.batches.length * data.batchSize) / ((performance.now() - started) / 1000);
    }
    case 'query': {
      const table = await freshTable();
      const started = performance.now();
      for (const body of data.singles.slice(0, command.count)) {
        await db.query(`INSERT INTO ${table} (body, headers, event_type) VALUES ($1::text::jsonb, $2::text::hstore, $3)`, [body, data.headers, 'track']);
      }
      return command.count / ((performance.now() - started) / 1000);
    }
    case 'close':
      await db.close();
      process.exit(0);
  }
}

port.on('message', (command: BareCeilingCommand) => {
  run(command).then(
    (rate) => port.postMessage({ kind: 'rate', rate } satisfies BareCeilingReply),
    (error: unknown) => port.postMessage({ kind: 'failed', message: (error as Error).message } satisfies BareCeilingReply),
  );
});
port.postMessage({ kind: 'ready' } satisfies BareCeilingReply);
