/**
 * Opens the PGlite database behind the local server: on disk (a data directory, locked against a
 * second server) or in memory, bootstrapped as the Materialize stand-in.
 *
 * A fresh database costs a 5–7 s initdb. The first one made on a machine is bootstrapped and
 * dumped to a template under node_modules/.cache; later fresh databases (every in-memory server,
 * every new data directory) load that template in about a second.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PGlite, type Results } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { hstore } from '@electric-sql/pglite/contrib/hstore';
import { hash } from 'node:crypto';
import { BOOTSTRAP_SQL, BOOTSTRAP_VERSION } from '../catalog/bootstrap.ts';
import { useGeometricFileGrowth } from './memory-file-growth.ts';
import { removeStaleSiblings } from './stale-cache-files.ts';
import { writeWhole } from '../../shared/build-inputs.ts';
import { withoutUnreadLog } from './template-tarball.ts';
import { LOCAL_DATABASE, LOCAL_USER } from './database-identity.ts';

const EXTENSIONS = { pgcrypto, hstore };
/**
 * PGlite's own start parameters, with Materialize's catalog on the search path from the start: it
 * is then also what RESET search_path, RESET ALL and DISCARD ALL go back to (each connection's
 * session starts from it, connection-state.ts).
 */
const START_PARAMS = PGlite.defaultStartParams.map((parameter) => (parameter === 'search_path=public' ? 'search_path=public, mz_catalog' : parameter));

/** PostgreSQL's shared_buffers syntax: a whole number and a unit. */
const SHARED_BUFFERS = /^[1-9]\d*(kB|MB|GB)$/;

/** Whether `value` is a size shared_buffers takes as this server passes it (16MB, 1GB). */
export function isSharedBuffersSize(value: string): boolean {
  return SHARED_BUFFERS.test(value);
}

function startParams(sharedBuffers: string | undefined): string[] {
  if (sharedBuffers === undefined) return START_PARAMS;
  if (!isSharedBuffersSize(sharedBuffers)) throw new Error(`shared buffers '${sharedBuffers}' is not a size such as 16MB or 1GB`);
  return [...START_PARAMS, '-c', `shared_buffers=${sharedBuffers}`];
}
/** PGlite itself, run on the thread that opened it. */
export type EmbeddedDatabase = PGlite;

export interface QueryOptions {
  rowMode?: 'object' | 'array';
  /** Stop the query past this many milliseconds (the database on its own thread only). */
  timeoutMs?: number;
}

export interface ProtocolCallOptions {
  onRawData: (data: Uint8Array) => void;
  handOver?: boolean;
  /**
   * A client's message: it runs under the session's statement_timeout and max_result_size, and
   * `signal` stops it (reason 'disconnect' or 'cancel'). Only the database on its own thread can
   * stop a running statement (statement-interrupts.ts); an embedded PGlite ignores both.
   */
  client?: boolean;
  signal?: AbortSignal;
}

/**
 * What the local server uses of its database: PGlite's own calls, which both an embedded PGlite
 * and one on its own thread (worker-database.ts) answer.
 */
export interface LocalDatabase {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Array<Results>>;
  /** `handOver`: the caller will not read `message` again (it may be moved, not copied). */
  execProtocolRawStream(message: Uint8Array, options: ProtocolCallOptions): Promise<void>;
  /** Whether the session is inside a transaction block (after the last call that finished). */
  isInTransaction(): boolean;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** node_modules/@electric-sql/pglite (its exports map hides package.json from require.resolve). */
export function pglitePackageRoot(): string {
  return path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..');
}

/**
 * The bootstrap's identity: its version and a hash of its SQL, so an edited bootstrap reaches
 * cached templates and existing data directories without anyone remembering to bump a number.
 */
const BOOTSTRAP_ID = `${BOOTSTRAP_VERSION}-${hash('sha256', BOOTSTRAP_SQL, 'hex').slice(0, 12)}`;

/** How the template is cut (dumpTemplate): a new one is built when it changes. */
const TEMPLATE_LAYOUT = 'slim1';

/** Where the template of this PGlite version and bootstrap is kept (built by the first start that needs it). */
export function templatePath(): string {
  const root = pglitePackageRoot();
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return path.join(root, '..', '..', '.cache', 'segment-materialize', `pglite-${version}-${TEMPLATE_LAYOUT}-bootstrap-${BOOTSTRAP_ID}.tar`);
}

export interface OpenDatabaseOptions {
  /** A directory to persist to; omitted means in memory. */
  dataDir?: string;
  /** Progress lines (first-run initialisation takes seconds). */
  log?: (line: string) => void;
  /**
   * PostgreSQL's shared_buffers; default the template's 128MB. PGlite writes over all of it when it
   * starts (~0.6 s of CPU at 128MB against ~0.05 s at 16MB): servers that hold little data, such as
   * the test suite's ~80, start faster with less. Pages not in it are read from the in-memory file
   * system, so a smaller one costs copies, not disk reads.
   */
  sharedBuffers?: string;
  /**
   * PGlite's WebAssembly compiled already (compiled-pglite.ts): a server's database thread would
   * otherwise compile the 9 MB module again at every start (PGlite caches it per thread only).
   */
  wasmModule?: WebAssembly.Module;
}

/** A bootstrapped PGlite: on disk when dataDir is given, else in memory. */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<EmbeddedDatabase> {
  try {
    return await openBootstrapped(options);
  } catch (error) {
    // PGlite's file system layer throws Emscripten ErrnoErrors: plain objects with a number.
    if (!(error instanceof Error) && error && typeof error === 'object' && 'errno' in error) {
      throw new Error(`the database in ${options.dataDir ?? 'memory'} could not be opened (file system error ${String((error as { errno: unknown }).errno)}): check the directory exists, is readable and writable, and is not a dangling link`);
    }
    throw error;
  }
}

async function openBootstrapped(options: OpenDatabaseOptions): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => {});
  const fresh = !options.dataDir || !existsSync(path.join(options.dataDir, 'PG_VERSION'));
  let db: PGlite;
  if (!fresh) {
    db = await PGlite.create({ dataDir: options.dataDir, username: LOCAL_USER, database: LOCAL_DATABASE, extensions: EXTENSIONS, startParams: startParams(options.sharedBuffers), ...compiled(options) });
  } else {
    const template = await loadOrBuildTemplate(log);
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
    db = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      loadDataDir: tarballOf(template),
      username: LOCAL_USER,
      database: LOCAL_DATABASE,
      extensions: EXTENSIONS,
      startParams: startParams(options.sharedBuffers),
      ...compiled(options),
    });
  }
  useGeometricFileGrowth(db);
  await bootstrap(db);
  // The database's setting (bootstrap) applies to new sessions; PGlite's one session is open already.
  await db.exec('SET search_path = public, mz_catalog');
  return db;
}

/** PGlite told of a module compiled already, when there is one. */
function compiled(options: OpenDatabaseOptions): { pgliteWasmModule?: WebAssembly.Module } {
  return options.wasmModule ? { pgliteWasmModule: options.wasmModule } : {};
}

/** Runs the bootstrap when the database has an older version of it (or none). */
async function bootstrap(db: PGlite): Promise<void> {
  const current = await db.query<{ value: string }>(
    `SELECT value FROM mz_local.settings WHERE key = 'bootstrap_version'`,
  ).catch(() => ({ rows: [] as Array<{ value: string }> }));
  if (current.rows[0]?.value === BOOTSTRAP_ID) return;
  await db.exec(BOOTSTRAP_SQL);
  await db.query(
    `INSERT INTO mz_local.settings (key, value) VALUES ('bootstrap_version', $1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [BOOTSTRAP_ID],
  );
}

/**
 * The template as PGlite's `loadDataDir` reads it. PGlite only calls `arrayBuffer()` on it and
 * looks at its `type` (to decide whether to gunzip), so the bytes are handed over as they are: a
 * Node Blob would copy its bytes in and read them back out in pieces, 0.3–0.6 s of CPU on every
 * server start (a profile of PGlite.create: Blob's getSource/readNext/concat).
 */
function tarballOf(template: Uint8Array): Blob {
  const bytes = template.byteOffset === 0 && template.byteLength === template.buffer.byteLength ? template.buffer : template.slice().buffer;
  const tarball: Pick<Blob, 'type' | 'arrayBuffer'> = { type: 'application/x-tar', arrayBuffer: () => Promise.resolve(bytes as ArrayBuffer) };
  return tarball as Blob;
}

/**
 * The bootstrapped database as the template every fresh database starts from, with only what a
 * start reads: a server start writes all of it into PGlite's file system, and its size was most of
 * the start's CPU (49 MB: 0.7-0.8 s of CPU of a ~1.5 s PGlite start; 18 MB: half that). Left out:
 * the databases nothing connects to (`postgres`, and `template0`, which only CREATE DATABASE …
 * TEMPLATE template0 reads; CREATE DATABASE copies template1, kept) and the write-ahead log before
 * a checkpoint taken at the start of a fresh segment (template-tarball.ts).
 */
async function dumpTemplate(db: PGlite): Promise<Uint8Array> {
  await db.exec(`DROP DATABASE postgres`);
  await db.exec(`ALTER DATABASE template0 WITH ALLOW_CONNECTIONS true IS_TEMPLATE false`);
  await db.exec(`DROP DATABASE template0`);
  await db.exec(`SELECT pg_switch_wal()`);
  await db.exec(`CHECKPOINT`);
  const checkpoint = await db.query<{ segment: string }>(`SELECT pg_walfile_name(checkpoint_lsn) AS segment FROM pg_control_checkpoint()`);
  const dumped = new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
  return withoutUnreadLog(dumped, checkpoint.rows[0]!.segment);
}

async function loadOrBuildTemplate(log: (line: string) => void): Promise<Uint8Array> {
  const file = templatePath();
  try {
    const bytes = await readFile(file);
    // A view, not a copy: the Buffer of a file this size owns its memory.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch {
    // Not built yet on this machine.
  }
  log('initialising a new PGlite database (first run on this machine, ~10 s)…');
  const initial = await PGlite.create({ extensions: EXTENSIONS });
  await initial.exec(`CREATE ROLE ${LOCAL_USER} SUPERUSER LOGIN`);
  await initial.exec(`CREATE DATABASE ${LOCAL_DATABASE} OWNER ${LOCAL_USER}`);
  const dumped = await initial.dumpDataDir('none');
  await initial.close();
  const db = await PGlite.create({ loadDataDir: dumped, username: LOCAL_USER, database: LOCAL_DATABASE, extensions: EXTENSIONS });
  await db.exec(`ALTER DATABASE ${LOCAL_DATABASE} SET timezone TO 'UTC'`);
  await bootstrap(db);
  const template = await dumpTemplate(db);
  await db.close();
  await mkdir(path.dirname(file), { recursive: true });
  // Written aside and renamed, so a concurrent reader never sees half a template; renamed last wins.
  await writeWhole(file, template);
  await removeStaleSiblings(file, 'pglite-');
  return template;
}
