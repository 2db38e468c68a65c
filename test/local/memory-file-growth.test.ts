/**
 * In-memory files grow geometrically, large ones in place (scripts/local/engine/memory-file-growth.ts): the
 * capacity rules, a file grown page by page past the in-place threshold, and a real in-memory PGlite
 * with the rule installed storing and reading back more than its first files held.
 */
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';
import { grownCapacity, grownInPlace, IN_PLACE_FROM, useGeometricFileGrowth } from '../../scripts/local/engine/memory-file-growth.ts';

const MIB = 1024 * 1024;

it('doubles a small file, never below what a write needs; grows a large one in steps of an eighth, at least 8 MiB, within its reserve', () => {
  expect(grownCapacity(0, 100)).toBe(256);
  expect(grownCapacity(4 * MIB, 4 * MIB + 8192)).toBe(8 * MIB);
  expect(grownCapacity(MIB, 10 * MIB)).toBe(10 * MIB);
  expect(grownCapacity(2 * MIB, MIB)).toBe(2 * MIB);
  expect(grownInPlace(32 * MIB, 32 * MIB + 1, 1024 * MIB)).toBe(40 * MIB);
  expect(grownInPlace(256 * MIB, 256 * MIB + 1, 1024 * MIB)).toBe(288 * MIB);
  expect(grownInPlace(1000 * MIB, 1000 * MIB + 1, 1024 * MIB)).toBe(1024 * MIB);
});

/** A stand-in for MEMFS with the rule installed, and a file written 8 KiB at a time as PostgreSQL extends a relation. */
function growingFile() {
  const memfs = {
    expandFileStorage: (_node: { contents: Uint8Array | null }, _capacity: number) => {
      throw new Error('the rule was not installed');
    },
    getFileDataAsTypedArray: (node: { contents: Uint8Array | null; usedBytes: number }) => node.contents?.subarray(0, node.usedBytes) ?? new Uint8Array(0),
  };
  expect(useGeometricFileGrowth({ Module: { MEMFS: memfs } } as unknown as PGlite)).toBe(true);
  const node = { contents: null as Uint8Array | null, usedBytes: 0 };
  const page = new Uint8Array(8192);
  return {
    node,
    /** Appends a page stamped with its number (as MEMFS's write does after expandFileStorage). */
    append() {
      memfs.expandFileStorage(node, node.usedBytes + page.length);
      page.fill(0);
      new DataView(page.buffer).setUint32(0, node.usedBytes / page.length);
      node.contents!.set(page, node.usedBytes);
      node.usedBytes += page.length;
    },
  };
}

it('moves a file past 32 MiB once, then grows it in place: no copy, every page kept, little spare memory', () => {
  const file = growingFile();
  const arrays = new Set<ArrayBufferLike>();
  while (file.node.usedBytes < 200 * MIB) {
    file.append();
    if (file.node.usedBytes >= IN_PLACE_FROM) arrays.add(file.node.contents!.buffer);
  }
  // One array from 32 MiB to 200 MiB: the file was never copied again.
  expect(arrays.size).toBe(1);
  expect(file.node.contents!.length).toBeLessThanOrEqual(file.node.usedBytes * 1.125 + 8 * MIB);
  const view = new DataView(file.node.contents!.buffer);
  for (let pageNumber = 0; pageNumber < file.node.usedBytes / 8192; pageNumber += 997) expect(view.getUint32(pageNumber * 8192)).toBe(pageNumber);
});

it('is installed on an in-memory PGlite, which keeps every row', async () => {
  const db = new PGlite();
  try {
    expect(useGeometricFileGrowth(db)).toBe(false); // not ready yet: no module
    await db.waitReady;
    expect(useGeometricFileGrowth(db)).toBe(true);
    // The rule is on the path PostgreSQL's writes take: count its calls.
    const memfs = (db as unknown as { Module: { MEMFS: { expandFileStorage: (node: unknown, capacity: number) => void } } }).Module.MEMFS;
    const installed = memfs.expandFileStorage;
    let growths = 0;
    memfs.expandFileStorage = (node, capacity) => {
      growths++;
      installed(node, capacity);
    };
    await db.exec(`CREATE TABLE t (id int, body text); INSERT INTO t SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 20000) g`);
    const { rows } = await db.query<{ n: number; total: string }>(`SELECT count(*)::int AS n, sum(length(body))::text AS total FROM t`);
    expect(rows[0]).toEqual({ n: 20000, total: String(20000 * 960) });
    expect(growths).toBeGreaterThan(0);
  } finally {
    await db.close();
  }
});
