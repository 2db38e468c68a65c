/**
 * Ingest: per webhook source, requests/s and events/s over the last five minutes (uPlot), counts
 * per status, and the last 100 requests with the reason of each rejection in words.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TargetSummary } from './api.ts';
import { formatBytes, formatTime } from './format.ts';
import { useStore } from './store.ts';

const STATUSES = ['200', '400', '401', '404', '413', '429'];

export function IngestView() {
  const targets = useStore((state) => state.targets);
  const requests = useStore((state) => state.requests);
  return (
    <section class="ingest" aria-label="Ingest">
      {targets.length === 0 ? <p class="empty">No webhook requests yet. Send some: npm run events:send</p> : null}
      <div class="targets">
        {targets.map((target) => (
          <TargetCard key={target.target} target={target} />
        ))}
      </div>
      <h3>Last requests</h3>
      <div class="table-wrap">
        <table class="grid" data-testid="request-log">
          <thead>
            <tr>
              <th>time</th>
              <th>source</th>
              <th>status</th>
              <th>size</th>
              <th>events</th>
              <th>types</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {requests.map((request) => (
              <tr key={request.id} class={request.status >= 400 ? 'rejected' : ''} data-status={request.status}>
                <td class="muted">{formatTime(request.time)}</td>
                <td>{request.target}</td>
                <td>
                  <span class={`badge http-${Math.floor(request.status / 100)}xx`}>{request.status}</span>
                </td>
                <td>{formatBytes(request.bytes)}</td>
                <td>{request.events}</td>
                <td class="muted">{request.eventTypes.join(', ')}</td>
                <td class="reason">{request.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TargetCard({ target }: { target: TargetSummary }) {
  const total = Object.values(target.statuses).reduce((sum, count) => sum + count, 0);
  return (
    <article class="card" data-target={target.target}>
      <h3>{target.target}</h3>
      <div class="statuses">
        {STATUSES.map((status) => (
          <span key={status} class={`badge http-${status[0]}xx${(target.statuses[status] ?? 0) === 0 ? ' zero' : ''}`} title={`${status} responses`}>
            {status}: {target.statuses[status] ?? 0}
          </span>
        ))}
        <span class="muted">
          {total} requests · {rate(target.requests)} req/s · {rate(target.events)} events/s (last 10 s)
        </span>
      </div>
      <RateChart target={target} />
    </article>
  );
}

function rate(series: number[]): string {
  const recent = series.slice(-11, -1);
  const value = recent.reduce((sum, count) => sum + count, 0) / Math.max(1, recent.length);
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

/** uPlot draws into a div it owns; data is replaced in place when a new summary arrives. */
function RateChart({ target }: { target: TargetSummary }) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [target.requests.map((_, index) => target.start + index), target.requests, target.events];
  useEffect(() => {
    const element = container.current!;
    const styles = getComputedStyle(document.documentElement);
    const color = (name: string) => styles.getPropertyValue(name).trim();
    chart.current = new uPlot(
      {
        width: Math.max(300, element.clientWidth),
        height: 140,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        axes: [
          { stroke: color('--muted'), grid: { stroke: color('--grid') } },
          { stroke: color('--muted'), grid: { stroke: color('--grid') }, size: 40 },
        ],
        series: [{}, { label: 'requests/s', stroke: color('--accent'), width: 1.5 }, { label: 'events/s', stroke: color('--ok'), width: 1.5 }],
      },
      data(),
      element,
    );
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(300, element.clientWidth), height: 140 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setData(data());
  }, [target]);
  return <div class="chart" ref={container} aria-label={`Requests and events per second for ${target.target}`} />;
}
