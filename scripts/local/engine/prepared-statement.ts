/**
 * A named prepared statement on PGlite, driven with raw protocol messages: Parse once, then
 * Bind/Execute/Sync per call. PGlite's query() parses, describes and plans every call; for the
 * webhook append (a CTE with the CHECK) preparing once was 2.7× faster here (4.3k vs 1.6k calls/s).
 *
 * Parameters: bytes in binary format, strings as text, dates as ISO 8601 text, null as NULL.
 * Results come back as text. Only use inside a SessionQueue job (the session is shared).
 */
import type { LocalDatabase } from './engine.ts';
import { concat, cString, frame, frames, int16, int32 } from './protocol-bytes.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let nextStatementId = 1;

/** Bytes go in binary format: as one array, or as parts sent back to back (no copy to join them first). */
export type ParamValue = string | Uint8Array | readonly Uint8Array[] | Date | null;

export class PreparedStatementError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class PreparedStatement {
  private readonly name = `__mz_local_${nextStatementId++}`;
  private prepared = false;

  constructor(
    private readonly db: LocalDatabase,
    readonly sql: string,
  ) {}

  /** Runs the statement; returns the first row's fields as text (null for SQL NULL). */
  async run(params: ParamValue[]): Promise<Array<string | null> | null> {
    if (!this.prepared) await this.prepare();
    try {
      return await this.execute(params);
    } catch (error) {
      // 26000: a client's DEALLOCATE ALL / DISCARD ALL removed it from the shared session.
      if (error instanceof PreparedStatementError && error.code === '26000') {
        await this.prepare();
        return this.execute(params);
      }
      throw error;
    }
  }

  private async prepare(): Promise<void> {
    readResponse(await this.exchange(concat([frame('P', [cString(this.name), cString(this.sql), int16(0)]), frame('S', [])])));
    this.prepared = true;
  }

  private async execute(params: ParamValue[]): Promise<Array<string | null> | null> {
    // Bytes go in binary format (as they are, no hex doubling); everything else as text.
    const bind: Uint8Array[] = [cString(''), cString(this.name), int16(params.length)];
    for (const param of params) bind.push(int16(param instanceof Uint8Array || Array.isArray(param) ? 1 : 0));
    bind.push(int16(params.length));
    for (const param of params) {
      if (param === null) {
        bind.push(int32(-1));
      } else if (Array.isArray(param)) {
        const parts = param as readonly Uint8Array[];
        bind.push(int32(parts.reduce((sum, part) => sum + part.length, 0)), ...parts);
      } else {
        const bytes = param instanceof Uint8Array ? param : encoder.encode(typeof param === 'string' ? param : (param as Date).toISOString());
        bind.push(int32(bytes.length), bytes);
      }
    }
    bind.push(int16(0));
    // Bind, Execute and Sync written into one buffer: a group's bodies are copied once, here.
    return readResponse(await this.exchange(frames([['B', bind], ['E', [cString(''), int32(0)]], ['S', []]]), true));
  }

  /**
   * Sends messages and collects the raw response. The streaming call, as pglite-socket uses:
   * execProtocolRaw also parses the response and can leave a database error behind for PGlite's
   * next query() to throw.
   */
  private async exchange(messages: Uint8Array, handOver = false): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    await this.db.execProtocolRawStream(messages, { onRawData: (data) => chunks.push(data.slice()), handOver });
    return concat(chunks);
  }
}

/** The first DataRow's fields, or null; throws the first ErrorResponse. */
function readResponse(bytes: Uint8Array): Array<string | null> | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let row: Array<string | null> | null = null;
  let error: PreparedStatementError | null = null;
  while (offset + 5 <= bytes.length) {
    const type = String.fromCharCode(bytes[offset]!);
    const length = view.getInt32(offset + 1);
    const body = offset + 5;
    if (type === 'D' && row === null) {
      const count = view.getInt16(body);
      row = [];
      let at = body + 2;
      for (let field = 0; field < count; field++) {
        const size = view.getInt32(at);
        at += 4;
        if (size === -1) row.push(null);
        else {
          row.push(decoder.decode(bytes.subarray(at, at + size)));
          at += size;
        }
      }
    } else if (type === 'E' && error === null) {
      const fields = new Map<string, string>();
      let at = body;
      while (bytes[at] !== 0 && at < offset + 1 + length) {
        const code = String.fromCharCode(bytes[at]!);
        let end = at + 1;
        while (bytes[end] !== 0) end++;
        fields.set(code, decoder.decode(bytes.subarray(at + 1, end)));
        at = end + 1;
      }
      error = new PreparedStatementError(fields.get('M') ?? 'unknown error', fields.get('C') ?? 'XX000');
    }
    offset += 1 + length;
  }
  if (error) throw error;
  return row;
}
