/**
 * The activation worker: one follower per activation, each holding the activation's lease, its
 * checkpoint and one SUBSCRIBE, delivering every closed timestamp's changes before reading on.
 *
 * Per follower, in a loop that survives lost connections, dropped or swapped relations and
 * receivers that are down (each failure is reported, then retried with backoff):
 *   1. take the lease (another worker holding it: wait, saying who);
 *   2. load the checkpoint; send again any batch written but not committed (same message ids);
 *   3. SUBSCRIBE … ENVELOPE UPSERT (KEY (…)) WITH (PROGRESS); its snapshot is diffed against what
 *      was delivered (what changed while no worker ran), then each closed timestamp is diffed the
 *      same way (unchanged rows send nothing);
 *   4. per batch: write the intent, deliver, commit — so a kill at any point re-sends at most the
 *      batch in flight, with the same ids, and loses nothing;
 *   5. every few seconds check that the relation is still the one subscribed (a redeploy or a
 *      blue/green swap creates a new one): if not, subscribe again (back to 3).
 * Configuration errors (a column the relation lacks, a missing variable) stop that activation
 * with the error at its file and line; the others go on.
 */
import pg from 'pg';
import { ProjectError } from '../runner/errors.ts';
import { quoteIdentifier } from '../shared/sql-scan.ts';
import { applyChanges, changesAgainst, messageId, snapshotChanges, type Change, type DeliveredState } from './changes.ts';
import { CheckpointStore, LeaseLostError, type DeliveryFailure, type WorkerState } from './checkpoint-store.ts';
import { checkColumns, mappedColumns, type BoundActivation } from './declarations.ts';
import { SegmentSender, segmentSettingsFromEnv, type SegmentSenderOptions } from './segment-sender.ts';
import { backoffMs, sleep, type RetryNotice, type Sender } from './sender.ts';
import { relationColumns, relationId, Subscription } from './subscription.ts';
import { WebhookSender } from './webhook-sender.ts';

export type ActivationEvent =
  | { readonly type: 'waiting'; readonly activation: string; readonly holder: string; readonly expiresAt: string }
  | { readonly type: 'following'; readonly activation: string; readonly relation: string; readonly destination: string; readonly delivered: number; readonly pending: number }
  | { readonly type: 'delivered'; readonly activation: string; readonly mzTimestamp: string; readonly changes: number; readonly upserts: number; readonly deletes: number; readonly failed: number; readonly snapshot: boolean; readonly resent: boolean; readonly ms: number }
  | { readonly type: 'retrying'; readonly activation: string; readonly notice: RetryNotice }
  | { readonly type: 'failed'; readonly activation: string; readonly failure: DeliveryFailure }
  | { readonly type: 'resubscribing'; readonly activation: string; readonly reason: string }
  | { readonly type: 'error'; readonly activation: string; readonly message: string; readonly retryInMs: number | null };

export interface WorkerOptions {
  /** How to connect to the target (pg client configuration; its password is never printed). */
  readonly connection: pg.ClientConfig;
  readonly env?: NodeJS.ProcessEnv;
  readonly onEvent?: (event: ActivationEvent) => void;
  /** Segment settings, instead of reading SEGMENT_WRITE_KEY / SEGMENT_TRACKING_URL from `env`. */
  readonly segment?: SegmentSenderOptions;
  /**
   * How often the relation's identity is checked, at most (default 2 s); the check is spaced to at
   * least 50 times its last duration, so that it takes at most 2% of the target's time (on the
   * local server the catalog query took 60–140 ms under load, 6% of the session at every 2 s).
   */
  readonly relationCheckMs?: number;
  readonly leaseTtlMs?: number;
  /** How long a FETCH waits for rows (default 1s; Materialize's timeout syntax). */
  readonly fetchTimeout?: string;
  /** Log rows before the checkpoint is compacted (default 5,000). */
  readonly compactAfterRows?: number;
  /** For tests: the sender of an activation. */
  readonly senderFor?: (bound: BoundActivation) => Sender;
}

/** Builds every activation's sender up front, so a missing variable stops the worker before it starts. */
export function createSenders(bound: readonly BoundActivation[], options: Pick<WorkerOptions, 'env' | 'segment' | 'senderFor'>): Map<string, Sender> {
  const env = options.env ?? process.env;
  const senders = new Map<string, Sender>();
  const toSegment = bound.filter((each) => each.activation.destination.kind === 'segment').map((each) => each.activation);
  const segment = toSegment.length && !options.senderFor ? (options.segment ?? segmentSettingsFromEnv(env, toSegment)) : undefined;
  for (const each of bound) {
    const { activation } = each;
    if (options.senderFor) senders.set(activation.name, options.senderFor(each));
    else if (activation.destination.kind === 'segment') senders.set(activation.name, new SegmentSender(activation, activation.destination.segment, segment!));
    else senders.set(activation.name, new WebhookSender(activation, activation.destination.webhook, env));
  }
  return senders;
}

export class ActivationWorker {
  private readonly followers: ActivationFollower[];

  constructor(
    readonly bound: readonly BoundActivation[],
    options: WorkerOptions,
  ) {
    const senders = createSenders(bound, options);
    this.followers = bound.map((each) => new ActivationFollower(each, senders.get(each.activation.name)!, options));
  }

  /** Runs every follower until stop(); resolves when all have stopped. */
  async run(): Promise<void> {
    await Promise.all(this.followers.map((follower) => follower.run()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.followers.map((follower) => follower.stop()));
  }
}

class ActivationFollower {
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private subscription: Subscription | null = null;
  private readonly name: string;
  /** The checkpoint of the current connection (while the lease is held): where the status is written. */
  private store: CheckpointStore | null = null;
  private state: WorkerState | null = null;
  private statusWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly bound: BoundActivation,
    private readonly sender: Sender,
    private readonly options: WorkerOptions,
  ) {
    this.name = bound.activation.name;
  }

  run(): Promise<void> {
    this.running ??= this.loop().finally(() => this.sender.close().catch(() => {}));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('stopping'));
    await this.subscription?.close();
    await this.running;
  }

  private emit(event: ActivationEvent): void {
    this.options.onEvent?.(event);
    this.recordState(event);
  }

  /**
   * Writes what the follower is doing to the checkpoint's status table when that changes (and each
   * retry, with its reason) — never per batch: a console or `--list` elsewhere reads it.
   */
  private recordState(event: ActivationEvent): void {
    let next: { state: WorkerState; detail: string } | null = null;
    if (event.type === 'following') next = { state: 'following', detail: `${event.relation} → ${event.destination}` };
    else if (event.type === 'retrying') next = { state: 'retrying', detail: `attempt ${event.notice.attempt}, ${event.notice.messages} message${event.notice.messages === 1 ? '' : 's'}: ${event.notice.reason}` };
    else if (event.type === 'delivered' && this.state === 'retrying') next = { state: 'following', detail: `delivered after retries (${event.changes} change${event.changes === 1 ? '' : 's'} at ${event.mzTimestamp})` };
    else if (event.type === 'error') next = { state: event.retryInMs === null ? 'stopped' : 'error', detail: event.message };
    const store = this.store;
    if (!next || !store || (next.state === this.state && next.state !== 'retrying')) return;
    this.state = next.state;
    const { state, detail } = next;
    this.statusWrite = this.statusWrite.then(() => store.writeStatus(state, detail, this.sender.description)).catch(() => {});
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      let client: pg.Client | null = null;
      let store: CheckpointStore | null = null;
      try {
        client = new pg.Client({ application_name: 'segment-materialize activate', ...this.options.connection });
        client.on('error', () => {});
        await client.connect();
        await client.query(`SET cluster = ${quoteIdentifier(this.bound.cluster)}`);
        await CheckpointStore.ensureSchema(client);
        store = new CheckpointStore(client, this.name, this.options.leaseTtlMs);
        if (!(await this.takeLease(store))) return;
        this.store = store;
        await this.follow(client, store, () => (failures = 0));
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        if (error instanceof ProjectError) {
          // A configuration error: retrying cannot fix it.
          this.emit({ type: 'error', activation: this.name, message: error.format(), retryInMs: null });
          return;
        }
        failures++;
        const retryInMs = error instanceof LeaseLostError ? 0 : backoffMs(failures, 30_000, 500);
        this.emit({ type: 'error', activation: this.name, message: describeError(error), retryInMs });
        await sleep(retryInMs, this.stopping.signal).catch(() => {});
      } finally {
        await this.subscription?.close();
        this.subscription = null;
        await this.statusWrite;
        this.store = null;
        this.state = null;
        await store?.releaseLease();
        await client?.end().catch(() => {});
      }
    }
  }

  /** false when stopped while waiting. */
  private async takeLease(store: CheckpointStore): Promise<boolean> {
    let told = false;
    for (;;) {
      const holder = await store.tryLease();
      if (!holder) return true;
      if (!told) {
        told = true;
        this.emit({ type: 'waiting', activation: this.name, holder: holder.holder, expiresAt: holder.expiresAt });
      }
      try {
        await sleep(Math.min(2_000, (this.options.leaseTtlMs ?? 30_000) / 3), this.stopping.signal);
      } catch {
        return false;
      }
    }
  }

  /** Resumes from the checkpoint and follows the relation until it changes identity or stopping. */
  private async follow(client: pg.Client, store: CheckpointStore, healthy: () => void): Promise<void> {
    const { activation } = this.bound;
    const checkpoint = await store.load(activation.key);
    const delivered = checkpoint.delivered;
    for (const batch of checkpoint.pending) {
      await this.deliver(store, delivered, batch.changes, batch.mzTimestamp, { generation: batch.generation, snapshot: false });
    }
    for (;;) {
      if (this.stopping.signal.aborted) return;
      const qualified = `${this.bound.schema}.${this.bound.relation}`;
      const subscribedId = await relationId(client, this.bound.schema, this.bound.relation);
      if (subscribedId === null) throw new Error(`${qualified} does not exist (not deployed yet?)`);
      const columns = await relationColumns(client, subscribedId);
      checkColumns(activation, columns, qualified);
      // Segment gets only mapped columns: subscribe to those alone. Webhooks get whole rows.
      const projection = activation.destination.kind === 'segment' ? [...new Set(mappedColumns(activation).map((each) => each.column))] : undefined;
      const subscription = await Subscription.open(
        this.options.connection,
        { database: this.bound.database, schema: this.bound.schema, relation: this.bound.relation, cluster: this.bound.cluster, key: activation.key, ...(projection ? { columns: projection } : {}) },
        this.options.fetchTimeout ? { fetchTimeout: this.options.fetchTimeout } : {},
      );
      this.subscription = subscription;
      this.emit({
        type: 'following',
        activation: this.name,
        relation: qualified,
        destination: this.sender.description,
        delivered: delivered.size,
        pending: checkpoint.pending.reduce((sum, batch) => sum + batch.changes.length, 0),
      });
      let lastCheck = performance.now();
      let checkMs = 0;
      for (;;) {
        const closed = await subscription.next();
        if (this.stopping.signal.aborted) return;
        for (const timestamp of closed) {
          for (const row of timestamp.keyViolations) {
            const keyText = JSON.stringify(activation.key.map((column) => row[column] ?? null));
            this.emit({
              type: 'failed',
              activation: this.name,
              failure: { keyText, messageId: messageId(this.name, keyText, timestamp.mzTimestamp), status: null, reason: `the key (${activation.key.join(', ')}) is not unique in ${this.bound.relation}: rows with this key were skipped` },
            });
          }
          const changes = timestamp.snapshot
            ? snapshotChanges(delivered, activation.key, timestamp.mzTimestamp, timestamp.updates.filter((update) => update.state === 'upsert').map((update) => update.row))
            : changesAgainst(delivered, activation.key, timestamp.mzTimestamp, timestamp.updates);
          if (changes.length) await this.deliver(store, delivered, changes, timestamp.mzTimestamp, { snapshot: timestamp.snapshot });
        }
        healthy();
        if (performance.now() - lastCheck >= Math.max(this.options.relationCheckMs ?? 2_000, checkMs * RELATION_CHECK_SPACING)) {
          lastCheck = performance.now();
          const id = await relationId(client, this.bound.schema, this.bound.relation);
          checkMs = performance.now() - lastCheck;
          if (id !== subscribedId) {
            this.emit({ type: 'resubscribing', activation: this.name, reason: id === null ? `${this.bound.relation} is gone (dropped, or being redeployed)` : `${this.bound.relation} was replaced (redeployed or swapped)` });
            await subscription.close();
            this.subscription = null;
            if (id === null) await sleep(1_000, this.stopping.signal).catch(() => {});
            break;
          }
        }
      }
    }
  }

  /** Intent, delivery, commit: the order that makes a kill re-send at most this batch, with the same ids. */
  private async deliver(store: CheckpointStore, delivered: DeliveredState, changes: Change[], mzTimestamp: string, options: { generation?: bigint; snapshot: boolean }): Promise<void> {
    const started = performance.now();
    const generation = options.generation ?? (await store.writeIntent(changes));
    const failures = await this.sender.deliver(changes, {
      signal: this.stopping.signal,
      onRetry: (notice) => this.emit({ type: 'retrying', activation: this.name, notice }),
    });
    await store.commit(generation, mzTimestamp, changes.length, failures);
    applyChanges(delivered, changes);
    for (const failure of failures) this.emit({ type: 'failed', activation: this.name, failure });
    const upserts = changes.filter((change) => change.op === 'upsert').length;
    this.emit({
      type: 'delivered',
      activation: this.name,
      mzTimestamp,
      changes: changes.length,
      upserts,
      deletes: changes.length - upserts,
      failed: failures.length,
      snapshot: options.snapshot,
      resent: options.generation !== undefined,
      ms: performance.now() - started,
    });
    await store.compactIfLarge(delivered, mzTimestamp, this.options.compactAfterRows);
  }
}

/** The relation check waits at least this many times its last duration (it then costs ≤ 2%). */
const RELATION_CHECK_SPACING = 50;

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
