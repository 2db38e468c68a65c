/**
 * The Postgres wire protocol on 6875: @electric-sql/pglite-socket's connection handler does the
 * framing (startup, SSL refusal); every message then goes through the shared SessionQueue, where
 * Materialize statements are translated before PGlite sees them — except SUBSCRIBE and its cursors,
 * which each connection's SubscribeSession answers itself, fed by the SubscriptionHub. Each
 * connection gets its own BackendKeyData, so a cancel request (on a connection of its own) can
 * stop that connection's subscription and its running or queued statement; a connection that
 * closes stops its running statement too (statement-interrupts.ts says how, and what cannot be).
 */
import net from 'node:net';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import type { LocalDatabase } from '../engine/engine.ts';
import { ConnectionNames } from './connection-names.ts';
import { SessionStates } from './connection-state.ts';
import { cString, errorResponse, frame } from '../engine/protocol-bytes.ts';
import { randomInt } from 'node:crypto';
import { listen } from '../../shared/listen.ts';
import { SessionQueue } from '../engine/session-queue.ts';
import { SubscribeSession } from '../subscribe/subscribe-session.ts';
import { SubscriptionHub } from '../subscribe/subscription-hub.ts';
import { WireSession } from './wire-session.ts';
import { CARRIER_OIDS_SQL } from '../sql/lists/list-wire-text.ts';

export interface WireServerOptions {
  db: LocalDatabase;
  host: string;
  port: number;
  idleInTransactionTimeoutMs: number;
  maxConnections: number;
  /** Called after a message that may have changed the catalog has run. */
  onCatalogChange: () => void;
  /** After a statement that may have written (materialized views then refresh once quiet). */
  onWrite?: () => void;
  /** How long one computation of a subscribed query may hold the database (default 10 s). */
  subscribedQueryTimeoutMs?: number;
  /**
   * false: every connection shares PGlite's one session (settings, prepared statements, cursors),
   * as before sessions per connection (connection-state.ts); only to measure what they cost.
   */
  sessionPerConnection?: boolean;
}

interface Connection {
  socket: net.Socket;
  handler: PGLiteSocketHandler;
  session: WireSession;
  /** Its prepared statements', portals' and cursors' names in the shared session (null: shared). */
  names: ConnectionNames | null;
  subscribe: SubscribeSession;
  backendKey: { processId: number; secretKey: number };
  /** Its messages the database runs now (several while an extended query is pipelined). */
  running: Set<AbortController>;
  /** A cancel arrived while its statement still waited in the queue: stop it as it starts. */
  cancelPending: boolean;
}

/** A CancelRequest: length 16, code 80877102, then the process id and secret key. */
const CANCEL_REQUEST_CODE = 80877102;

export class WireServer {
  readonly queue: SessionQueue;
  /** Each connection's settings, switched in when its messages run (null: one shared session). */
  private readonly states: SessionStates | null;
  private server: net.Server | null = null;
  /** The port it listens on, once started. */
  port = 0;
  private connections = new Map<number, Connection>();
  /** hstore's OID: its values are sent in Materialize's map format. */
  private mapTypeOid: number | null = null;
  /** The carriers of lists of lists and their layers: their values are sent as Materialize's lists. */
  private layeredListOids = new Map<number, number>();

  /** Feeds every SUBSCRIBE; tell it about writes made outside the wire (webhooks, Kafka). */
  readonly hub: SubscriptionHub;

  constructor(private readonly options: WireServerOptions) {
    const states = options.sessionPerConnection === false ? null : new SessionStates(options.db);
    this.states = states;
    this.queue = new SessionQueue(options.db, {
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs,
      onIdleInTransaction: (handlerId) => this.terminateIdle(handlerId),
      execute: (handlerId, message, onData) => this.execute(handlerId, message, onData),
      ...(states ? { enter: (handlerId: number) => states.enter(handlerId), serverDatabase: states.serverDatabase } : {}),
    });
    this.hub = new SubscriptionHub(this.queue, undefined, options.subscribedQueryTimeoutMs);
  }

  private sessionFor(handlerId: number): WireSession {
    // A message still queued when its connection closed gets a throwaway session.
    return this.connections.get(handlerId)?.session ?? this.newSession();
  }

  private async execute(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const session = this.sessionFor(handlerId);
    const connection = this.connections.get(handlerId);
    // Its own names for its prepared statements, portals and cursors (connection-names.ts).
    const named = connection?.names?.rewrite(message) ?? null;
    const frontend = session.translateFrontend(named?.message ?? message);
    this.states?.noteMessage(handlerId, frontend.message);
    let bytes = 0;
    const sink = session.responseSink(frontend.rewrite, named ? connection!.names!.responseSink(named.tags, onData) : onData);
    const stop = new AbortController();
    if (connection) {
      connection.running.add(stop);
      if (connection.cancelPending) {
        connection.cancelPending = false;
        stop.abort('cancel');
      }
    } else {
      // Its connection closed while the message waited: it still runs (a Sync must answer), but stops at once.
      stop.abort('disconnect');
    }
    try {
      await this.options.db.execProtocolRawStream(frontend.message, {
        onRawData: (data) => {
          bytes += data.length;
          sink(data);
        },
        client: true,
        signal: stop.signal,
      });
    } finally {
      connection?.running.delete(stop);
    }
    if (frontend.changesCatalog) {
      this.hub.noteCatalogChange();
      this.options.onCatalogChange();
    }
    if (frontend.writes) {
      this.hub.notifyWrite(frontend.written ?? null);
      this.options.onWrite?.();
    }
    return bytes;
  }

  /** PostgreSQL's behaviour for idle_in_transaction_session_timeout: a FATAL error, then goodbye. */
  private terminateIdle(handlerId: number): void {
    const connection = this.connections.get(handlerId);
    // Gone already (session-queue.ts ends what a departed connection leaves): still, never leave
    // the session to a connection nobody can end.
    if (!connection) return void this.queue.clearTransactionIfNeeded(handlerId);
    connection.socket.write(
      errorResponse('FATAL', '25P03', 'terminating connection due to idle-in-transaction timeout'),
    );
    void connection.handler.detach(true);
  }

  private newSession(backendKey?: Connection['backendKey']): WireSession {
    return new WireSession({ mapTypeOid: this.mapTypeOid, layeredListOids: this.layeredListOids, ...(backendKey ? { backendKey } : {}) });
  }

  async start(): Promise<number> {
    const hstore = await this.options.db.query<{ oid: number }>(`SELECT oid::int AS oid FROM pg_type WHERE typname = 'hstore'`);
    this.mapTypeOid = hstore.rows[0]?.oid ?? null;
    // Made by the bootstrap for the common element types, so read once (lists/README.md).
    const carriers = await this.options.db.query<{ oid: number; layers: number }>(CARRIER_OIDS_SQL);
    this.layeredListOids = new Map(carriers.rows.map((row) => [row.oid, row.layers]));
    await this.states?.start();
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.options.maxConnections;
    this.server = server;
    this.port = await listen(server, this.options.port, this.options.host);
    return this.port;
  }

  private accept(socket: net.Socket): void {
    // SUBSCRIBE and its cursors are answered by the connection's SubscribeSession; the rest queues.
    const queue = {
      enqueue: (handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> => {
        const handled = this.connections.get(handlerId)?.subscribe.handle(message, onData);
        return handled ? handled.then(() => 0) : this.queue.enqueue(handlerId, message, onData);
      },
      clearQueueForHandler: (handlerId: number) => this.queue.clearQueueForHandler(handlerId),
      clearTransactionIfNeeded: (handlerId: number) => this.queue.clearTransactionIfNeeded(handlerId),
    };
    // The handler type wants pglite-socket's own queue class; ours has the same public surface.
    const handler = new PGLiteSocketHandler({
      queryQueue: queue as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'],
      closeOnDetach: true,
    });
    const id = handler.handlerId;
    const backendKey = { processId: 10_000 + id, secretKey: randomInt(1, 2 ** 31 - 1) };
    const subscribe = new SubscribeSession({
      hub: this.hub,
      inDatabaseTransaction: () => this.queue.ownsTransaction(id),
      endDatabaseTransaction: async () => {
        await this.queue.enqueue(id, frame('Q', [cString('COMMIT')]), () => {});
      },
    });
    this.states?.open(id);
    const names = this.states ? new ConnectionNames(id, { role: this.states.role }) : null;
    const connection: Connection = { socket, handler, session: this.newSession(backendKey), names, subscribe, backendKey, running: new Set(), cancelPending: false };
    this.connections.set(id, connection);
    const forget = () => {
      subscribe.close();
      this.states?.close(id);
      // A client that went away does not wait for its statement: nobody would read the answer.
      for (const running of connection.running) running.abort('disconnect');
      this.connections.delete(id);
    };
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    socket.once('close', forget);
    void handler.attach(socket);
    // pglite-socket ignores cancel requests; they arrive on a connection of their own. (Listening
    // after attach: the handler must see every byte, this only looks at the first chunk too.)
    socket.once('data', (chunk: Buffer) => {
      if (chunk.length === 16 && chunk.readInt32BE(0) === 16 && chunk.readInt32BE(4) === CANCEL_REQUEST_CODE) {
        this.cancel(chunk.readInt32BE(8), chunk.readInt32BE(12));
        // As PostgreSQL does, the cancel connection is closed at once: libpq (psql's Ctrl-C) waits
        // for that close before it returns, and hangs for good if it never comes.
        socket.destroy();
      }
    });
  }

  /**
   * A CancelRequest for the connection with this key: its subscription stops, and so does its
   * running statement — or, if it is still queued, that statement as soon as it starts. With
   * nothing running or queued there is nothing to cancel (as in PostgreSQL).
   */
  private cancel(processId: number, secretKey: number): void {
    for (const [id, connection] of this.connections) {
      if (connection.backendKey.processId !== processId || connection.backendKey.secretKey !== secretKey) continue;
      connection.subscribe.cancel();
      if (connection.running.size > 0) for (const running of connection.running) running.abort('cancel');
      else if (this.queue.hasQueued(id)) connection.cancelPending = true;
    }
  }

  /** Stops accepting, closes every connection (rolling back open transactions), drains the queue. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    this.hub.close();
    for (const connection of this.connections.values()) {
      connection.subscribe.close();
      connection.socket.write(errorResponse('FATAL', '57P01', 'terminating connection due to administrator command'));
      await connection.handler.detach(true);
    }
    this.connections.clear();
    await this.queue.close();
    await closed;
  }
}
