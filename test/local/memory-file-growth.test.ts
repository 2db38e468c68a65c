/**
 * In-memory files grow geometrically (scripts/local/memory-file-growth.ts): the capacity rule, and a
 * real in-memory PGlite with the rule installed storing and reading back more than its first files held.
 */
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';
import { grownCapacity, useGeometricFileGrowth } from '../../scripts/local/memory-file-growth.ts';

const MIB = 1024 * 1024;

it('doubles up to 64 MiB, then grows by half, never below what a write needs', () => {
  expect(grownCapacity(0, 100)).toBe(256);
  expect(grownCapacity(4 * MIB, 4 * MIB + 8192)).toBe(8 * MIB);
  expect(grownCapacity(64 * MIB, 64 * MIB + 1)).toBe(96 * MIB);
  expect(grownCapacity(MIB, 10 * MIB)).toBe(10 * MIB);
  expect(grownCapacity(2 * MIB, MIB)).toBe(2 * MIB);
});

it('copies a fraction of what Emscripten\'s 12.5% steps copy while a file grows to 1 GiB', () => {
  // Emscripten's rule (MEMFS.expandFileStorage): doubling below 1 MiB, then 12.5% at a time.
  const emscripten = (current: number, needed: number) => (current >= needed ? current : Math.max(needed, Math.floor(current * (current < MIB ? 2 : 1.125)), 256));
  const bytesCopied = (rule: (current: number, needed: number) => number) => {
    let capacity = 0;
    let copied = 0;
    for (let size = 8192; size <= 1024 * MIB; size += 8192) {
      const grown = rule(capacity, size);
      if (grown !== capacity) copied += size - 8192; // the file so far moves to the new array
      capacity = grown;
    }
    return copied;
  };
  const ours = bytesCopied(grownCapacity);
  expect(ours).toBeLessThan(2.5 * 1024 * MIB);
  expect(bytesCopied(emscripten) / ours).toBeGreaterThan(3);
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
