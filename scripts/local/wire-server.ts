/**
 * The Postgres wire protocol on 6875: @electric-sql/pglite-socket's connection handler does the
 * framing (startup, SSL refusal, cancel requests); every message then goes through the shared
 * SessionQueue, where Materialize statements are translated before PGlite sees them.
 */
import net from 'node:net';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import type { LocalDatabase } from './engine.ts';
import { errorResponse } from './protocol-bytes.ts';
import { SessionQueue } from './session-queue.ts';
import { WireSession } from './wire-session.ts';

export interface WireServerOptions {
  db: LocalDatabase;
  host: string;
  port: number;
  idleInTransactionTimeoutMs: number;
  maxConnections: number;
  /** Called after a message that may have changed the catalog has run. */
  onCatalogChange: () => void;
}

interface Connection {
  socket: net.Socket;
  handler: PGLiteSocketHandler;
  session: WireSession;
}

export class WireServer {
  readonly queue: SessionQueue;
  private server: net.Server | null = null;
  /** The port it listens on, once started. */
  port = 0;
  private connections = new Map<number, Connection>();
  /** hstore's OID: its values are sent in Materialize's map format. */
  private mapTypeOid: number | null = null;

  constructor(private readonly options: WireServerOptions) {
    this.queue = new SessionQueue(options.db, {
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
      onIdleInTransaction: (handlerId) => this.terminateIdle(handlerId),
      execute: (handlerId, message, onData) => this.execute(handlerId, message, onData),
    });
  }

  private sessionFor(handlerId: number): WireSession {
    // A message still queued when its connection closed gets a throwaway session.
    return this.connections.get(handlerId)?.session ?? this.newSession();
  }

  private async execute(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const session = this.sessionFor(handlerId);
    const frontend = session.translateFrontend(message);
    let bytes = 0;
    const sink = session.responseSink(frontend.rewrite, onData);
    await this.options.db.execProtocolRawStream(frontend.message, {
      onRawData: (data) => {
        bytes += data.length;
        sink(data);
      },
    });
    if (frontend.changesCatalog) this.options.onCatalogChange();
    return bytes;
  }

  /** PostgreSQL's behaviour for idle_in_transaction_session_timeout: a FATAL error, then goodbye. */
  private terminateIdle(handlerId: number): void {
    const connection = this.connections.get(handlerId);
    if (!connection) return;
    connection.socket.write(
      errorResponse('FATAL', '25P03', 'terminating connection due to idle-in-transaction timeout'),
    );
    void connection.handler.detach(true);
  }

  private newSession(): WireSession {
    return new WireSession({ mapTypeOid: this.mapTypeOid });
  }

  async start(): Promise<number> {
    const hstore = await this.options.db.query<{ oid: number }>(`SELECT oid::int AS oid FROM pg_type WHERE typname = 'hstore'`);
    this.mapTypeOid = hstore.rows[0]?.oid ?? null;
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(socket: net.Socket): void {
    // The handler type wants pglite-socket's own queue class; ours has the same public surface.
    const handler = new PGLiteSocketHandler({
      queryQueue: this.queue as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'],
      closeOnDetach: true,
    });
    const id = handler.handlerId;
    this.connections.set(id, { socket, handler, session: this.newSession() });
    const forget = () => this.connections.delete(id);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    void handler.attach(socket);
  }

  /** Stops accepting, closes every connection (rolling back open transactions), drains the queue. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const connection of this.connections.values()) {
      connection.socket.write(errorResponse('FATAL', '57P01', 'terminating connection due to administrator command'));
      await connection.handler.detach(true);
    }
    this.connections.clear();
    await this.queue.close();
    await closed;
  }
}
