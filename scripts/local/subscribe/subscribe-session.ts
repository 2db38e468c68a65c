/**
 * SUBSCRIBE on one wire connection, answered by the server itself (never by PGlite, which is one
 * session that a subscription must not hold): `SUBSCRIBE …` and `COPY (SUBSCRIBE …) TO STDOUT`
 * stream rows until UP TO, a cancel request or the connection's end; `DECLARE c CURSOR FOR
 * SUBSCRIBE …` opens a cursor that `FETCH [n|ALL] c [WITH (timeout = …)]` reads (waiting for at
 * least one row when there is no timeout) and `CLOSE c` ends.
 *
 * Materialize runs DECLARE/FETCH inside a transaction. Here the transaction the client began is
 * committed in PGlite at the DECLARE (it can hold nothing a subscribe needs) and carried on by this
 * session alone, so a cursor never blocks webhook appends or other sessions; COMMIT or ROLLBACK
 * ends it and its cursors.
 *
 * Over the extended protocol (psycopg 3's `cursor.stream()`, JDBC, pgx: Parse, Bind, Describe,
 * Execute, Sync) the same statements are answered message by message as PostgreSQL answers them:
 * ParseComplete, BindComplete, the row description on Describe, the rows on Execute, then
 * ReadyForQuery at Sync; after an error everything up to the Sync is skipped. A Sync goes to
 * PGlite when PGlite ran part of the batch (it must end its own extended query).
 */
import { concat, cString, errorResponse, frame, int16, int32, readCString } from '../engine/protocol-bytes.ts';
import { materializeErrorText } from '../sql/error-text.ts';
import { MzStatementError } from '../sql/mz-statements-error.ts';
import { SubscriberStream } from './subscriber-stream.ts';
import { parseSubscribeStatement, type SubscribeStatement } from './subscribe-statements.ts';
import type { SubscriptionHub, RowValues } from './subscription-hub.ts';

export interface SubscribeSessionHooks {
  readonly hub: SubscriptionHub;
  /** Whether the connection has a transaction open in PGlite. */
  inDatabaseTransaction(): boolean;
  /** Commits that transaction (it cannot hold anything a subscribe needs). */
  endDatabaseTransaction(): Promise<void>;
}

const encoder = new TextEncoder();
type Send = (data: Uint8Array) => void;

/** A prepared statement this session answers (Parse), and a portal bound to one (Bind). */
type OwnedStatement = SubscribeStatement | { kind: 'control'; control: string } | { kind: 'aborted' };
interface OwnedPortal {
  readonly statement: OwnedStatement;
  /** Opened at Describe (for the row description), consumed by Execute. */
  stream: SubscriberStream | null;
}

const ABORTED_MESSAGE = 'current transaction is aborted, commands ignored until end of transaction block';
const CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort)\b/i;
/** Words one of the family's statements must contain (FETCH and CLOSE name a cursor of SUBSCRIBE). */
const MAY_BE_OURS = /subscribe|fetch|close/i;

export class SubscribeSession {
  private readonly cursors = new Map<string, SubscriberStream>();
  private readonly statements = new Map<string, OwnedStatement>();
  private readonly portals = new Map<string, OwnedPortal>();
  /** Extended protocol: an error was sent; messages are skipped until Sync (as PostgreSQL does). */
  private skipUntilSync = false;
  /** Extended protocol: PGlite ran a message since the last Sync, so the Sync is PGlite's to answer. */
  private databaseSinceSync = false;
  /** Extended messages answered here run one after another (an Execute may stream for long). */
  private extendedChain: Promise<void> = Promise.resolve();
  /**
   * A batch PGlite began (JDBC sends BEGIN with the first statement when autocommit is off): whether
   * PGlite's session was in a transaction before it, and what the batch's BEGIN/COMMIT made of it.
   */
  private databaseWasInTransaction = false;
  private batchTransaction: boolean | null = null;
  /** PGlite has answered what the batch sent it before the messages answered here (see join). */
  private joinedDatabase = false;
  /** A transaction this session carries on by itself (see above); 'failed' after an error in it. */
  private transaction: 'none' | 'open' | 'failed' = 'none';
  /** The streaming statement or waiting FETCH in progress, which a cancel request stops. */
  private running: AbortController | null = null;

  constructor(private readonly hooks: SubscribeSessionHooks) {}

  /**
   * Handles a frontend message if it belongs here, writing the whole response with `send`;
   * returns null for messages PGlite should run.
   */
  handle(message: Uint8Array, send: Send): Promise<void> | null {
    if (message[0] !== 0x51 /* Q */) return this.handleExtended(message, send);
    const sql = readCString(message, 5).value;
    if (this.transaction !== 'none') {
      const control = CONTROL.exec(sql)?.[1]?.toLowerCase();
      if (control) return Promise.resolve(this.transactionControl(control, send));
    }
    let statement: SubscribeStatement | null;
    try {
      statement = parseSubscribeStatement(sql, (name) => this.cursors.has(name));
    } catch (error) {
      if (!(error instanceof MzStatementError)) throw error;
      return Promise.resolve(this.fail(send, error.code, error.message));
    }
    if (!statement) {
      if (this.transaction === 'failed') {
        return Promise.resolve(this.fail(send, '25P02', 'current transaction is aborted, commands ignored until end of transaction block'));
      }
      return null;
    }
    return this.run(statement, send, { extended: false }).catch((error: unknown) => this.failWith(send, error));
  }

  /** An error met running a statement, as an ErrorResponse and ReadyForQuery. */
  private failWith(send: Send, error: unknown): void {
    const { code, message } = errorText(error);
    this.fail(send, code, message);
  }

  /** A cancel request for this connection: stops what is streaming or waiting. */
  cancel(): void {
    this.running?.abort();
  }

  /** The connection is gone. */
  close(): void {
    this.running?.abort();
    for (const stream of this.cursors.values()) stream.close();
    this.cursors.clear();
    for (const name of [...this.portals.keys()]) this.dropPortal(name);
    this.statements.clear();
    this.transaction = 'none';
  }

  /**
   * Runs a statement of the family. Simple protocol: the whole response, ReadyForQuery included.
   * Extended (an Execute): no row description (Describe sent it) and no ReadyForQuery (Sync's);
   * errors are thrown to the caller.
   */
  private async run(statement: SubscribeStatement, send: Send, options: { extended: boolean; stream?: SubscriberStream | null }): Promise<void> {
    const { extended } = options;
    const end = (): void => {
      if (!extended) this.ready(send);
    };
    if (this.transaction === 'failed') {
      options.stream?.close();
      if (extended) throw new MzStatementError(ABORTED_MESSAGE, '25P02');
      return this.fail(send, '25P02', ABORTED_MESSAGE);
    }
    if (this.hooks.inDatabaseTransaction()) {
      await this.hooks.endDatabaseTransaction();
      this.transaction = 'open';
    }
    switch (statement.kind) {
      case 'subscribe':
      case 'copy_subscribe':
        return this.stream(statement, send, extended, options.stream ?? null);
      case 'declare': {
        options.stream?.close();
        if (this.transaction === 'none') throw new MzStatementError('DECLARE CURSOR can only be used in transaction blocks', '25P01');
        if (this.cursors.has(statement.cursor)) throw new MzStatementError(`cursor "${statement.cursor}" already exists`, '42P03');
        this.cursors.set(statement.cursor, await SubscriberStream.open(statement.spec, this.hooks.hub));
        send(frame('C', [cString('DECLARE CURSOR')]));
        return end();
      }
      case 'fetch': {
        const stream = this.cursors.get(statement.cursor);
        if (!stream) throw new MzStatementError(`cursor "${statement.cursor}" does not exist`, '34000');
        const controller = new AbortController();
        this.running = controller;
        try {
          await stream.waitForRows(statement.timeoutMs, controller.signal);
        } finally {
          this.running = null;
        }
        if (controller.signal.aborted) throw canceledError();
        const rows = stream.take(statement.count);
        // One write for the whole answer: a change reaches a hundred waiting cursors at once, and
        // four writes each made that hundred's delivery take several times its computing.
        const head = extended ? [] : [rowDescription(stream)];
        const tail = extended ? [] : [this.readyFrame()];
        send(concat([...head, ...rows.map(dataRow), frame('C', [cString(`FETCH ${rows.length}`)]), ...tail]));
        return;
      }
      case 'close': {
        const stream = this.cursors.get(statement.cursor);
        // Over the extended protocol the cursor may have been closed since the Parse.
        if (!stream) throw new MzStatementError(`cursor "${statement.cursor}" does not exist`, '34000');
        stream.close();
        this.cursors.delete(statement.cursor);
        send(frame('C', [cString('CLOSE CURSOR')]));
        return end();
      }
    }
  }

  /** SUBSCRIBE and COPY (SUBSCRIBE) TO STDOUT: rows as they come, until the end or a cancel. */
  private async stream(
    statement: Extract<SubscribeStatement, { kind: 'subscribe' | 'copy_subscribe' }>,
    send: Send,
    extended: boolean,
    opened: SubscriberStream | null,
  ): Promise<void> {
    const stream = opened ?? (await SubscriberStream.open(statement.spec, this.hooks.hub));
    const copy = statement.kind === 'copy_subscribe';
    const controller = new AbortController();
    this.running = controller;
    let sent = 0;
    try {
      if (copy) send(frame('H', [new Uint8Array([0]), int16(stream.columns.length), ...stream.columns.map(() => int16(0))]));
      else if (!extended) send(rowDescription(stream));
      for (;;) {
        await stream.waitForRows(null, controller.signal);
        const rows = stream.take('all');
        // A batch's rows in one write (see FETCH).
        if (rows.length > 0) send(concat(rows.map((row) => (copy ? frame('d', [encoder.encode(copyLine(row))]) : dataRow(row)))));
        sent += rows.length;
        if (controller.signal.aborted) {
          stream.close();
          throw canceledError();
        }
        if (stream.finished && stream.available === 0) break;
      }
    } finally {
      this.running = null;
      stream.close();
    }
    if (copy) send(frame('c', []));
    send(frame('C', [cString(copy ? `COPY ${sent}` : `SUBSCRIBE ${sent}`)]));
    if (!extended) this.ready(send);
  }

  private transactionControl(control: string, send: Send, extended = false): void {
    if (control === 'begin' || control.startsWith('start')) {
      send(frame('N', [...['SWARNING', 'VWARNING', 'C25001', 'Mthere is already a transaction in progress'].map((field) => cString(field)), new Uint8Array([0])]));
      send(frame('C', [cString('BEGIN')]));
      if (!extended) this.ready(send);
      return;
    }
    const committed = (control === 'commit' || control === 'end') && this.transaction === 'open';
    for (const stream of this.cursors.values()) stream.close();
    this.cursors.clear();
    this.transaction = 'none';
    send(frame('C', [cString(committed ? 'COMMIT' : 'ROLLBACK')]));
    if (!extended) this.ready(send);
  }

  /**
   * A message of the extended protocol: answered here when it belongs to a statement of the family
   * (or to this session's own transaction); null when PGlite should run it.
   */
  private handleExtended(message: Uint8Array, send: Send): Promise<void> | null {
    const type = message[0]!;
    if (type === 0x53 /* S */) return this.sync(send);
    if (this.skipUntilSync) return Promise.resolve();
    switch (type) {
      case 0x50 /* P */: {
        const name = readCString(message, 5);
        const sql = readCString(message, name.next).value;
        let owned: OwnedStatement | null;
        try {
          owned = this.ownedStatement(sql);
        } catch (error) {
          this.statements.delete(name.value);
          return this.extended(send, () => {
            throw error;
          });
        }
        if (!owned) {
          this.statements.delete(name.value);
          const control = CONTROL.exec(sql)?.[1]?.toLowerCase();
          const database = this.toDatabase();
          if (control) this.batchTransaction = control === 'begin' || control.startsWith('start');
          return database;
        }
        this.statements.set(name.value, owned);
        return this.extended(send, () => send(frame('1', [])));
      }
      case 0x42 /* B */: {
        const portal = readCString(message, 5);
        const statementName = readCString(message, portal.next).value;
        this.dropPortal(portal.value);
        const statement = this.statements.get(statementName);
        if (!statement) return this.toDatabase();
        this.portals.set(portal.value, { statement, stream: null });
        return this.extended(send, () => send(frame('2', [])));
      }
      case 0x44 /* D */: {
        const kind = String.fromCharCode(message[5]!);
        const name = readCString(message, 6).value;
        if (kind === 'S') {
          const statement = this.statements.get(name);
          if (!statement) return this.toDatabase();
          return this.extended(send, async () => {
            send(frame('t', [int16(0)]));
            const stream = await this.describe(statement, send);
            stream?.close();
          });
        }
        const portal = this.portals.get(name);
        if (!portal) return this.toDatabase();
        return this.extended(send, async () => {
          portal.stream ??= await this.describe(portal.statement, send);
        });
      }
      case 0x45 /* E */: {
        const name = readCString(message, 5).value;
        const portal = this.portals.get(name);
        if (!portal) return this.toDatabase();
        return this.extended(send, () => {
          const stream = portal.stream;
          portal.stream = null;
          return this.execute(portal.statement, send, stream);
        });
      }
      case 0x43 /* C */: {
        const kind = String.fromCharCode(message[5]!);
        const name = readCString(message, 6).value;
        const owned = kind === 'S' ? this.statements.delete(name) : this.dropPortal(name);
        if (!owned) return this.toDatabase();
        return this.extended(send, () => send(frame('3', [])));
      }
      case 0x48 /* H */:
        // Flush: what is answered here is written at once.
        return this.databaseSinceSync ? null : Promise.resolve();
      default:
        return this.toDatabase();
    }
  }

  /** What a Parse's SQL is to this session: a statement it answers, or null for PGlite's. */
  private ownedStatement(sql: string): OwnedStatement | null {
    if (this.transaction !== 'none') {
      const control = CONTROL.exec(sql)?.[1]?.toLowerCase();
      if (control) return { kind: 'control', control };
    }
    // Every Parse passes here: most are not of the family, and are told apart without tokenizing.
    const statement = MAY_BE_OURS.test(sql) ? parseSubscribeStatement(sql, (name) => this.cursors.has(name)) : null;
    if (statement) return statement;
    return this.transaction === 'failed' ? { kind: 'aborted' } : null;
  }

  /** The row description of a statement (Describe), or NoData; a SUBSCRIBE's stream is opened for it. */
  private async describe(statement: OwnedStatement, send: Send): Promise<SubscriberStream | null> {
    if (statement.kind === 'aborted') throw new MzStatementError(ABORTED_MESSAGE, '25P02');
    if (statement.kind === 'subscribe') {
      const stream = await SubscriberStream.open(statement.spec, this.hooks.hub);
      send(rowDescription(stream));
      return stream;
    }
    if (statement.kind === 'fetch') {
      const cursor = this.cursors.get(statement.cursor);
      if (!cursor) throw new MzStatementError(`cursor "${statement.cursor}" does not exist`, '34000');
      send(rowDescription(cursor));
      return null;
    }
    send(frame('n', []));
    return null;
  }

  private async execute(statement: OwnedStatement, send: Send, stream: SubscriberStream | null): Promise<void> {
    if (statement.kind === 'aborted') throw new MzStatementError(ABORTED_MESSAGE, '25P02');
    if (statement.kind === 'control') {
      stream?.close();
      this.transactionControl(statement.control, send, true);
      return;
    }
    await this.run(statement, send, { extended: true, stream });
  }

  /**
   * Runs `step` after the extended messages before it; an error it throws is sent, and the rest up
   * to the Sync skipped.
   */
  private extended(send: Send, step: () => void | Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.skipUntilSync) return;
      try {
        if (this.databaseSinceSync && !this.joinedDatabase) await this.joinDatabase();
        await step();
      } catch (error) {
        const { code, message } = errorText(error);
        send(errorResponse('ERROR', code, message));
        if (this.transaction === 'open') this.transaction = 'failed';
        this.skipUntilSync = true;
      }
    };
    const next = this.extendedChain.then(run);
    this.extendedChain = next;
    return next;
  }

  /** PGlite runs this message: its Sync then ends the batch. */
  private toDatabase(): null {
    if (!this.databaseSinceSync) {
      this.databaseWasInTransaction = this.hooks.inDatabaseTransaction();
      this.batchTransaction = null;
      this.joinedDatabase = false;
    }
    this.databaseSinceSync = true;
    return null;
  }

  /**
   * PGlite ran the start of this batch (a BEGIN, say) and may still be answering it: what is
   * answered here must come after. Ending PGlite's transaction waits for PGlite's answers (the
   * queue keeps a connection's messages in order); a transaction it had is carried on here, as a
   * DECLARE would (run). PGlite's own Sync then reports idle; the client's next statement finds the
   * transaction here.
   */
  private async joinDatabase(): Promise<void> {
    this.joinedDatabase = true;
    const inTransaction = this.batchTransaction ?? this.databaseWasInTransaction;
    await this.hooks.endDatabaseTransaction();
    if (inTransaction && this.transaction === 'none') this.transaction = 'open';
  }

  private sync(send: Send): Promise<void> | null {
    const databaseRan = this.databaseSinceSync;
    this.databaseSinceSync = false;
    const finish = (): void => {
      this.skipUntilSync = false;
      // Outside a transaction, portals end with the implicit transaction the Sync closes.
      if (this.transaction === 'none') for (const name of [...this.portals.keys()]) this.dropPortal(name);
    };
    if (databaseRan) {
      finish();
      return null;
    }
    const next = this.extendedChain.then(() => {
      finish();
      const status = this.transaction !== 'none' ? this.readyFrame() : frame('Z', [new Uint8Array([(this.hooks.inDatabaseTransaction() ? 'T' : 'I').charCodeAt(0)])]);
      send(status);
    });
    this.extendedChain = next;
    return next;
  }

  /** Forgets a portal (closing a stream its Describe opened); true if it was this session's. */
  private dropPortal(name: string): boolean {
    const portal = this.portals.get(name);
    if (!portal) return false;
    portal.stream?.close();
    this.portals.delete(name);
    return true;
  }

  private fail(send: Send, code: string, message: string): void {
    send(errorResponse('ERROR', code, message));
    if (this.transaction === 'open') this.transaction = 'failed';
    this.ready(send);
  }

  private ready(send: Send): void {
    send(this.readyFrame());
  }

  /** ReadyForQuery with this session's transaction status. */
  private readyFrame(): Uint8Array {
    const status = this.transaction === 'none' ? 'I' : this.transaction === 'open' ? 'T' : 'E';
    return frame('Z', [new Uint8Array([status.charCodeAt(0)])]);
  }
}

function canceledError(): MzStatementError {
  return new MzStatementError('canceling statement due to user request', '57014');
}

/** An error's SQLSTATE and text; PGlite's own (met computing the subscribed query) worded as Materialize words it. */
function errorText(error: unknown): { code: string; message: string } {
  if (error instanceof MzStatementError) return { code: error.code, message: error.message };
  const failure = error as Error & { code?: string };
  return { code: failure.code ?? 'XX000', message: materializeErrorText(failure.message) ?? failure.message };
}

function rowDescription(stream: SubscriberStream): Uint8Array {
  const fields = stream.columns.map((column) =>
    concat([cString(column.name), int32(0), int16(0), int32(column.typeOid), int16(column.typeSize), int32(-1), int16(0)]),
  );
  return frame('T', [int16(fields.length), ...fields]);
}

function dataRow(row: RowValues): Uint8Array {
  const parts: Uint8Array[] = [int16(row.length)];
  for (const value of row) {
    if (value === null) parts.push(int32(-1));
    else {
      const bytes = encoder.encode(value);
      parts.push(int32(bytes.length), bytes);
    }
  }
  return frame('D', parts);
}

/** COPY's text format: tab-separated, \N for NULL, backslash escapes, one line per row. */
function copyLine(row: RowValues): string {
  return `${row.map((value) => (value === null ? '\\N' : value.replace(/[\\\t\n\r]/g, (char) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[char]!))).join('\t')}\n`;
}
