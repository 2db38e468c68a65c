/**
 * One SUBSCRIBE as its client sees it: Materialize's output columns (`mz_timestamp`, then
 * `mz_progressed` with PROGRESS, then `mz_diff` — or `mz_state` and the key columns first with
 * ENVELOPE UPSERT, and `before_`/`after_` copies of the values with ENVELOPE DEBEZIUM — then the
 * relation's columns), the snapshot at the start timestamp, one batch
 * per change after, progress rows, WITHIN TIMESTAMP ORDER BY, and the end at UP TO. Rows wait in
 * a buffer until the wire layer takes them (COPY streams them, FETCH reads them).
 */
import { MzStatementError } from '../sql/mz-statements-error.ts';
import type { SubscribeSpec } from './subscribe-statements.ts';
import type { Batch, RowValues, SubscribedColumn, Subscription, SubscriptionHub, Update } from './subscription-hub.ts';

export interface OutputColumn {
  readonly name: string;
  readonly typeOid: number;
  readonly typeSize: number;
}

const NUMERIC = 1700;
const BOOL = 16;
const INT8 = 20;
const TEXT = 25;

export class SubscriberStream {
  readonly columns: OutputColumn[];
  private readonly buffer: RowValues[] = [];
  private subscription: Subscription | null = null;
  private waiters: Array<() => void> = [];
  private progressTimer: NodeJS.Timeout | null = null;
  private upToTimer: NodeJS.Timeout | null = null;
  /** ENVELOPE UPSERT: the current rows of each key. */
  private readonly keyed = new Map<string, Map<string, { values: RowValues; count: number }>>();
  private keyIndexes: number[] = [];
  private valueIndexes: number[] = [];
  private relationColumns: readonly SubscribedColumn[] = [];
  /** True once UP TO is reached or the stream was closed: no more rows will come. */
  finished = false;

  private constructor(
    private readonly spec: SubscribeSpec,
    private readonly hub: SubscriptionHub,
  ) {
    this.columns = [];
  }

  static async open(spec: SubscribeSpec, hub: SubscriptionHub): Promise<SubscriberStream> {
    const stream = new SubscriberStream(spec, hub);
    await stream.start();
    return stream;
  }

  private async start(): Promise<void> {
    const frontier = this.hub.frontier;
    if (this.spec.asOf !== null && this.spec.asOf < frontier - 1_000) {
      throw new MzStatementError(
        `Timestamp (${this.spec.asOf}) is not valid for all inputs: the local server keeps no history before the subscription starts (now ${frontier})`,
        'XX000',
      );
    }
    const subscription = await this.hub.subscribe(this.spec.query, (batch) => this.receive(batch));
    this.subscription = subscription;
    this.relationColumns = subscription.columns;
    this.defineColumns(subscription.columns);
    const asOf = Math.max(subscription.snapshot.timestamp, this.spec.asOf ?? 0);
    if (this.spec.upTo !== null && this.spec.upTo < asOf) {
      subscription.unsubscribe();
      throw new MzStatementError(`UP TO (${this.spec.upTo}) is less than the subscription's AS OF (${asOf})`, 'XX000');
    }
    if (this.spec.upTo !== null && this.spec.upTo === asOf) {
      // AS OF is inclusive and UP TO exclusive: nothing lies between them.
      this.finish();
      return;
    }
    if (this.spec.progress) this.push([this.progressRow(asOf)]);
    if (this.spec.snapshot) this.receive({ timestamp: asOf, updates: subscription.snapshot.updates });
    else if (this.spec.envelope) this.apply(subscription.snapshot.updates); // the state keyed envelopes start from
    if (this.spec.progress) {
      // Heartbeats: without them a client cannot tell a quiet stream from a stalled one.
      this.progressTimer = setInterval(() => this.push([this.progressRow(this.hub.nextTimestamp())]), 1_000);
      this.progressTimer.unref();
    }
    this.checkUpTo(asOf);
    if (this.spec.upTo !== null && !this.finished) {
      // Time alone moves the frontier past UP TO, with or without changes.
      this.upToTimer = setTimeout(() => this.finish(), Math.max(0, this.spec.upTo - Date.now()));
      this.upToTimer.unref();
    }
  }

  private defineColumns(relation: readonly SubscribedColumn[]): void {
    const out: OutputColumn[] = [{ name: 'mz_timestamp', typeOid: NUMERIC, typeSize: -1 }];
    if (this.spec.progress) out.push({ name: 'mz_progressed', typeOid: BOOL, typeSize: 1 });
    const envelope = this.spec.envelope;
    if (envelope) {
      const names = relation.map((column) => column.name);
      this.keyIndexes = envelope.key.map((key) => {
        const index = names.indexOf(key);
        if (index === -1) throw new MzStatementError(`column "${key}" does not exist`, '42703');
        return index;
      });
      this.valueIndexes = relation.map((_, index) => index).filter((index) => !this.keyIndexes.includes(index));
      out.push({ name: 'mz_state', typeOid: TEXT, typeSize: -1 });
      const column = (index: number, prefix = '') => ({ name: `${prefix}${relation[index]!.name}`, typeOid: relation[index]!.typeOid, typeSize: -1 });
      for (const index of this.keyIndexes) out.push(column(index));
      if (envelope.kind === 'upsert') for (const index of this.valueIndexes) out.push(column(index));
      else {
        for (const index of this.valueIndexes) out.push(column(index, 'before_'));
        for (const index of this.valueIndexes) out.push(column(index, 'after_'));
      }
    } else {
      out.push({ name: 'mz_diff', typeOid: INT8, typeSize: 8 });
      for (const column of relation) out.push({ name: column.name, typeOid: column.typeOid, typeSize: -1 });
    }
    this.columns.push(...out);
  }

  /** Rows waiting to be read, taken from the buffer (up to `limit`). */
  take(limit: number | 'all'): RowValues[] {
    const count = limit === 'all' ? this.buffer.length : Math.min(limit, this.buffer.length);
    return this.buffer.splice(0, count);
  }

  get available(): number {
    return this.buffer.length;
  }

  /** Resolves when rows arrive, the stream finishes, or `timeoutMs` passes (never, when null). */
  waitForRows(timeoutMs: number | null, signal?: AbortSignal): Promise<void> {
    if (this.buffer.length > 0 || this.finished || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = timeoutMs === null ? null : setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done);
      this.waiters.push(done);
    });
  }

  close(): void {
    this.finished = true;
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = null;
    if (this.upToTimer) clearTimeout(this.upToTimer);
    this.upToTimer = null;
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.wake();
  }

  private receive(batch: Batch): void {
    if (this.finished) return;
    if (this.spec.upTo !== null && batch.timestamp >= this.spec.upTo) {
      this.finish();
      return;
    }
    const timestamp = String(batch.timestamp);
    let rows: RowValues[];
    if (this.spec.envelope) {
      rows = this.keyedRows(batch.updates).map((row) => [timestamp, ...(this.spec.progress ? ['f'] : []), ...row]);
    } else {
      rows = batch.updates.map((update) => [timestamp, ...(this.spec.progress ? ['f'] : []), String(update.diff), ...update.values]);
    }
    if (this.spec.orderWithin.length > 0) rows.sort((a, b) => this.compareWithin(a, b));
    if (this.spec.progress) rows.push(this.progressRow(batch.timestamp + 1));
    this.push(rows);
    this.checkUpTo(batch.timestamp + 1);
  }

  /**
   * Keyed envelopes, per key touched: UPSERT gives its resulting state (upsert, delete,
   * key_violation); DEBEZIUM also the value before (insert, upsert, delete, key_violation).
   */
  private keyedRows(updates: readonly Update[]): Array<Array<string | null>> {
    const single = (key: string): RowValues | 'none' | 'many' => {
      const entries = [...(this.keyed.get(key)?.values() ?? [])];
      const total = entries.reduce((sum, entry) => sum + entry.count, 0);
      return total === 0 ? 'none' : total === 1 ? entries[0]!.values : 'many';
    };
    const before = new Map<string, RowValues | 'none' | 'many'>();
    for (const update of updates) {
      const key = JSON.stringify(this.keyIndexes.map((index) => update.values[index] ?? null));
      if (!before.has(key)) before.set(key, single(key));
    }
    const touched = this.apply(updates);
    const nulls = this.valueIndexes.map(() => null);
    const values = (row: RowValues | 'none' | 'many') => (typeof row === 'string' ? nulls : this.valueIndexes.map((index) => row[index] ?? null));
    const rows: Array<Array<string | null>> = [];
    for (const [key, keyValues] of touched) {
      const previous = before.get(key)!;
      const current = single(key);
      if (this.spec.envelope!.kind === 'upsert') {
        const state = current === 'none' ? 'delete' : current === 'many' ? 'key_violation' : 'upsert';
        rows.push([state, ...keyValues, ...(state === 'upsert' ? values(current) : nulls)]);
        continue;
      }
      if (previous === 'many' || current === 'many') rows.push(['key_violation', ...keyValues, ...nulls, ...nulls]);
      else if (current === 'none') rows.push(['delete', ...keyValues, ...values(previous), ...nulls]);
      else rows.push([previous === 'none' ? 'insert' : 'upsert', ...keyValues, ...values(previous), ...values(current)]);
    }
    return rows;
  }

  /** Applies updates to the keyed state; returns the keys touched with their key values. */
  private apply(updates: readonly Update[]): Map<string, Array<string | null>> {
    const touched = new Map<string, Array<string | null>>();
    for (const update of updates) {
      const keyValues = this.keyIndexes.map((index) => update.values[index] ?? null);
      const key = JSON.stringify(keyValues);
      touched.set(key, keyValues);
      let rows = this.keyed.get(key);
      if (!rows) this.keyed.set(key, (rows = new Map()));
      const rowKey = JSON.stringify(update.values);
      const count = (rows.get(rowKey)?.count ?? 0) + update.diff;
      if (count === 0) rows.delete(rowKey);
      else rows.set(rowKey, { values: update.values, count });
      if (rows.size === 0) this.keyed.delete(key);
    }
    return touched;
  }

  private compareWithin(a: RowValues, b: RowValues): number {
    for (const order of this.spec.orderWithin) {
      const index = this.columns.findIndex((column) => column.name === order.column);
      if (index === -1) throw new MzStatementError(`column "${order.column}" does not exist`, '42703');
      const left = a[index] ?? null;
      const right = b[index] ?? null;
      if (left === right) continue;
      if (left === null) return order.nullsFirst ? -1 : 1;
      if (right === null) return order.nullsFirst ? 1 : -1;
      const numeric = Number(left) - Number(right);
      const cmp = Number.isFinite(numeric) && left.trim() !== '' && right.trim() !== '' ? numeric : left < right ? -1 : 1;
      if (cmp !== 0) return order.descending ? -cmp : cmp;
    }
    return 0;
  }

  private progressRow(timestamp: number): RowValues {
    return [String(timestamp), 't', ...this.columns.slice(2).map(() => null)];
  }

  private checkUpTo(frontier: number): void {
    if (this.spec.upTo !== null && frontier >= this.spec.upTo) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.close();
  }

  private push(rows: RowValues[]): void {
    if (rows.length === 0) return;
    this.buffer.push(...rows);
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The subscribed relation's own columns (for messages). */
  get relation(): readonly SubscribedColumn[] {
    return this.relationColumns;
  }
}
