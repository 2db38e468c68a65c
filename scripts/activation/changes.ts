/**
 * Changes: what an activation delivers. A change is one key's new row (`upsert`) or its leaving
 * (`delete`) at one Materialize timestamp. Its identity is (activation, key, timestamp), from which
 * every message id is derived, so a change re-sent after a crash carries the same ids and a
 * receiver that deduplicates by id (Segment does, by messageId) sees it once.
 */
import { createHash } from 'node:crypto';

export type Row = Readonly<Record<string, unknown>>;

export interface Change {
  readonly op: 'upsert' | 'delete';
  /** The key columns' values, in the declaration's order, as JSON: the key's identity. */
  readonly keyText: string;
  readonly key: Row;
  /** upsert: the new row; delete: the row as last delivered (what leaves). */
  readonly row: Row;
  /** upsert: hash of the row (to skip re-sending an unchanged row); delete: ''. */
  readonly rowHash: string;
  /** Materialize timestamp (milliseconds since the epoch, as text: mz_timestamp is numeric). */
  readonly mzTimestamp: string;
}

/** What the receiver last got for a key. */
export interface DeliveredRow {
  readonly hash: string;
  readonly row: Row;
}

export type DeliveredState = Map<string, DeliveredRow>;

/** JSON with object keys in insertion order (rows keep the relation's column order). */
export function rowJson(row: Row): string {
  return JSON.stringify(row);
}

export function rowHash(row: Row): string {
  return createHash('sha256').update(rowJson(row)).digest('base64url').slice(0, 22);
}

export function keyTextOf(keyColumns: readonly string[], row: Row): string {
  return JSON.stringify(keyColumns.map((column) => row[column] ?? null));
}

export function keyOf(keyColumns: readonly string[], row: Row): Row {
  return Object.fromEntries(keyColumns.map((column) => [column, row[column] ?? null]));
}

/**
 * The id of one message of a change: a hash of (activation, key, timestamp, slot), where `slot`
 * tells apart the messages one change sends (a retraction may send an identify and a track).
 * Deterministic: the same change always gets the same id, whichever process sends it.
 */
export function messageId(activation: string, keyText: string, mzTimestamp: string, slot = 'main'): string {
  const hash = createHash('sha256').update(`${activation}\0${keyText}\0${mzTimestamp}\0${slot}`).digest('hex');
  // UUID-shaped, as Segment's own libraries make them (some destinations expect that shape).
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
}

/**
 * One timestamp's rows from `SUBSCRIBE … ENVELOPE UPSERT`, turned into changes against what was
 * delivered: upserts of an unchanged row and deletes of a key never delivered send nothing (a
 * resubscription's snapshot, or a blue/green swap to an identical version, re-sends nothing).
 */
export function changesAgainst(
  delivered: DeliveredState,
  keyColumns: readonly string[],
  mzTimestamp: string,
  updates: readonly { readonly state: 'upsert' | 'delete'; readonly row: Row }[],
): Change[] {
  const changes: Change[] = [];
  // The last update of a key at one timestamp wins (ENVELOPE UPSERT gives one per key and timestamp anyway).
  const latest = new Map<string, { state: 'upsert' | 'delete'; row: Row }>();
  for (const update of updates) latest.set(keyTextOf(keyColumns, update.row), update);
  for (const [keyText, update] of latest) {
    const before = delivered.get(keyText);
    if (update.state === 'upsert') {
      const hash = rowHash(update.row);
      if (before?.hash === hash) continue;
      changes.push({ op: 'upsert', keyText, key: keyOf(keyColumns, update.row), row: update.row, rowHash: hash, mzTimestamp });
    } else if (before) {
      changes.push({ op: 'delete', keyText, key: keyOf(keyColumns, update.row), row: before.row, rowHash: '', mzTimestamp });
    }
  }
  return changes;
}

/**
 * A full snapshot (every row at one timestamp) against what was delivered: the changes above,
 * plus a delete for every delivered key the snapshot no longer has. How a restarted worker catches
 * up with what changed while it was down.
 */
export function snapshotChanges(delivered: DeliveredState, keyColumns: readonly string[], mzTimestamp: string, rows: readonly Row[]): Change[] {
  const changes = changesAgainst(
    delivered,
    keyColumns,
    mzTimestamp,
    rows.map((row) => ({ state: 'upsert' as const, row })),
  );
  const present = new Set(rows.map((row) => keyTextOf(keyColumns, row)));
  for (const [keyText, before] of delivered) {
    if (present.has(keyText)) continue;
    changes.push({ op: 'delete', keyText, key: keyOf(keyColumns, before.row), row: before.row, rowHash: '', mzTimestamp });
  }
  return changes;
}

/** Applies delivered changes to the state. */
export function applyChanges(delivered: DeliveredState, changes: readonly Change[]): void {
  for (const change of changes) {
    if (change.op === 'upsert') delivered.set(change.keyText, { hash: change.rowHash, row: change.row });
    else delivered.delete(change.keyText);
  }
}
