/**
 * A webhook endpoint on 127.0.0.1 for the function's tests: it verifies every request's signature
 * on its own (node:crypto, over the raw bytes received), records what it accepted, and answers as
 * told — a status, a delay, a connection reset — per request, or by a body size limit.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { status: number; body?: string } | { delayMs: number; status?: number } | 'reset';

export interface ReceivedRequest {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly signatureValid: boolean;
  readonly status: number | 'reset';
}

export interface FaultServerOptions {
  readonly secret: string;
  readonly algorithm?: 'sha1' | 'sha256';
  readonly encoding?: 'hex' | 'base64';
  readonly header?: string;
  /** Bodies over this many bytes get 413 (like Materialize's 2 MB limit). */
  readonly maxBodyBytes?: number;
}

export class FaultServer {
  readonly requests: ReceivedRequest[] = [];
  /** Answers for the next requests, in order; afterwards `next` decides, else 200. */
  readonly script: Fault[] = [];
  next: ((body: Buffer) => Fault) | undefined;
  private readonly server: http.Server;
  private port = 0;

  constructor(private readonly options: FaultServerOptions) {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const fault = this.script.shift() ?? this.next?.(body) ?? { status: 200 };
        const signatureValid = this.verify(request.headers, body);
        const tooLarge = this.options.maxBodyBytes !== undefined && body.length > this.options.maxBodyBytes;
        const status = fault === 'reset' ? 'reset' : tooLarge ? 413 : !signatureValid ? 400 : (fault.status ?? 200);
        this.requests.push({ headers: request.headers, body, signatureValid, status });
        if (status === 'reset') {
          request.socket.destroy();
          return;
        }
        const text = status === 413 ? 'request body too large' : status === 400 && !signatureValid ? 'failed to validate the request' : fault !== 'reset' && 'body' in fault ? (fault.body ?? '') : '';
        const answer = () => {
          response.writeHead(status, { 'content-type': 'text/plain' });
          response.end(text);
        };
        if (fault !== 'reset' && 'delayMs' in fault) setTimeout(answer, fault.delayMs);
        else answer();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/webhook/materialize/segment/segment_source`;
  }

  /** The events of every request answered 200 with a valid signature, as parsed JSON. */
  acceptedEvents(): Array<Record<string, unknown>> {
    return this.requests
      .filter((request) => request.status === 200 && request.signatureValid)
      .flatMap((request) => {
        const parsed = JSON.parse(request.body.toString('utf8')) as unknown;
        return (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>;
      });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private verify(headers: http.IncomingHttpHeaders, body: Buffer): boolean {
    const received = headers[(this.options.header ?? 'x-signature').toLowerCase()];
    if (typeof received !== 'string') return false;
    const expected = createHmac(this.options.algorithm ?? 'sha1', this.options.secret).update(body).digest(this.options.encoding ?? 'hex');
    return received.length === expected.length && timingSafeEqual(Buffer.from(received), Buffer.from(expected));
  }
}
