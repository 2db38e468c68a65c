/**
 * A relation's rows kept live through the server's SUBSCRIBE over the WebSocket API: the snapshot,
 * then each change applied as it arrives (rows keyed by their values, with multiplicity). The
 * first 100 in the chosen order are subscribed (`ORDER BY … LIMIT 100`), so a large source costs
 * the page no more than a small mart.
 */
import { useEffect, useState } from 'preact/hooks';
import { SqlSocket, type SqlColumn, type SqlError } from './api.ts';

export const LIVE_ROW_LIMIT = 100;

export interface LiveRow {
  key: string;
  values: unknown[];
  count: number;
  /** When it arrived (ms since the epoch); the snapshot's rows get 0. */
  changedAt: number;
}

export interface LiveRows {
  columns: SqlColumn[];
  rows: LiveRow[];
  /** Time of the last change after the snapshot (ms since the epoch), or null. */
  lastChange: number | null;
  error: SqlError | null;
  ready: boolean;
  /** Changes received since subscribing (snapshot excluded). */
  changes: number;
}

const EMPTY: LiveRows = { columns: [], rows: [], lastChange: null, error: null, ready: false, changes: 0 };

/** Subscribes to `query` (a SELECT) while mounted or until it changes. */
export function useLiveRows(query: string | null): LiveRows {
  const [live, setLive] = useState<LiveRows>(EMPTY);
  useEffect(() => {
    setLive(EMPTY);
    if (!query) return;
    const rows = new Map<string, LiveRow>();
    let columns: SqlColumn[] = [];
    let snapshotTimestamp: string | null = null;
    let lastChange: number | null = null;
    let changes = 0;
    let scheduled = false;
    // Rows arrive one message each; the table is redrawn once per animation frame at most.
    const publish = () => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        setLive({ columns, rows: [...rows.values()], lastChange, error: null, ready: true, changes });
      });
    };
    // PROGRESS: the snapshot is what arrives at the first timestamp seen (progress or data), even
    // when it is empty; anything at a later timestamp is a change.
    const socket = new SqlSocket(`SUBSCRIBE (${query}) WITH (PROGRESS)`, {
      onColumns: (received) => {
        columns = received.slice(3); // mz_timestamp, mz_progressed, mz_diff
        publish();
      },
      onRow: (row) => {
        const timestamp = String(row[0]);
        snapshotTimestamp ??= timestamp;
        if (row[1] === true) return publish();
        const diff = Number(row[2]);
        const values = row.slice(3);
        const key = JSON.stringify(values);
        const isSnapshot = timestamp === snapshotTimestamp;
        if (!isSnapshot) {
          lastChange = Date.now();
          changes++;
        }
        const existing = rows.get(key);
        const count = (existing?.count ?? 0) + diff;
        if (count <= 0) rows.delete(key);
        else rows.set(key, { key, values, count, changedAt: isSnapshot ? 0 : Date.now() });
        publish();
      },
      onError: (error) => setLive({ ...EMPTY, error, ready: true }),
      onClosed: () => setLive((current) => ({ ...current, error: current.error ?? { message: 'the server closed the subscription (stopped, or the object was dropped)', code: '08006' } })),
    });
    return () => socket.close();
  }, [query]);
  return live;
}

/** Compares cells as the ORDER BY would: numbers as numbers, NULLs last, the rest as text. */
export function compareCells(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const left = typeof a === 'object' ? JSON.stringify(a) : String(a);
  const right = typeof b === 'object' ? JSON.stringify(b) : String(b);
  const numeric = Number(left) - Number(right);
  if (!Number.isNaN(numeric) && left.trim() !== '' && right.trim() !== '') return numeric;
  return left < right ? -1 : left > right ? 1 : 0;
}
