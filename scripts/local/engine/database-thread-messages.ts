/**
 * The messages between the local server's thread and the thread that runs PGlite
 * (database-thread.ts, worker-database.ts). Values cross by structured clone; byte buffers are
 * transferred, not copied.
 */
import type { OpenDatabaseOptions } from './engine.ts';

/** What the database thread is started with (workerData). */
export interface DatabaseThreadStart {
  readonly dataDir?: OpenDatabaseOptions['dataDir'];
  /** Whether the opener wants progress lines (the log function itself cannot cross threads). */
  readonly logs: boolean;
  /** Int32Array slots through which the server's thread asks for a statement to stop (statement-interrupts.ts). */
  readonly interrupts: SharedArrayBuffer;
  /** max_result_size when the session has not set it, in bytes. */
  readonly maxResultBytes: number;
  readonly sharedBuffers?: OpenDatabaseOptions['sharedBuffers'];
  /** PGlite compiled by the opener's thread (compiled-pglite.ts): cloned by reference, not compiled again. */
  readonly wasmModule?: WebAssembly.Module;
}

export type DatabaseCall =
  /** `timeoutMs`: stopped past it, as statement_timeout would (statement-interrupts.ts). */
  | { readonly id: number; readonly kind: 'query'; readonly sql: string; readonly params: readonly unknown[]; readonly rowMode: 'object' | 'array' | undefined; readonly timeoutMs?: number }
  | { readonly id: number; readonly kind: 'exec'; readonly sql: string }
  /** `client`: a client's message, run under its session's limits and open to interrupts. */
  | { readonly id: number; readonly kind: 'protocol'; readonly message: Uint8Array; readonly client: boolean }
  | { readonly id: number; readonly kind: 'close' };

/** An error's message and its own fields (code, detail, hint, position…), which a clone would drop. */
export interface ErrorFields {
  readonly name: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string | number | boolean | null>>;
}

export type DatabaseThreadMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: ErrorFields }
  | { readonly kind: 'log'; readonly line: string }
  /** Part of a protocol call's response, in order, before its reply. */
  | { readonly kind: 'data'; readonly id: number; readonly data: Uint8Array }
  /**
   * A call's end; inTransaction is the session's state after it (isInTransaction is synchronous).
   * A protocol call's result is the rest of its response.
   */
  | { readonly kind: 'reply'; readonly id: number; readonly result: unknown; readonly inTransaction: boolean }
  | { readonly kind: 'error'; readonly id: number; readonly error: ErrorFields; readonly inTransaction: boolean };

/** An error as fields that survive the crossing; primitives only (a field could hold anything). */
export function errorFields(error: unknown): ErrorFields {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: typeof error === 'object' && error !== null ? JSON.stringify(error) : String(error), fields: {} };
  }
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value as string | number | boolean | null;
  }
  return { name: error.name, message: error.message, fields };
}

/** The error again on this side, with its fields, and a stack from where the call was made. */
export function errorFromFields(error: ErrorFields): Error {
  const rebuilt = Object.assign(new Error(error.message), error.fields);
  if (error.name !== 'Error') Object.defineProperty(rebuilt, 'name', { value: error.name, enumerable: false, configurable: true, writable: true });
  return rebuilt;
}
