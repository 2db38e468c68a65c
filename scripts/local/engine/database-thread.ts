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
import { concat, rewriteMessages } from './protocol-bytes.ts';
import { errorFields, type DatabaseCall, type DatabaseThreadMessage, type DatabaseThreadStart } from './database-thread-messages.ts';
import { rewriteCancelError, statementEndedText, StatementInterrupts, type StatementLimits } from './statement-interrupts.ts';

const port = parentPort;
if (!port) throw new Error('database-thread.ts runs as a worker thread (see worker-database.ts)');
const start = workerData as DatabaseThreadStart;

function post(message: DatabaseThreadMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** How much of a protocol response is held before it goes ahead of the call's end. */
const PART_BYTES = 1 << 20;

// Installed before PGlite is instantiated: it wraps the imports through which a statement is stopped.
const interrupts = new StatementInterrupts(new Int32Array(start.interrupts));
interrupts.installHooks();

/**
 * The limits clients' statements run under: the session's statement_timeout and max_result_size
 * (Materialize's variable, kept as the custom setting mz.max_result_size). Read again after a
 * client's message that may have changed them, once its extended query (if any) has ended.
 */
let limits: StatementLimits = { timeoutMs: 0, maxResultBytes: start.maxResultBytes };
let limitsStale = true;
const MAY_CHANGE_LIMITS = /statement_timeout|max_result_size|reset|rollback|abort|discard|set_config/i;
const SWITCHES_LIMITS = /^SELECT set_config\('(?:statement_timeout|mz\.max_result_size)'|, set_config\('(?:statement_timeout|mz\.max_result_size)'/;
const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'
const SYNC = 0x53; // 'S'
const textDecoder = new TextDecoder();

function noteLimitChanges(message: Uint8Array): void {
  if ((message[0] === QUERY || message[0] === PARSE) && MAY_CHANGE_LIMITS.test(textDecoder.decode(message.subarray(5)))) limitsStale = true;
}

async function readLimits(db: EmbeddedDatabase): Promise<void> {
  try {
    const result = await db.query<{ timeout: string | null; max_result_size: string | null }>(
      `SELECT (SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS timeout, current_setting('mz.max_result_size', true) AS max_result_size`,
    );
    const row = result.rows[0];
    const maxResult = Number(row?.max_result_size);
    limits = {
      timeoutMs: Number(row?.timeout ?? 0) || 0,
      maxResultBytes: row?.max_result_size && Number.isFinite(maxResult) && maxResult >= 0 ? maxResult : start.maxResultBytes,
    };
    limitsStale = false;
  } catch {
    // Inside a failed transaction nothing can be read: read again after the next message.
  }
}

/** A query of the server's own that must not hold the database past `timeoutMs` (SUBSCRIBE's). */
async function runBoundedQuery(db: EmbeddedDatabase, id: number, sql: string, params: unknown[], rowMode: 'object' | 'array' | undefined, timeoutMs: number): Promise<unknown> {
  interrupts.begin(id, { timeoutMs, maxResultBytes: Number.POSITIVE_INFINITY });
  let failure: unknown;
  try {
    return await db.query(sql, params, rowMode ? { rowMode } : {});
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // The one place the statement's limits end: a timeout that stopped it rewords its error.
    const reason = interrupts.end();
    if (reason === 'timeout' && failure instanceof Error) failure.message = `canceling statement due to statement timeout (the local server stops a subscribed query that holds the database longer than ${timeoutMs / 1000} s)`;
  }
}

/** A client's message: runs under the session's limits, and can be interrupted. */
async function runClientMessage(db: EmbeddedDatabase, id: number, message: Uint8Array): Promise<Uint8Array> {
  noteLimitChanges(message);
  const parts: Uint8Array[] = [];
  let buffered = 0;
  const underLimits = limits;
  interrupts.begin(id, underLimits);
  let reason: ReturnType<StatementInterrupts['end']> = null;
  try {
    await db.execProtocolRawStream(message, {
      onRawData: (data) => {
        parts.push(data.slice());
        buffered += data.length;
        interrupts.countResult(data.length);
        // What goes ahead ends at a message's end, so that the rest (where an error is reworded,
        // rewriteCancelError) starts at a message; once stopped, the rest waits for the end.
        if (buffered >= PART_BYTES && !interrupts.interrupted) {
          const all = concat(parts.splice(0));
          const cut = rewriteMessages(all, () => null).complete;
          const tail = all.slice(cut);
          parts.push(tail);
          buffered = tail.length;
          post({ kind: 'data', id, data: all.subarray(0, cut) }, [all.buffer as ArrayBuffer]);
        }
      },
    });
  } finally {
    reason = interrupts.end();
  }
  let rest = concat(parts);
  const ended = reason ? statementEndedText(reason, underLimits) : null;
  if (ended) rest = rewriteCancelError(rest, ended);
  if (limitsStale && (message[0] === QUERY || message[0] === SYNC)) await readLimits(db);
  return rest;
}

async function run(db: EmbeddedDatabase, call: DatabaseCall): Promise<unknown> {
  switch (call.kind) {
    case 'query':
      if (call.timeoutMs) return runBoundedQuery(db, call.id, call.sql, [...call.params], call.rowMode, call.timeoutMs);
      return db.query(call.sql, [...call.params], call.rowMode ? { rowMode: call.rowMode } : {});
    case 'exec': {
      const result = await db.exec(call.sql);
      // The server switching a connection's settings in (connection-state.ts): its limits apply now.
      if (SWITCHES_LIMITS.test(call.sql)) await readLimits(db);
      return result;
    }
    case 'protocol': {
      if (call.client) return runClientMessage(db, call.id, call.message);
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
  opened = await openDatabase({ ...(start.dataDir ? { dataDir: start.dataDir } : {}), ...(start.sharedBuffers ? { sharedBuffers: start.sharedBuffers } : {}), ...(start.wasmModule ? { wasmModule: start.wasmModule } : {}), ...(start.logs ? { log: (line: string) => post({ kind: 'log', line }) } : {}) });
} catch (error) {
  // Said to the opener, which ends this thread; nothing is listened for.
  post({ kind: 'failed', error: errorFields(error) });
}
if (opened) {
  interrupts.attach(opened);
  if (!interrupts.available || interrupts.hookedImports === 0) {
    post({ kind: 'log', line: 'warning: this PGlite build does not let running statements be stopped (cancel, statement_timeout, max_result_size end them only when they finish)' });
  }
  await readLimits(opened);
  serve(opened);
}

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
