/**
 * The console's Activations view, server side: `GET /console/api/activations`. Per activation
 * declared in the project (activations/*.yml): what its checkpoint on the local server says — sent,
 * pending, failed with reasons, whether a worker holds it and what it last said it was doing
 * (following, retrying with the reason, stopped) — and the last calls: those the Tracking API
 * stand-in received for it (in `npm run dev`; with what forwarding them through the function did),
 * else the last changes of its checkpoint log.
 */
import pg from 'pg';
import { readActivationStatus, type ActivationStatusRow } from '../activation/activation-status.ts';
import { loadActivations, type Activation } from '../activation/declarations.ts';
import type { ForwardOutcome, TrackingStandIn } from '../activation/tracking-stand-in.ts';
import { asProjectErrors } from '../runner/errors.ts';

export interface ActivationCallView {
  readonly messageId: string;
  readonly type: string;
  readonly userId: string | null;
  readonly event: string | null;
  readonly op: string | null;
  readonly mzTimestamp: string | null;
  /** Traits or properties, as sent. */
  readonly payload: Record<string, unknown>;
  readonly receivedAt: number;
  readonly retryCount: number;
  readonly forwarded: ForwardOutcome | null;
}

export interface ActivationView {
  readonly name: string;
  readonly model: string;
  readonly destination: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly file: string;
  /** From the checkpoint (null: never run on this server). */
  readonly checkpoint: Omit<ActivationStatusRow, 'activation'> | null;
  /** Calls the stand-in received for this activation, newest first (null: no stand-in here). */
  readonly calls: ActivationCallView[] | null;
}

export interface ActivationsSnapshot {
  readonly activations: ActivationView[];
  /** Declarations that do not load, in words. */
  readonly error: string | null;
  /** The stand-in's base URL, when it runs in this process. */
  readonly standIn: { readonly url: string; readonly forwarding: boolean } | null;
  /** Could not read the checkpoint (the server is starting, say). */
  readonly checkpointError: string | null;
}

const CALLS_SHOWN = 15;

export class ActivationsBoard {
  private standIn: TrackingStandIn | null = null;
  private forwarding = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    /** The project's root (none: no project, so no activations). */
    private readonly root: () => string | undefined,
  ) {}

  /** `npm run dev`: the stand-in whose calls the view shows. */
  useStandIn(standIn: TrackingStandIn | null, options: { forwarding?: boolean } = {}): void {
    this.standIn = standIn;
    this.forwarding = options.forwarding ?? false;
  }

  async snapshot(): Promise<ActivationsSnapshot> {
    const root = this.root();
    let declared: Activation[] = [];
    let error: string | null = null;
    if (root) {
      try {
        declared = loadActivations(root);
      } catch (caught) {
        error = asProjectErrors(caught)
          .map((each) => each.format())
          .join('\n');
      }
    }
    let status = new Map<string, ActivationStatusRow>();
    let checkpointError: string | null = null;
    const client = new pg.Client({ application_name: 'segment-materialize console', ...this.connection });
    client.on('error', () => {});
    try {
      await client.connect();
      status = await readActivationStatus(client);
    } catch (caught) {
      checkpointError = (caught as Error).message;
    } finally {
      await client.end().catch(() => {});
    }
    const calls = this.standIn ? callsByActivation(this.standIn) : null;
    const names = new Set(declared.map((each) => each.name));
    const activations: ActivationView[] = declared.map((activation) => {
      const row = status.get(activation.name);
      return {
        name: activation.name,
        model: activation.model,
        destination: activation.destination.kind === 'segment' ? `segment ${activation.destination.segment.call}` : 'webhook',
        description: activation.description ?? null,
        enabled: activation.enabled,
        file: activation.file,
        checkpoint: row ? withoutName(row) : null,
        calls: calls ? (calls.get(activation.name) ?? []) : null,
      };
    });
    // A checkpoint of an activation no longer declared (renamed or removed): still shown.
    for (const [name, row] of status) {
      if (names.has(name)) continue;
      activations.push({ name, model: '?', destination: row.destination ?? '?', description: 'not declared in activations/ (renamed or removed)', enabled: false, file: '', checkpoint: withoutName(row), calls: calls ? (calls.get(name) ?? []) : null });
    }
    return { activations, error, standIn: this.standIn ? { url: this.standIn.url, forwarding: this.forwarding } : null, checkpointError };
  }
}

function withoutName(row: ActivationStatusRow): Omit<ActivationStatusRow, 'activation'> {
  const { activation: _name, ...rest } = row;
  return rest;
}

function callsByActivation(standIn: TrackingStandIn): Map<string, ActivationCallView[]> {
  const result = new Map<string, ActivationCallView[]>();
  for (let index = standIn.calls.length - 1; index >= 0; index--) {
    const recorded = standIn.calls[index]!;
    const { call } = recorded;
    const materialize = (call.context as { materialize?: { activation?: string; op?: string; mz_timestamp?: string } } | undefined)?.materialize;
    const name = materialize?.activation ?? '(not from an activation)';
    let list = result.get(name);
    if (!list) result.set(name, (list = []));
    if (list.length >= CALLS_SHOWN) continue;
    list.push({
      messageId: call.messageId,
      type: call.type,
      userId: call.userId ?? call.anonymousId ?? null,
      event: call.event ?? null,
      op: materialize?.op ?? null,
      mzTimestamp: materialize?.mz_timestamp ?? null,
      payload: (call.type === 'track' ? call.properties : call.traits) ?? {},
      receivedAt: recorded.receivedAt,
      retryCount: recorded.retryCount,
      forwarded: recorded.forwarded ?? null,
    });
  }
  return result;
}
