/**
 * Stopping a client's statement while PGlite runs it (used by database-thread.ts).
 *
 * PGlite runs a statement synchronously on the database thread: no timer fires and no message is
 * read there until it returns, so PostgreSQL's own statement_timeout (a SIGALRM timer) never goes
 * off, and a cancel sent by the server's thread cannot be heard. What PostgreSQL does do while it
 * runs is call out of WebAssembly: for the clock (pg_sleep, timestamps), for file reads and writes
 * (scans and sorts that leave the buffer cache) and for every chunk of result it sends. At each
 * such call this checks whether the statement should stop — a cancel or disconnect asked for by
 * the server's thread through shared memory, its statement_timeout passed, or its result grown past
 * max_result_size — and if so raises PostgreSQL's own interrupt flags (QueryCancelPending,
 * InterruptPending). PostgreSQL then ends the statement at its next CHECK_FOR_INTERRUPTS with
 * "canceling statement due to user request", rolling back as for any cancel; the wording is then
 * made Materialize's (statementEndedText).
 *
 * What cannot be stopped: a statement that computes without any of those calls until it returns
 * (an aggregate over a cross join of in-memory rows, say) runs to its end. docs/local-server.md
 * says so.
 */
import type { PGlite } from '@electric-sql/pglite';
import { concat, rewriteMessages } from './protocol-bytes.ts';

export type InterruptReason = 'cancel' | 'disconnect' | 'timeout' | 'result_size';

/** Slots of the shared Int32Array the server's thread writes (see requestInterrupt). */
const TARGET_CALL = 0;
const TARGET_REASON = 1;
export const INTERRUPT_SLOTS = 2;
const REQUEST_REASONS: readonly InterruptReason[] = ['cancel', 'disconnect'];

/** Asks the database thread to stop call `callId` if it is running (or as soon as it starts). */
export function requestInterrupt(requests: Int32Array, callId: number, reason: 'cancel' | 'disconnect'): void {
  Atomics.store(requests, TARGET_REASON, REQUEST_REASONS.indexOf(reason));
  Atomics.store(requests, TARGET_CALL, callId);
}

/** The limits of the statement now running; read from its session's settings. */
export interface StatementLimits {
  /** statement_timeout in milliseconds; 0 for none. */
  readonly timeoutMs: number;
  /** max_result_size in bytes of result sent. */
  readonly maxResultBytes: number;
}

/** What PGlite's Emscripten module shows of itself: its memory and the addresses of C globals. */
interface PgliteModule {
  HEAPU8: Uint8Array;
  _QueryCancelPending: number;
  _InterruptPending: number;
}

/**
 * WebAssembly imports PostgreSQL calls while it works. The clock is read constantly by pg_sleep
 * and by timing code; file reads and writes happen whenever pages leave or enter the buffer cache.
 */
const HOOKED_IMPORTS = ['clock_time_get', 'emscripten_date_now', 'emscripten_get_now', 'fd_pread', 'fd_pwrite', 'fd_read', 'fd_write'];

/**
 * How each clock import answers: clock_time_get writes nanoseconds (a u64) at its third argument;
 * the Emscripten ones return milliseconds.
 */
const CLOCK_IMPORTS = new Map<string, 'wasi' | 'milliseconds'>([
  ['clock_time_get', 'wasi'],
  ['emscripten_date_now', 'milliseconds'],
  ['emscripten_get_now', 'milliseconds'],
]);

/**
 * How far the clock jumps for a statement that was asked to stop. PGlite's latch wait (pg_sleep,
 * waits for a lock) spins on the clock until its timeout without looking at the interrupt flags;
 * seen from the stopped statement, time runs out at once, and the wait returns to the
 * CHECK_FOR_INTERRUPTS after it. Only a statement being cancelled sees this clock.
 */
const SKIP_AHEAD_MS = 24 * 3600 * 1000;

/** How many hooked calls pass between two reads of the clock (the clock hook itself is hot). */
const CLOCK_EVERY = 256;

export class StatementInterrupts {
  private module: PgliteModule | null = null;
  private callId = 0;
  private limits: StatementLimits | null = null;
  private startedAt = 0;
  private sentBytes = 0;
  private sinceClock = 0;
  private reason: InterruptReason | null = null;
  /** How many imports were wrapped: 0 means PGlite's build changed and only output can interrupt. */
  hookedImports = 0;

  constructor(private readonly requests: Int32Array) {}

  /**
   * Wraps the hooked imports of PGlite's main module as it is instantiated. Must run before PGlite
   * is created. The main module is told from initdb's (which is left alone) by the size of its
   * import table; dynamic libraries (extensions) are instantiated through another path.
   */
  installHooks(): void {
    const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
    const check = () => this.check();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the hooks are plain functions (Emscripten calls them with its own `this`)
    const self = this;
    const wrapped = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
      if (imports && Object.keys(imports.env ?? {}).length > 100) {
        for (const namespace of Object.values(imports)) {
          for (const name of HOOKED_IMPORTS) {
            const original = (namespace as Record<string, unknown>)[name];
            if (typeof original !== 'function') continue;
            const clock = CLOCK_IMPORTS.get(name);
            const hook = function (this: unknown, ...args: unknown[]): unknown {
              check();
              const result = (original as (...args: unknown[]) => unknown).apply(this, args);
              return clock && self.reason !== null ? self.skipAhead(clock, result, args) : result;
            };
            // Emscripten reads a function's signature from `.sig` when it puts imports in its table.
            const signature = (original as { sig?: string }).sig;
            if (signature !== undefined) Object.assign(hook, { sig: signature });
            (namespace as Record<string, unknown>)[name] = hook;
            this.hookedImports++;
          }
        }
      }
      return instantiate(source, imports);
    };
    (WebAssembly as { instantiate: unknown }).instantiate = wrapped;
  }

  /** The clock as a stopped statement sees it (see SKIP_AHEAD_MS). */
  private skipAhead(clock: 'wasi' | 'milliseconds', result: unknown, args: unknown[]): unknown {
    if (clock === 'milliseconds') return typeof result === 'number' ? result + SKIP_AHEAD_MS : result;
    const address = args[2];
    if (result !== 0 || typeof address !== 'number' || !this.module) return result;
    const heap = this.module.HEAPU8;
    const view = new DataView(heap.buffer, heap.byteOffset);
    view.setBigUint64(address, view.getBigUint64(address, true) + BigInt(SKIP_AHEAD_MS) * 1_000_000n, true);
    return result;
  }

  /** The opened database whose flags are raised. */
  attach(db: PGlite): void {
    const module = (db as unknown as { mod?: PgliteModule }).mod;
    if (module && typeof module._QueryCancelPending === 'number' && typeof module._InterruptPending === 'number') this.module = module;
  }

  /** Whether statements can be interrupted at all (PGlite's module exposes what is needed). */
  get available(): boolean {
    return this.module !== null;
  }

  /** A client's statement (call `callId`) starts under these limits. */
  begin(callId: number, limits: StatementLimits): void {
    this.callId = callId;
    this.limits = limits;
    this.startedAt = performance.now();
    this.sentBytes = 0;
    this.sinceClock = 0;
    this.reason = null;
    this.check();
  }

  /** Result bytes the statement sent; past max_result_size the statement is stopped. */
  countResult(bytes: number): void {
    if (!this.limits) return;
    this.sentBytes += bytes;
    if (this.sentBytes > this.limits.maxResultBytes) this.interrupt('result_size');
    else this.check();
  }

  /** The statement ended: why it was interrupted, if it was. PostgreSQL's flags are lowered. */
  end(): InterruptReason | null {
    const reason = this.reason;
    if (reason !== null) this.lowerFlags();
    this.limits = null;
    this.reason = null;
    this.callId = 0;
    return reason;
  }

  /** Whether the running statement has been asked to stop. */
  get interrupted(): boolean {
    return this.reason !== null;
  }

  private check(): void {
    const limits = this.limits;
    if (!limits || this.reason !== null) return;
    if (Atomics.load(this.requests, TARGET_CALL) === this.callId) {
      this.interrupt(REQUEST_REASONS[Atomics.load(this.requests, TARGET_REASON)] ?? 'cancel');
      return;
    }
    if (limits.timeoutMs > 0 && ++this.sinceClock >= CLOCK_EVERY) {
      this.sinceClock = 0;
      if (performance.now() - this.startedAt > limits.timeoutMs) this.interrupt('timeout');
    }
  }

  private interrupt(reason: InterruptReason): void {
    if (this.reason !== null || !this.module) return;
    this.reason = reason;
    // Both are `volatile sig_atomic_t` (a 32-bit int): written whole, little-endian.
    setInt32(this.module.HEAPU8, this.module._QueryCancelPending, 1);
    setInt32(this.module.HEAPU8, this.module._InterruptPending, 1);
  }

  /** A statement that ended before it reached a CHECK_FOR_INTERRUPTS must not pass the cancel on. */
  private lowerFlags(): void {
    if (!this.module) return;
    setInt32(this.module.HEAPU8, this.module._QueryCancelPending, 0);
    setInt32(this.module.HEAPU8, this.module._InterruptPending, 0);
  }
}

function setInt32(heap: Uint8Array, address: number, value: number): void {
  heap[address] = value & 0xff;
  heap[address + 1] = 0;
  heap[address + 2] = 0;
  heap[address + 3] = 0;
}

/** ByteSize's display as Materialize prints it in its error ("1.0 GiB"): binary units, one decimal. */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The error a stopped statement ends with, as Materialize words it: PostgreSQL's own words for a
 * cancel and for statement_timeout (SQLSTATE 57014 both); Materialize's for max_result_size
 * (src/adapter: "result exceeds max size of {ByteSize}").
 */
export function statementEndedText(reason: InterruptReason, limits: StatementLimits): { code: string; message: string } | null {
  switch (reason) {
    case 'cancel':
    case 'disconnect':
      return null;
    case 'timeout':
      return { code: '57014', message: 'canceling statement due to statement timeout' };
    case 'result_size':
      return { code: '53200', message: `result exceeds max size of ${formatByteSize(limits.maxResultBytes)}` };
  }
}

/**
 * Rewrites the ErrorResponse of a cancelled statement ("canceling statement due to user request",
 * 57014) in a complete backend response to say why it was stopped. Other messages pass as they are.
 */
export function rewriteCancelError(response: Uint8Array, replacement: { code: string; message: string }): Uint8Array {
  const { rewritten, complete } = rewriteMessages(response, (type, message) => (type === 0x45 /* E */ ? rewriteErrorFields(message, replacement) : null));
  return complete === response.length ? rewritten : concat([rewritten, response.subarray(complete)]);
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function rewriteErrorFields(message: Uint8Array, replacement: { code: string; message: string }): Uint8Array | null {
  const fields: Array<[number, string]> = [];
  let at = 5;
  while (at < message.length && message[at] !== 0) {
    const type = message[at]!;
    const end = message.indexOf(0, at + 1);
    if (end === -1) return null;
    fields.push([type, decoder.decode(message.subarray(at + 1, end))]);
    at = end + 1;
  }
  const code = fields.find(([type]) => type === 0x43 /* C */)?.[1];
  if (code !== '57014') return null;
  const body: number[] = [];
  for (const [type, value] of fields) {
    const text = type === 0x43 ? replacement.code : type === 0x4d /* M */ ? replacement.message : value;
    body.push(type, ...encoder.encode(text), 0);
  }
  body.push(0);
  const out = new Uint8Array(5 + body.length);
  out[0] = 0x45;
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}
