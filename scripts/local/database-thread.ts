/**
 * The thread that runs PGlite for the local server (started by worker-database.ts). PGlite runs
 * synchronously once called; on its own thread, the server's thread keeps reading HTTP requests
 * and wire messages while a statement runs, instead of stalling behind it.
 *
 * Calls are run one at a time in the order they arrive, each answered with the session's
 * transaction state after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, type EmbeddedDatabase } from './engine.ts';
import { concat } from './protocol-bytes.ts';
import { errorFields, type DatabaseCall, type DatabaseThreadMessage, type DatabaseThreadStart } from './database-thread-messages.ts';

const port = parentPort;
if (!port) throw new Error('database-thread.ts runs as a worker thread (see worker-database.ts)');
const start = workerData as DatabaseThreadStart;

function post(message: DatabaseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** How much of a protocol response is held before it goes ahead of the call's end. */
const PART_BYTES = 1 << 20;

async function run(db: EmbeddedDatabase, call: DatabaseCall): Promise<unknown> {
  switch (call.kind) {
    case 'query':
      return db.query(call.sql, [...call.params], call.rowMode ? { rowMode: call.rowMode } : {});
    case 'exec':
      return db.exec(call.sql);
    case 'protocol': {
      // PGlite hands out views of its memory: each part is copied out. Parts wait to go with the
      // reply, so the response's end (ReadyForQuery) reaches the server's thread together with the
      // call's end and transaction state: a client answered cannot act before the server knows.
      // A large result goes ahead in parts of about PART_BYTES as it is produced.
      const parts: Uint8Array[] = [];
      let buffered = 0;
      await db.execProtocolRawStream(call.message, {
        onRawData: (data) => {
          parts.push(data.slice());
          buffered += data.length;
          if (buffered >= PART_BYTES) {
            const ahead = concat(parts.splice(0));
            buffered = 0;
            post({ kind: 'data', id: call.id, data: ahead }, [ahead.buffer as ArrayBuffer]);
          }
        },
      });
      return concat(parts);
    }
    case 'close':
      await db.close();
      return null;
  }
}

/** The session's transaction state; none once closed (or if PGlite can no longer say). */
function inTransaction(db: EmbeddedDatabase): boolean {
  try {
    return !db.closed && db.isInTransaction();
  } catch {
    return false;
  }
}

let opened: EmbeddedDatabase | null = null;
try {
  opened = await openDatabase({ ...(start.dataDir ? { dataDir: start.dataDir } : {}), ...(start.logs ? { log: (line: string) => post({ kind: 'log', line }) } : {}) });
} catch (error) {
  // Said to the opener, which ends this thread; nothing is listened for.
  post({ kind: 'failed', error: errorFields(error) });
}
if (opened) serve(opened);

function serve(open: EmbeddedDatabase): void {
  // One call at a time, in the order they came: a raw protocol call would otherwise run at once,
  // ahead of a query() still waiting for PGlite's lock (the server's thread may send the next
  // message of a client's extended query before the previous one is answered).
  // Each answer is posted before the next call starts: it carries the transaction state after it.
  let previous: Promise<void> = Promise.resolve();
  port!.on('message', (call: DatabaseCall) => {
    previous = previous.then(async () => {
      try {
        const result = await run(open, call);
        post({ kind: 'reply', id: call.id, result, inTransaction: inTransaction(open) }, result instanceof Uint8Array ? [result.buffer as ArrayBuffer] : []);
      } catch (error) {
        post({ kind: 'error', id: call.id, error: errorFields(error), inTransaction: inTransaction(open) });
      }
    });
  });
  post({ kind: 'ready' });
}
