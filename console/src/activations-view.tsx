/**
 * Activations: per activation declared in activations/*.yml, what its checkpoint says — changes
 * sent, pending (written, not yet accepted), failed for good with each reason — whether a worker
 * runs it and what it is doing (following, retrying and why, stopped), and its last calls (those
 * the Segment stand-in of npm run dev received, and whether forwarding them through the function
 * worked; else the last changes of its checkpoint). Polled every second from
 * /console/api/activations (scripts/console/activations-board.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import './activations.css';
import { formatTime } from './format.ts';

type ForwardOutcome = { ok: true; ms: number; at: number } | { ok: false; error: string; ms: number; at: number } | { ok: 'duplicate' };

interface ActivationCall {
  messageId: string;
  type: string;
  userId: string | null;
  event: string | null;
  op: string | null;
  mzTimestamp: string | null;
  payload: Record<string, unknown>;
  receivedAt: number;
  retryCount: number;
  forwarded: ForwardOutcome | null;
}

interface Checkpoint {
  sent: number;
  batches: number;
  pending: number;
  failed: number;
  lastTimestamp: string | null;
  lastCommittedAt: string | null;
  holder: string | null;
  state: 'following' | 'retrying' | 'stopped' | 'error' | null;
  detail: string | null;
  destination: string | null;
  stateSince: string | null;
  failures: Array<{ keyText: string; messageId: string; status: number | null; reason: string; mzTimestamp: string; failedAt: string }>;
  lastChanges: Array<{ keyText: string; op: string; mzTimestamp: string; generation: string; committed: boolean }>;
}

interface Activation {
  name: string;
  model: string;
  destination: string;
  description: string | null;
  enabled: boolean;
  file: string;
  checkpoint: Checkpoint | null;
  calls: ActivationCall[] | null;
}

interface Snapshot {
  activations: Activation[];
  error: string | null;
  standIn: { url: string; forwarding: boolean } | null;
  checkpointError: string | null;
}

export function ActivationsView() {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const response = await fetch('/console/api/activations', { cache: 'no-store' });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        const next = (await response.json()) as Snapshot;
        if (!stopped) {
          setSnapshot(next);
          setFailure(null);
        }
      } catch (error) {
        if (!stopped) setFailure((error as Error).message);
      }
    };
    void load();
    const timer = setInterval(() => void load(), 1_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <section class="activations" aria-label="Activations" data-testid="activations">
      {failure ? <p class="error-text">Could not load the activations: {failure}</p> : null}
      {snapshot?.error ? <pre class="error-text">{snapshot.error}</pre> : null}
      {snapshot?.checkpointError ? <p class="notice">Could not read the checkpoint: {snapshot.checkpointError}</p> : null}
      {snapshot && snapshot.activations.length === 0 && !snapshot.error ? (
        <p class="empty">No activations. Declare one as activations/&lt;name&gt;.yml (docs/activation.md); npm run dev runs them.</p>
      ) : null}
      {snapshot?.standIn ? (
        <p class="muted">
          Segment calls go to the local Tracking API stand-in at <code>{snapshot.standIn.url}</code>
          {snapshot.standIn.forwarding ? ', which forwards each through the built function into the webhook source.' : '.'}
        </p>
      ) : null}
      {snapshot?.activations.map((activation) => <ActivationCard key={activation.name} activation={activation} />)}
    </section>
  );
}

function ActivationCard({ activation }: { activation: Activation }) {
  const checkpoint = activation.checkpoint;
  const running = checkpoint?.holder ? checkpoint.state ?? 'following' : null;
  const state = !activation.file ? 'not declared' : !activation.enabled ? 'disabled' : !checkpoint ? 'never run' : running ?? (checkpoint.state === 'stopped' ? 'stopped' : 'not running');
  const stateClass = running ?? (checkpoint?.state === 'stopped' ? 'stopped' : 'idle');
  return (
    <article class="card" data-activation={activation.name}>
      <div class="activation-head">
        <h3>{activation.name}</h3>
        <span class="muted">
          {activation.model} → {activation.destination}
        </span>
        <span class={`activation-state state-${stateClass}`} data-testid="activation-state">
          {state}
        </span>
        {checkpoint?.holder ? <span class="muted">worker: {checkpoint.holder}</span> : null}
      </div>
      {activation.description ? <div class="muted">{activation.description}</div> : null}
      {checkpoint?.detail && (checkpoint.state !== 'following' || !running) ? (
        <div class={`activation-detail ${checkpoint.state === 'following' ? 'muted' : 'notice'}`} data-testid="activation-detail">
          {checkpoint.state}: {checkpoint.detail}
          {checkpoint.stateSince ? <span class="muted"> (since {formatTime(Date.parse(checkpoint.stateSince))})</span> : null}
        </div>
      ) : null}
      <div class="activation-counts">
        <Count label="sent" value={checkpoint?.sent ?? 0} testId="sent" />
        <Count label="pending" value={checkpoint?.pending ?? 0} testId="pending" tone={checkpoint?.pending ? 'warn' : undefined} />
        <Count label="retrying" value={running === 'retrying' ? checkpoint?.pending ?? 0 : 0} testId="retrying" tone={running === 'retrying' ? 'warn' : undefined} />
        <Count label="failed" value={checkpoint?.failed ?? 0} testId="failed" tone={checkpoint?.failed ? 'bad' : undefined} />
        <div class="count">
          <span class="muted">last sent</span>
          <b title={checkpoint?.lastTimestamp ? `Materialize timestamp ${checkpoint.lastTimestamp}` : undefined}>{checkpoint?.lastCommittedAt ? formatTime(Date.parse(checkpoint.lastCommittedAt)) : '–'}</b>
        </div>
      </div>
      {checkpoint && checkpoint.failures.length > 0 ? (
        <>
          <h4>Refused</h4>
          <div class="table-wrap">
            <table class="grid" data-testid="activation-failures">
              <thead>
                <tr>
                  <th>time</th>
                  <th>key</th>
                  <th>status</th>
                  <th>reason</th>
                  <th>message</th>
                </tr>
              </thead>
              <tbody>
                {checkpoint.failures.map((failure) => (
                  <tr key={failure.messageId}>
                    <td class="muted">{formatTime(Date.parse(failure.failedAt))}</td>
                    <td>
                      <code>{failure.keyText}</code>
                    </td>
                    <td>{failure.status ?? '–'}</td>
                    <td class="wrap reason">{failure.reason}</td>
                    <td class="muted">
                      <code>{failure.messageId}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {activation.calls ? <Calls calls={activation.calls} /> : checkpoint && checkpoint.lastChanges.length > 0 ? <Changes changes={checkpoint.lastChanges} /> : null}
    </article>
  );
}

function Count({ label, value, testId, tone }: { label: string; value: number; testId: string; tone?: 'bad' | 'warn' | undefined }) {
  return (
    <div class={`count${tone ? ` ${tone}` : ''}`} data-testid={`count-${testId}`}>
      <span class="muted">{label}</span>
      <b>{value.toLocaleString()}</b>
    </div>
  );
}

function Calls({ calls }: { calls: ActivationCall[] }) {
  return (
    <>
      <h4>Last calls received by Segment (stand-in)</h4>
      {calls.length === 0 ? <p class="muted">None yet.</p> : null}
      {calls.length > 0 ? (
        <div class="table-wrap">
          <table class="grid" data-testid="activation-calls">
            <thead>
              <tr>
                <th>received</th>
                <th>call</th>
                <th>user</th>
                <th>op</th>
                <th>traits / properties</th>
                <th>forwarded</th>
                <th>messageId</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((call, index) => (
                <tr key={`${call.messageId}-${index}`}>
                  <td class="muted">{formatTime(call.receivedAt)}</td>
                  <td>
                    {call.type}
                    {call.event ? ` ${call.event}` : ''}
                    {call.retryCount ? <span class="notice"> (retry {call.retryCount})</span> : null}
                  </td>
                  <td>{call.userId ?? '–'}</td>
                  <td>{call.op ?? '–'}</td>
                  <td class="wrap">
                    <code>{JSON.stringify(call.payload)}</code>
                  </td>
                  <td>{forwardLabel(call.forwarded)}</td>
                  <td class="muted">
                    <code>{call.messageId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function forwardLabel(outcome: ForwardOutcome | null) {
  if (!outcome) return <span class="muted">–</span>;
  if (outcome.ok === 'duplicate') return <span class="muted">duplicate</span>;
  if (outcome.ok) return <span class="ok">{Math.round(outcome.ms)} ms</span>;
  return <span class="reason">{outcome.error}</span>;
}

function Changes({ changes }: { changes: Checkpoint['lastChanges'] }) {
  return (
    <>
      <h4>Last changes (checkpoint)</h4>
      <div class="table-wrap">
        <table class="grid" data-testid="activation-changes">
          <thead>
            <tr>
              <th>key</th>
              <th>op</th>
              <th>Materialize timestamp</th>
              <th>batch</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((change) => (
              <tr key={`${change.generation}-${change.keyText}`}>
                <td>
                  <code>{change.keyText}</code>
                </td>
                <td>{change.op}</td>
                <td class="muted">{change.mzTimestamp}</td>
                <td>{change.committed ? change.generation : <span class="notice">{change.generation} (pending)</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
