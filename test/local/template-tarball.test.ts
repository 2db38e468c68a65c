/**
 * The template's tarball without the write-ahead log a start does not read (engine/template-tarball.ts):
 * archives built here in memory, read back with the system's tar to check they are archives any
 * tool reads, not only our reader.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDatabase, templatePath } from '../../scripts/local/engine/engine.ts';
import { readTar, withoutUnreadLog, writeTar, type TarEntry } from '../../scripts/local/engine/template-tarball.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'template-tarball-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A header as a ustar writer leaves it: name, mode, the magic; size and checksum are writeTar's. */
function header(name: string): Uint8Array {
  const bytes = new Uint8Array(512);
  bytes.set(Buffer.from(name, 'latin1'), 0);
  bytes.set(Buffer.from('0000600\0', 'latin1'), 100);
  bytes.set(Buffer.from('0', 'latin1'), 156);
  bytes.set(Buffer.from('ustar\u000000', 'latin1'), 257);
  return bytes;
}

function entry(name: string, data: Uint8Array): TarEntry {
  return { name, header: header(name), data };
}

/** A WAL segment of `pages` 8 kB pages, the first `written` of them holding bytes. */
function segment(pages: number, written: number): Uint8Array {
  const bytes = new Uint8Array(pages * 8192);
  for (let page = 0; page < written; page++) bytes[page * 8192 + 100] = page + 1;
  return bytes;
}

/** The names and sizes the system's tar lists for an archive. */
function listedBySystemTar(tar: Uint8Array): string[] {
  const file = path.join(scratch, `archive-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(file, tar);
  return execFileSync('tar', ['-tvf', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim()
    .split('\n')
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      return `${fields[fields.length - 1]} ${fields[2]}`;
    });
}

it('an archive written and read back keeps every entry, and the system tar reads it', () => {
  const entries = [entry('/PG_VERSION', Buffer.from('17\n')), entry('/base/1/1259', new Uint8Array(1000).fill(7)), entry('/empty', new Uint8Array(0))];
  const tar = writeTar(entries);
  expect(readTar(tar).map((read) => [read.name, Buffer.from(read.data).toString('hex')])).toEqual(entries.map((written) => [written.name, Buffer.from(written.data).toString('hex')]));
  expect(listedBySystemTar(tar)).toEqual(['/PG_VERSION 3', '/base/1/1259 1000', '/empty 0']);
  // Extracted by the system's tar, a file holds exactly the bytes written.
  const file = path.join(scratch, 'extract.tar');
  writeFileSync(file, tar);
  const into = mkdtempSync(path.join(scratch, 'extracted-'));
  execFileSync('tar', ['-xf', file, '-C', into], { stdio: 'ignore' });
  expect(readFileSync(path.join(into, 'base/1/1259'))).toEqual(Buffer.alloc(1000, 7));
}, 20_000);

it('keeps the checkpoint segment up to its last written page and leaves the other segments out', () => {
  const tar = writeTar([
    entry('/PG_VERSION', Buffer.from('17\n')),
    entry('/pg_wal/000000010000000000000001', segment(4, 4)),
    entry('/pg_wal/000000010000000000000002', segment(4, 2)),
    entry('/pg_wal/000000010000000000000003', segment(4, 0)),
    entry('/pg_wal/archive_status', new Uint8Array(0)),
    entry('/global/pg_control', new Uint8Array(8192).fill(1)),
  ]);
  const cut = withoutUnreadLog(tar, '000000010000000000000002');
  expect(listedBySystemTar(cut)).toEqual(['/PG_VERSION 3', '/pg_wal/000000010000000000000002 16384', '/pg_wal/archive_status 0', '/global/pg_control 8192']);
  const kept = readTar(cut).find((read) => read.name.endsWith('0002'))!;
  // The written pages are the same bytes; nothing past them.
  expect(Buffer.from(kept.data).equals(Buffer.from(segment(4, 2).subarray(0, 16384)))).toBe(true);
});

it('a page written only in part is kept whole, and a checkpoint segment missing from the dump is an error', () => {
  const partial = new Uint8Array(4 * 8192);
  partial[8192 + 10] = 9;
  const cut = withoutUnreadLog(writeTar([entry('/pg_wal/000000010000000000000002', partial)]), '000000010000000000000002');
  expect(readTar(cut)[0]!.data.length).toBe(16384);
  expect(() => withoutUnreadLog(writeTar([entry('/pg_wal/000000010000000000000001', partial)]), '000000010000000000000002')).toThrow(/no WAL segment 000000010000000000000002/);
  expect(() => withoutUnreadLog(writeTar([]), 'pg_wal/../x')).toThrow(/not a WAL segment file name/);
});

it('a damaged archive says so and how to rebuild the template', () => {
  const tar = writeTar([entry('/base/1/1259', new Uint8Array(1000))]);
  expect(() => readTar(tar.subarray(0, 900))).toThrow(/damaged at byte 0.*node_modules\/\.cache\/segment-materialize/);
});

it('the bootstrapped template starts from a cut log: one segment, far smaller than 16 MB, and no unused databases', async () => {
  // Opening a database builds the template when this machine has none yet.
  const db = await openDatabase({ sharedBuffers: '16MB' });
  try {
    const databases = await db.query<{ datname: string }>(`SELECT datname FROM pg_catalog.pg_database ORDER BY 1`);
    expect(databases.rows.map((row) => row.datname)).toEqual(['materialize', 'template1']);
  } finally {
    await db.close();
  }
  const segments = readTar(new Uint8Array(readFileSync(templatePath()))).filter((read) => /pg_wal\/[0-9A-F]{24}$/.test(read.name));
  expect(segments).toHaveLength(1);
  expect(segments[0]!.data.length).toBeLessThan(1024 * 1024);
}, 60_000);
