/**
 * psql (Debian's postgresql-client) against the local server, as Materialize's docs use it: the
 * version it is told, the meta-commands (\l, \d, \dt, \dv, \dm, \di, \dn, \d name) showing what
 * Materialize shows, COPY (SUBSCRIBE …) TO STDOUT streaming, a huge regex pattern refused without
 * losing the session, and DROP SCHEMA public CASCADE leaving the server's own objects alone.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { temporaryDirectory } from '../helpers/temp-project.ts';
import { missing, psql, reportSkip } from './clients.ts';

const skip = reportSkip('psql', missing.psql());
let t: TestServer;
let url = '';

beforeAll(async () => {
  if (skip) return;
  t = await startTestServer();
  url = t.server.pgUrl;
  await t.sql.query(`CREATE TABLE items (id int, name text)`);
  await t.sql.query(`INSERT INTO items VALUES (1, 'one')`);
  await t.sql.query(`CREATE MATERIALIZED VIEW item_counts AS SELECT name, count(*) AS n FROM items GROUP BY name`);
  await t.sql.query(`CREATE VIEW item_names AS SELECT name FROM items`);
  await t.sql.query(`CREATE INDEX items_by_id ON items (id)`);
  await t.sql.query(`CREATE DEFAULT INDEX ON item_counts`);
  await t.sql.query(`CREATE SOURCE hooks FROM WEBHOOK BODY FORMAT JSON`);
});

afterAll(async () => {
  await t?.close();
});

/** One meta-command's rows, unaligned ("|"-separated), without headers. */
async function rows(command: string): Promise<string[]> {
  const result = await psql(url, ['-A', '-t', '-c', command]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.split('\n').filter((line) => line !== '');
}

describe.skipIf(skip)('psql', () => {
  it('is told the PostgreSQL version Materialize claims, 9.5.0', async () => {
    const result = await psql(url, ['-A', '-t', '-c', 'SHOW server_version', '-c', '\\echo :SERVER_VERSION_NAME :SERVER_VERSION_NUM']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['9.5.0', '9.5.0 90500']);
  });

  it('\\l lists the one database', async () => {
    const databases = await rows('\\l');
    expect(databases.map((line) => line.split('|').slice(0, 3))).toEqual([['materialize', 'materialize', 'UTF8']]);
  });

  it('\\d lists the user\'s relations with their kinds, not the server\'s catalog', async () => {
    expect(await rows('\\d')).toEqual([
      'public|hooks|table|materialize',
      'public|item_counts|materialized view|materialize',
      'public|item_names|view|materialize',
      'public|items|table|materialize',
    ]);
  });

  it('\\dt, \\dv, \\dm and \\di each list their kind', async () => {
    expect(await rows('\\dt')).toEqual(['public|hooks|table|materialize', 'public|items|table|materialize']);
    expect(await rows('\\dv')).toEqual(['public|item_names|view|materialize']);
    expect(await rows('\\dm')).toEqual(['public|item_counts|materialized view|materialize']);
    expect(await rows('\\di')).toEqual([
      'public|item_counts_primary_idx|index|materialize|item_counts',
      'public|items_by_id|index|materialize|items',
    ]);
  });

  it('\\dn lists Materialize\'s schemas and the user\'s, not the server\'s own', async () => {
    const schemas = (await rows('\\dn')).map((line) => line.split('|')[0]);
    expect(schemas).toEqual(['mz_catalog', 'mz_internal', 'public']);
  });

  it('\\d name describes a materialized view, with its index', async () => {
    const result = await psql(url, ['-c', '\\d item_counts']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Materialized view "public.item_counts"');
    expect(result.stdout).toMatch(/ name +\| text +\|/);
    expect(result.stdout).toMatch(/ n +\| bigint +\|/);
    expect(result.stdout).toContain('"item_counts_primary_idx" arrangement (name, n)');
    const table = await psql(url, ['-c', '\\d items']);
    expect(table.stdout).toContain('Table "public.items"');
    expect(table.stdout).toContain('"items_by_id" arrangement (id)');
  });

  it('COPY (SUBSCRIBE …) TO STDOUT streams the snapshot, then each change, until psql is stopped', async () => {
    // psql writes COPY's rows through stdio, which holds them back when stdout is a pipe (not a
    // terminal, as in the docs' examples): stdbuf makes it write each row as it comes.
    const child = spawn('stdbuf', ['-o0', 'psql', url, '-X', '-c', 'COPY (SUBSCRIBE items) TO STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const lines = (): string[][] => output.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
    const waitFor = async (count: number): Promise<void> => {
      const deadline = Date.now() + 8_000;
      while (lines().length < count) {
        if (Date.now() > deadline) throw new Error(`psql printed ${lines().length} of ${count} lines: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(1);
      await t.sql.query(`INSERT INTO items VALUES (2, 'two')`);
      await waitFor(2);
      const [snapshot, change] = lines();
      expect(snapshot!.slice(1)).toEqual(['1', '1', 'one']);
      expect(change!.slice(1)).toEqual(['1', '2', 'two']);
      expect(Number(change![0])).toBeGreaterThan(Number(snapshot![0]));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a regex pattern too large to compile is refused, and the session goes on', async () => {
    const dir = temporaryDirectory('psql-regex-');
    const file = path.join(dir, 'huge-pattern.sql');
    // Materialize refuses patterns over 1 MiB; this one (200 kB) already overflowed PGlite's stack.
    await writeFile(file, `SELECT 'abc' ~ '${'a'.repeat(200_000)}';\nSELECT 'still here' AS answer;\n`);
    const result = await psql(url, ['-A', '-t', '-f', file], { timeoutMs: 15_000, goOnAfterErrors: true });
    expect(result.stderr).toMatch(/ERROR: {2}regex pattern too large \(200000 bytes, max 32768 bytes\)/);
    expect(result.stdout.trim()).toBe('still here');
  });

  // Last: it drops what the cases above use.
  it('DROP SCHEMA public CASCADE drops the user\'s objects only; the server\'s own schemas cannot be dropped', async () => {
    const dropped = await psql(url, ['-A', '-t', '-c', 'DROP SCHEMA public CASCADE', '-c', 'CREATE SCHEMA public']);
    expect(dropped.code).toBe(0);
    const after = await psql(url, [
      '-A',
      '-t',
      '-c',
      `SELECT encode(hmac('body', 'secret', 'sha256'), 'hex') = encode(digest('x', 'sha1'), 'hex') OR true`,
      '-c',
      `SELECT ('a=>1'::hstore) -> 'a'`,
      '-c',
      `SELECT count(*) > 0 FROM mz_catalog.mz_schemas`,
      '-c',
      `CREATE SOURCE hooks FROM WEBHOOK BODY FORMAT JSON INCLUDE HEADERS`,
      '-c',
      `SELECT name FROM mz_catalog.mz_sources`,
    ]);
    expect(after.stderr).toBe('');
    expect(after.stdout.trim().split('\n')).toEqual(['t', '1', 't', 'CREATE SOURCE', 'hooks']);
    for (const statement of ['DROP SCHEMA mz_catalog CASCADE', 'DROP SCHEMA IF EXISTS mz_local CASCADE', 'ALTER SCHEMA mz_internal RENAME TO mine']) {
      const refused = await psql(url, ['-c', statement]);
      expect(refused.stderr).toMatch(/ERROR: {2}system schema 'mz_\w+' cannot be modified/);
    }
    const extension = await psql(url, ['-c', 'DROP EXTENSION pgcrypto CASCADE']);
    expect(extension.stderr).toContain('ERROR:  extension pgcrypto belongs to the local server');
    expect((await rows(`SELECT encode(digest('x', 'sha1'), 'hex')`))[0]).toBe('11f6ad8ec52a2984abaafd7c3b516503785c2072');
  });
});
