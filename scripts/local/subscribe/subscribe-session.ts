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
 */
import { concat, cString, errorResponse, frame, int16, int32, readCString } from '../protocol-bytes.ts';
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

export class SubscribeSession {
  private readonly cursors = new Map<string, SubscriberStream>();
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
    if (message[0] !== 0x51 /* Q */) return null;
    const sql = readCString(message, 5).value;
    if (this.transaction !== 'none') {
      const control = /^\s*(begin|start\s+transaction|commit|end|rollback|abort)\b/i.exec(sql)?.[1]?.toLowerCase();
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
    return this.run(statement, send).catch((error: unknown) => {
      if (error instanceof MzStatementError) return this.fail(send, error.code, error.message);
      // PGlite's own error, met computing the subscribed query: worded as Materialize words it.
      const failure = error as Error & { code?: string };
      return this.fail(send, failure.code ?? 'XX000', materializeErrorText(failure.message) ?? failure.message);
    });
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
    this.transaction = 'none';
  }

  private async run(statement: SubscribeStatement, send: Send): Promise<void> {
    if (this.transaction === 'failed') {
      return this.fail(send, '25P02', 'current transaction is aborted, commands ignored until end of transaction block');
    }
    if (this.hooks.inDatabaseTransaction()) {
      await this.hooks.endDatabaseTransaction();
      this.transaction = 'open';
    }
    switch (statement.kind) {
      case 'subscribe':
      case 'copy_subscribe':
        return this.stream(statement, send);
      case 'declare': {
        if (this.transaction === 'none') return this.fail(send, '25P01', 'DECLARE CURSOR can only be used in transaction blocks');
        if (this.cursors.has(statement.cursor)) return this.fail(send, '42P03', `cursor "${statement.cursor}" already exists`);
        this.cursors.set(statement.cursor, await SubscriberStream.open(statement.spec, this.hooks.hub));
        send(frame('C', [cString('DECLARE CURSOR')]));
        return this.ready(send);
      }
      case 'fetch': {
        const stream = this.cursors.get(statement.cursor)!;
        const controller = new AbortController();
        this.running = controller;
        try {
          await stream.waitForRows(statement.timeoutMs, controller.signal);
        } finally {
          this.running = null;
        }
        if (controller.signal.aborted) return this.canceled(send);
        const rows = stream.take(statement.count);
        // One write for the whole answer: a change reaches a hundred waiting cursors at once, and
        // four writes each made that hundred's delivery take several times its computing.
        send(concat([rowDescription(stream), ...rows.map(dataRow), frame('C', [cString(`FETCH ${rows.length}`)]), this.readyFrame()]));
        return;
      }
      case 'close': {
        this.cursors.get(statement.cursor)!.close();
        this.cursors.delete(statement.cursor);
        send(frame('C', [cString('CLOSE CURSOR')]));
        return this.ready(send);
      }
    }
  }

  /** SUBSCRIBE and COPY (SUBSCRIBE) TO STDOUT: rows as they come, until the end or a cancel. */
  private async stream(statement: Extract<SubscribeStatement, { kind: 'subscribe' | 'copy_subscribe' }>, send: Send): Promise<void> {
    const stream = await SubscriberStream.open(statement.spec, this.hooks.hub);
    const copy = statement.kind === 'copy_subscribe';
    const controller = new AbortController();
    this.running = controller;
    let sent = 0;
    try {
      send(copy ? frame('H', [new Uint8Array([0]), int16(stream.columns.length), ...stream.columns.map(() => int16(0))]) : rowDescription(stream));
      for (;;) {
        await stream.waitForRows(null, controller.signal);
        const rows = stream.take('all');
        // A batch's rows in one write (see FETCH).
        if (rows.length > 0) send(concat(rows.map((row) => (copy ? frame('d', [encoder.encode(copyLine(row))]) : dataRow(row)))));
        sent += rows.length;
        if (controller.signal.aborted) {
          stream.close();
          return this.canceled(send);
        }
        if (stream.finished && stream.available === 0) break;
      }
    } finally {
      this.running = null;
      stream.close();
    }
    if (copy) send(frame('c', []));
    send(frame('C', [cString(copy ? `COPY ${sent}` : `SUBSCRIBE ${sent}`)]));
    return this.ready(send);
  }

  private transactionControl(control: string, send: Send): void {
    if (control === 'begin' || control.startsWith('start')) {
      send(frame('N', [...['SWARNING', 'VWARNING', 'C25001', 'Mthere is already a transaction in progress'].map((field) => cString(field)), new Uint8Array([0])]));
      send(frame('C', [cString('BEGIN')]));
      return this.ready(send);
    }
    const committed = (control === 'commit' || control === 'end') && this.transaction === 'open';
    for (const stream of this.cursors.values()) stream.close();
    this.cursors.clear();
    this.transaction = 'none';
    send(frame('C', [cString(committed ? 'COMMIT' : 'ROLLBACK')]));
    this.ready(send);
  }

  private canceled(send: Send): void {
    this.fail(send, '57014', 'canceling statement due to user request');
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
