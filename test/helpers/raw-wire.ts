/**
 * A bare Postgres wire client for tests that need what drivers hide: COPY OUT streaming,
 * BackendKeyData and cancel requests. Messages are read as they arrive, one at a time.
 */
import net from 'node:net';

export interface WireMessage {
  readonly type: string;
  readonly body: Buffer;
}

export class RawWireClient {
  private buffer = Buffer.alloc(0);
  private readonly queue: WireMessage[] = [];
  private waiting: (() => void) | null = null;
  backendKey: { processId: number; secretKey: number } | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 5) {
        const length = this.buffer.readInt32BE(1);
        if (this.buffer.length < 1 + length) break;
        const message = { type: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, 1 + length) };
        this.buffer = this.buffer.subarray(1 + length);
        if (message.type === 'K') this.backendKey = { processId: message.body.readInt32BE(0), secretKey: message.body.readInt32BE(4) };
        this.queue.push(message);
      }
      this.waiting?.();
    });
  }

  static async connect(host: string, port: number): Promise<RawWireClient> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawWireClient(socket);
    const parameters = Buffer.from('user\0materialize\0database\0materialize\0\0');
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + parameters.length, 0);
    startup.writeInt32BE(196608, 4);
    socket.write(Buffer.concat([startup, parameters]));
    await client.until('Z');
    return client;
  }

  query(sql: string): void {
    const text = Buffer.from(`${sql}\0`);
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeInt32BE(4 + text.length, 1);
    this.socket.write(Buffer.concat([header, text]));
  }

  /** The next message, waiting for it up to `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = null;
    }
    return this.queue.shift()!;
  }

  /** Messages up to and including the first of `type`. */
  async until(type: string, timeoutMs = 5_000): Promise<WireMessage[]> {
    const seen: WireMessage[] = [];
    for (;;) {
      const message = await this.next(timeoutMs);
      seen.push(message);
      if (message.type === type) return seen;
    }
  }

  /** Asks the server to cancel this connection's running statement (over a connection of its own). */
  async cancel(host: string, port: number): Promise<void> {
    const key = this.backendKey!;
    const socket = net.connect(port, host);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const request = Buffer.alloc(16);
    request.writeInt32BE(16, 0);
    request.writeInt32BE(80877102, 4);
    request.writeInt32BE(key.processId, 8);
    request.writeInt32BE(key.secretKey, 12);
    socket.end(request);
  }

  /** Writes protocol messages as they are (frames made with protocol-bytes.ts). */
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An ErrorResponse's fields by code letter (M message, C SQLSTATE). */
export function errorFields(message: WireMessage): Record<string, string> {
  const fields: Record<string, string> = {};
  let offset = 0;
  while (offset < message.body.length && message.body[offset] !== 0) {
    const code = String.fromCharCode(message.body[offset]!);
    const end = message.body.indexOf(0, offset + 1);
    fields[code] = message.body.subarray(offset + 1, end).toString('utf8');
    offset = end + 1;
  }
  return fields;
}
