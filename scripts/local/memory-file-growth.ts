/**
 * How PGlite's in-memory file system (Emscripten's MEMFS) grows a file: every file is one
 * contiguous Uint8Array, and a write past its end allocates a larger one and copies the whole file
 * into it. Emscripten grows a file past 1 MiB by 12.5% at a time, so a table written from empty to
 * N bytes is copied about 8 × N bytes over its life — and each copy is fresh memory the kernel has to
 * fault in. Measured on webhook ingest of 100-event batches: 11% of the server's time in
 * `expandFileStorage` and a third of its CPU time in the kernel.
 *
 * Here a file doubles up to 64 MiB (WAL segments are 16 MiB; most tables of a development
 * database stay below) and grows by half past that: over a file's life about 1–2 × N bytes are
 * copied, for at most 100% (50% past 64 MiB) unused capacity. PostgreSQL splits relations into
 * 1 GiB files, so no file gets larger than that. Only in-memory servers (`--memory`, tests,
 * benchmarks) use MEMFS; a data directory is real files.
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

const MIB = 1024 * 1024;
const DOUBLING_BELOW = 64 * MIB;
const GROWTH = 1.5;

/** The capacity a file of `current` bytes of capacity grows to when it must hold `needed`. */
export function grownCapacity(current: number, needed: number): number {
  if (current >= needed) return current;
  const grown = current < DOUBLING_BELOW ? current * 2 : current * GROWTH;
  return Math.max(needed, Math.floor(grown), 256);
}

/** Makes `db`'s in-memory files grow geometrically (see above); a no-op if PGlite changes shape. */
export function useGeometricFileGrowth(db: PGlite): boolean {
  const memfs = (db as unknown as { Module?: { MEMFS?: Memfs } }).Module?.MEMFS;
  if (!memfs || typeof memfs.expandFileStorage !== 'function' || typeof memfs.getFileDataAsTypedArray !== 'function') return false;
  memfs.expandFileStorage = (node, newCapacity) => {
    const current = node.contents?.length ?? 0;
    if (current >= newCapacity) return;
    const previous = memfs.getFileDataAsTypedArray(node);
    node.contents = new Uint8Array(grownCapacity(current, newCapacity));
    node.contents.set(previous);
  };
  return true;
}
