/**
 * The local server's database on a thread of its own (database-thread.ts), answering the same
 * calls as an embedded PGlite (LocalDatabase).
 *
 * Why: PGlite runs synchronously once called, and a statement that appends a group of webhook
 * requests takes milliseconds. In the server's own thread nothing else ran meanwhile: no HTTP
 * request was read, no body checked, no answer sent. With the database on its own thread that
 * work overlaps the statement, which is what batched ingest is bounded by.
 *
 * Each call is a message; protocol responses stream back in parts as PGlite produces them. The
 * session's transaction state comes back with every answer, so isInTransaction() stays
 * synchronous. Calls made after the thread has stopped fail at once with why it stopped.
 */
import type { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import type { LocalDatabase, OpenDatabaseOptions, ProtocolCallOptions, QueryOptions } from './engine.ts';
import { errorFromFields, type DatabaseCall, type DatabaseThreadMessage, type DatabaseThreadStart } from './database-thread-messages.ts';
import { startTypeScriptThread } from './typescript-thread.ts';
import { INTERRUPT_SLOTS, requestInterrupt } from './statement-interrupts.ts';
import { DEFAULT_MAX_RESULT_BYTES } from '../sql/byte-size.ts';

/** Call payloads, without the id the database gives them. */
type CallBody = DatabaseCall extends infer Call ? (Call extends DatabaseCall ? Omit<Call, 'id'> : never) : never;

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onRawData?: (data: Uint8Array) => void;
}

/** Starts the thread (database-thread.ts). */
function startThread(start: DatabaseThreadStart): Promise<Worker> {
  return startTypeScriptThread(new URL('./database-thread.ts', import.meta.url), start);
}

export class WorkerDatabase implements LocalDatabase {
  private readonly pending = new Map<number, PendingCall>();
  private nextId = 1;
  private inTransaction = false;
  private stopped: Error | null = null;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    private readonly onLost: ((reason: Error) => void) | undefined,
    /** Shared with the thread: which call to stop, and why (statement-interrupts.ts). */
    private readonly interrupts: Int32Array,
  ) {
    worker.on('message', (message: DatabaseThreadMessage) => this.receive(message));
    worker.on('error', (error) => this.lose(new Error(`the local database stopped: its thread failed (${error.message}); restart the server`)));
    worker.on('exit', (code) => this.lose(new Error(`the local database stopped: its thread exited (code ${code}); restart the server`)));
    worker.unref();
  }

  /**
   * Opens the database (as engine.ts openDatabase does) on its own thread. `onLost`: the thread
   * ended without close() — every call fails from then on, so the server should say so and stop.
   */
  static async open(options: OpenDatabaseOptions & { onLost?: (reason: Error) => void; maxResultBytes?: number } = {}): Promise<WorkerDatabase> {
    const shared = new SharedArrayBuffer(INTERRUPT_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    const worker = await startThread({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      logs: options.log !== undefined,
      interrupts: shared,
      maxResultBytes: options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
      ...(options.sharedBuffers ? { sharedBuffers: options.sharedBuffers } : {}),
      ...(options.wasmModule ? { wasmModule: options.wasmModule } : {}),
    });
    return new Promise<WorkerDatabase>((resolve, reject) => {
      const opening = (message: DatabaseThreadMessage) => {
        if (message.kind === 'log') options.log?.(message.line);
        else if (message.kind === 'ready') settle(() => resolve(new WorkerDatabase(worker, options.onLost, new Int32Array(shared))));
        else if (message.kind === 'failed') settle(() => void worker.terminate().finally(() => reject(errorFromFields(message.error))));
      };
      const failed = (error: Error) => settle(() => void worker.terminate().finally(() => reject(new Error(`the database thread failed to start: ${error.message}`))));
      const exited = (code: number) => settle(() => reject(new Error(`the database thread exited while opening the database (code ${code})`)));
      const settle = (then: () => void) => {
        worker.off('message', opening).off('error', failed).off('exit', exited);
        then();
      };
      worker.on('message', opening).on('error', failed).on('exit', exited);
    });
  }

  query<T>(sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<Results<T>> {
    return this.call({ kind: 'query', sql, params, rowMode: options.rowMode, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }) as Promise<Results<T>>;
  }

  exec(sql: string): Promise<Array<Results>> {
    return this.call({ kind: 'exec', sql }) as Promise<Array<Results>>;
  }

  async execProtocolRawStream(message: Uint8Array, options: ProtocolCallOptions): Promise<void> {
    // The buffer crosses by transfer, not copy. Unless the caller hands it over, a copy of its own
    // does: the caller may still read its message afterwards (the session queue does).
    const whole = message.byteOffset === 0 && message.byteLength === message.buffer.byteLength && message.buffer instanceof ArrayBuffer;
    const moved = options.handOver && whole ? message : message.slice();
    const client = options.client ?? false;
    const signal = options.signal;
    const called = this.call({ kind: 'protocol', message: moved, client }, [moved.buffer as ArrayBuffer], options.onRawData);
    if (!client || !signal) return void (await called);
    // The id of the call just made: asked to stop through shared memory, read by the thread as it runs.
    const id = this.nextId - 1;
    const stop = () => requestInterrupt(this.interrupts, id, signal.reason === 'disconnect' ? 'disconnect' : 'cancel');
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    try {
      await called;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  isInTransaction(): boolean {
    return this.inTransaction;
  }

  /** Closes PGlite (flushing a data directory) and ends the thread. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.closing = true;
    try {
      await this.call({ kind: 'close' });
    } finally {
      this.stop(new Error('the database is closed'));
      await this.worker.terminate();
    }
  }

  private call(body: CallBody, transfer: ArrayBuffer[] = [], onRawData?: (data: Uint8Array) => void): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onRawData ? { onRawData } : {}) });
      // Only a call in flight keeps the process alive (as a socket or timer would).
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...body, id } as DatabaseCall, transfer);
    });
  }

  private receive(message: DatabaseThreadMessage): void {
    if (message.kind !== 'data' && message.kind !== 'reply' && message.kind !== 'error') return;
    const call = this.pending.get(message.id);
    if (!call) return;
    if (message.kind === 'data') {
      call.onRawData?.(message.data);
      return;
    }
    this.finish(message.id);
    this.inTransaction = message.inTransaction;
    if (message.kind === 'error') return call.reject(errorFromFields(message.error));
    // A protocol call's reply carries the end of its response.
    if (call.onRawData) {
      const rest = message.result as Uint8Array;
      if (rest.length > 0) call.onRawData(rest);
      call.resolve(null);
    } else {
      call.resolve(message.result);
    }
  }

  private finish(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  /** The thread ended by itself: calls fail from now on, and the owner hears of it once. */
  private lose(reason: Error): void {
    if (this.stopped) return;
    this.stop(reason);
    if (!this.closing) this.onLost?.(reason);
  }

  /** No more calls: every one in flight fails with why. */
  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.inTransaction = false;
    for (const [id, call] of [...this.pending]) {
      this.finish(id);
      call.reject(reason);
    }
  }
}
