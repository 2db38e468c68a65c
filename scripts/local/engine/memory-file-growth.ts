/**
 * How PGlite's in-memory file system (Emscripten's MEMFS) grows a file: every file is one
 * contiguous Uint8Array, and a write past its end allocates a larger one and copies the whole file
 * into it. Emscripten grows a file past 1 MiB by 12.5% at a time, so a table written from empty to
 * N bytes is copied about 8 × N bytes over its life — and each copy is fresh memory the kernel has to
 * fault in. Measured on webhook ingest of 100-event batches: 11% of the server's time in
 * `expandFileStorage` and a third of its CPU time in the kernel.
 *
 * Here a file doubles while small. Past IN_PLACE_FROM (32 MiB: above a WAL segment's 16 MiB, so
 * only tables and indexes that hold real data) it moves once into a resizable ArrayBuffer that
 * reserves address space up to the largest file PostgreSQL writes (relations are split into
 * 1 GiB segments), and from then on grows in place: no copy, only new pages committed. Before,
 * such a file grew by half with a copy each time: a table between 230 and 350 MiB spent 100–160 ms
 * of a 0.3 s run of 30,000 inserts copying itself, and inserts ran at 65k instead of 100k rows/s.
 * MEMFS reads a file only through its Uint8Array's `length`, `subarray` and `set`, which a
 * length-tracking view over a resizable buffer answers as a plain one does.
 *
 * Only in-memory servers (`--memory`, tests, benchmarks) use MEMFS; a data directory is real files.
 */
import type { PGlite } from '@electric-sql/pglite';

interface MemoryFileNode {
  contents: Uint8Array | null;
  usedBytes: number;
}

interface Memfs {
  expandFileStorage(node: MemoryFileNode, newCapacity: number): void;
  getFileDataAsTypedArray(node: MemoryFileNode): Uint8Array;
}

/** A resizable ArrayBuffer (ES2024; Node 20 has it, this project's TypeScript lib predates it). */
type ResizableArrayBuffer = ArrayBuffer & { readonly resizable: boolean; readonly maxByteLength: number; resize(length: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

const MIB = 1024 * 1024;
/** Files that reach this size grow in place from then on. */
export const IN_PLACE_FROM = 32 * MIB;
/** The address space reserved for a file growing in place: PostgreSQL's largest segment file. */
const IN_PLACE_RESERVE = 1024 * MIB;

/** The capacity a file of `current` bytes of capacity grows to when it must hold `needed` (a copy each time: doubling). */
export function grownCapacity(current: number, needed: number): number {
  if (current >= needed) return current;
  return Math.max(needed, current * 2, 256);
}

/**
 * The capacity of a file growing in place: an eighth more, at least 8 MiB (each step commits
 * pages, it copies nothing, so steps can be small and spare little memory), never past `limit`.
 */
export function grownInPlace(current: number, needed: number, limit: number): number {
  if (current >= needed) return current;
  return Math.min(limit, Math.max(needed, current + Math.max(Math.floor(current / 8), 8 * MIB)));
}

/** The resizable buffer behind `contents`, when the view tracks all of it (one made here). */
function growableBuffer(contents: Uint8Array | null): ResizableArrayBuffer | null {
  if (!contents || contents.byteOffset !== 0) return null;
  const buffer = contents.buffer as ResizableArrayBuffer;
  return buffer.resizable === true && contents.byteLength === buffer.byteLength ? buffer : null;
}

/** Makes `db`'s in-memory files grow as described above; a no-op if PGlite changes shape. */
export function useGeometricFileGrowth(db: PGlite): boolean {
  const memfs = (db as unknown as { Module?: { MEMFS?: Memfs } }).Module?.MEMFS;
  if (!memfs || typeof memfs.expandFileStorage !== 'function' || typeof memfs.getFileDataAsTypedArray !== 'function') return false;
  memfs.expandFileStorage = (node, newCapacity) => {
    const current = node.contents?.length ?? 0;
    if (current >= newCapacity) return;
    const buffer = growableBuffer(node.contents);
    if (buffer && buffer.maxByteLength >= newCapacity) {
      buffer.resize(grownInPlace(current, newCapacity, buffer.maxByteLength));
      return;
    }
    const previous = memfs.getFileDataAsTypedArray(node);
    const doubled = grownCapacity(current, newCapacity);
    if (doubled >= IN_PLACE_FROM) {
      // Moved once (or again, past the reserve: PostgreSQL never writes such a file).
      const reserve = Math.max(IN_PLACE_RESERVE, newCapacity * 2);
      node.contents = new Uint8Array(new ResizableArrayBuffer(grownInPlace(current, newCapacity, reserve), { maxByteLength: reserve }));
    } else {
      node.contents = new Uint8Array(doubled);
    }
    node.contents.set(previous);
  };
  return true;
}
