/**
 * One keep-alive HTTP/1.1 connection for the load benches: a request's prepared bytes out, its
 * status back (the body skipped). A raw socket, as wrk's is: Node's http client cost ~45 µs a
 * request on the two cores the server also runs on, half of what the server spends on one, so a
 * bench using it measured itself as much as the server.
 */
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');

export class KeepAliveSocket {
  private pending: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.answer();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** A connection to `target`'s host and port, once it is open. */
  static connect(target: URL): Promise<KeepAliveSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: target.hostname, port: Number(target.port) }, () => {
        socket.off('error', reject);
        resolve(new KeepAliveSocket(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one request (its whole bytes) and resolves to the answer's status. */
  send(bytes: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Reads the status line and content-length (the server always sends one) and skips the body. */
  private answer(): void {
    const headEnd = this.pending.indexOf(HEAD_END);
    if (headEnd < 0 || !this.waiting) return;
    const head = this.pending.toString('latin1', 0, headEnd);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isFinite(length)) return this.fail(new Error(`an answer without content-length: ${head}`));
    const end = headEnd + HEAD_END.length + length;
    if (this.pending.length < end) return;
    this.pending = this.pending.subarray(end);
    const { resolve } = this.waiting;
    this.waiting = null;
    resolve(Number(head.slice(9, 12)));
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }
}

/**
 * Sends every request over `sockets`, each socket taking the next one as soon as it is answered;
 * resolves to how many were answered 200 and counts the other statuses into `failures`.
 */
export async function sendAll(sockets: readonly KeepAliveSocket[], requests: readonly Buffer[], failures: Record<string, number>): Promise<number> {
  let acknowledged = 0;
  let next = 0;
  await Promise.all(
    sockets.map(async (socket) => {
      while (next < requests.length) {
        const status = await socket.send(requests[next++]!);
        if (status === 200) acknowledged++;
        else failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  return acknowledged;
}
