/**
 * Brings a local server's database back to the state it opened in, and proves it did: what lets
 * test files share databases (database-pool.ts) instead of each opening its own (~0.9 s of CPU a
 * start, ~75 starts a run, about a fifth of the suite's CPU).
 *
 * The proof is a fingerprint, taken when the database is fresh and compared after each reset:
 *   - every system catalog, by its rows' count and newest transaction id (xmin): a row inserted or
 *     updated since the fresh state carries a newer one than every fresh row, and a row deleted
 *     lowers the count. So any object created, dropped, altered, commented, granted or replaced,
 *     of any kind, is seen, whether or not the reset knows how to undo it. pg_class and
 *     pg_database are compared by their columns instead, less those PostgreSQL's own upkeep
 *     rewrites (sizes, freeze horizons, file numbers after TRUNCATE, flags only VACUUM clears);
 *   - every table outside pg_catalog the fresh database holds (the local server's own catalog in
 *     mz_local): its rows, its size with its indexes' (a table written and emptied again keeps its
 *     pages: PGlite runs no autovacuum), the planner's figures and statistics of it; and every
 *     sequence's position;
 *   - the session: the settings the fresh database lists, its user and role, Materialize's
 *     variables kept as custom settings, prepared statements, cursors, channels listened to,
 *     advisory locks, temporary tables.
 * The reset undoes what it knows how to (drops what was created, puts the tables back, moves the
 * sequences back, ends the session's state); anything else the fingerprint sees makes it differ,
 * and the database is then closed rather than reused.
 *
 * Not covered, on purpose or because SQL cannot see it:
 *   - planner statistics of the system catalogs (plans of catalog queries, not results);
 *   - custom settings a client named itself (SET my.option): RESET leaves them defined, empty, and
 *     no catalog lists them (the server's own mz.* ones read the same empty or unset);
 *   - the random generator's seed (setseed), and the session's schemas for temporary tables, kept
 *     (empty) once made;
 *   - PostgreSQL's object id counter, which only moves forward: the local server's user ids (u…)
 *     follow it, so a reset database hands out larger ones than a fresh one (Materialize never
 *     hands out an id twice either; no test may rely on one, nor on their text order, which
 *     changes once they reach six digits).
 */
import type { LocalDatabase } from '../../scripts/local/engine/engine.ts';
import { sqlIdentifier, sqlLiteral } from '../../scripts/local/sql/tokens.ts';
import { READ_BY_NAME } from '../../scripts/local/wire/connection-state.ts';

/** What a reset needs of a database: the local server's own calls, nothing more. */
type Database = Pick<LocalDatabase, 'query' | 'exec' | 'isInTransaction'>;

/** PostgreSQL's FirstNormalObjectId: OIDs below it were assigned by initdb. */
const FIRST_NORMAL_OID = 16384;

/**
 * Catalogs compared by columns, not by transaction ids: PostgreSQL rewrites their rows as it keeps
 * tables (TRUNCATE gives a table a new file number; relhastriggers stays set until a VACUUM),
 * including the reset's own TRUNCATEs.
 */
const COMPARED_COLUMNS: Record<string, string> = {
  pg_class: 'oid, relname, relnamespace, reltype, reloftype, relowner, relam, relkind, relpersistence, relnatts, relchecks, relrowsecurity, relforcerowsecurity, relispartition, relreplident, relacl, reloptions, relpartbound',
  pg_database: 'oid, datname, datdba, encoding, datistemplate, datallowconn, datconnlimit, datacl',
};
/** Planner statistics (plans, not results) and large objects' data (pg_largeobject_metadata says which exist). */
const NOT_COMPARED = new Set(['pg_statistic', 'pg_statistic_ext_data', 'pg_largeobject']);
/**
 * Rows left out: a session's schemas for temporary tables, which PostgreSQL keeps (empty) once a
 * session has made one. What is in them is compared with pg_class.
 */
const LEFT_OUT: Record<string, string> = {
  pg_namespace: `nspname !~ '^pg_(toast_)?temp_'`,
};


interface UserTable {
  /** schema.table, quoted */
  readonly name: string;
  readonly oid: string;
  /** Columns an INSERT may name (not generated ones), quoted. */
  readonly columns: string;
  /** The fresh rows in the order they were stored (json_agg), for putting them back. */
  readonly rows: string;
  /** What the fingerprint compares (tableStateSql). */
  readonly state: string;
}

interface SequencePosition {
  readonly name: string;
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/** Catalogs whose fresh OIDs dropCreated keeps apart from those of objects created since. */
const DROPPED_CATALOGS = ['pg_class', 'pg_proc', 'pg_type', 'pg_trigger', 'pg_rewrite', 'pg_policy', 'pg_event_trigger', 'pg_authid'] as const;

/** The database as it opened: what a reset compares with and puts back. */
export interface FreshState {
  readonly fingerprint: Fingerprint;
  /** The fingerprint's query, built once from the catalogs, tables and sequences the fresh database has. */
  readonly fingerprintSql: string;
  readonly tables: readonly UserTable[];
  readonly sequences: readonly SequencePosition[];
  readonly schemas: readonly string[];
  /** OIDs past initdb's the fresh database had, by catalog (DROPPED_CATALOGS). */
  readonly oids: Readonly<Record<(typeof DROPPED_CATALOGS)[number], readonly string[]>>;
  readonly role: string;
  readonly statementTimeout: string;
  /** pg_settings' name → setting. */
  readonly settings: Readonly<Record<string, string>>;
}

/** Part name → md5 of what it covers: which parts differ says what a reset missed. */
export type Fingerprint = Readonly<Record<string, string>>;

export async function snapshotFresh(db: Database): Promise<FreshState> {
  const { rows: tableRows } = await db.query<{ name: string; oid: string; columns: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.oid::text AS oid,
            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
      ORDER BY 1`,
  );
  const rows = await unionOf<{ rows: string }>(db, tableRows.map((table) => `SELECT coalesce(json_agg(t)::text, '[]') AS rows FROM ${table.name} t`));
  const states = await tableStates(db, tableRows);
  const tables = tableRows.map((table, index) => ({ ...table, rows: rows[index]!.rows, state: states[index]! }));
  const sequences = await sequencePositions(db);
  const oids = {} as Record<(typeof DROPPED_CATALOGS)[number], readonly string[]>;
  for (const catalog of DROPPED_CATALOGS) {
    oids[catalog] = (await db.query<{ oid: string }>(`SELECT oid::text FROM pg_catalog.${catalog} WHERE oid >= ${FIRST_NORMAL_OID}`)).rows.map((row) => row.oid);
  }
  const session = (await db.query<{ role: string; statement_timeout: string }>(`SELECT current_setting('role') AS role, current_setting('statement_timeout') AS statement_timeout`)).rows[0]!;
  const settings = await settingsNow(db);
  const fingerprintSql = await buildFingerprintSql(db, tables, sequences, Object.keys(settings));
  return {
    fingerprint: await fingerprintOf(db, fingerprintSql),
    fingerprintSql,
    tables,
    sequences,
    schemas: (await db.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace`)).rows.map((row) => row.nspname),
    oids,
    role: session.role,
    statementTimeout: session.statement_timeout,
    settings,
  };
}

/**
 * Puts `db` back as `fresh` describes it. Returns the parts of the fingerprint that still differ
 * afterwards: none means the database is as it opened.
 */
export async function resetToFresh(db: Database, fresh: FreshState): Promise<string[]> {
  if (db.isInTransaction()) await db.exec('ROLLBACK');
  // Ends the session's state (settings, prepared statements, cursors, temporary tables, listens,
  // advisory locks) and goes back to the session's user, a superuser who may drop anything.
  await db.exec('DISCARD ALL');
  // Neither triggers nor event triggers fire (the local server's own react to DDL and writes by
  // recording them in mz_local, which is about to be put back anyway); foreign keys go unchecked.
  await db.exec('SET session_replication_role = replica');
  await dropCreated(db, fresh);
  await restoreTables(db, fresh);
  await restoreSequences(db, fresh);
  await db.exec(`RESET session_replication_role; SET ROLE ${sqlIdentifier(fresh.role)}`);
  // Through the call the server switches a connection's limits in with: the database's thread
  // then reads statement_timeout and max_result_size again (database-thread.ts), so no limit a
  // test's session set outlives it there.
  await db.exec(`SELECT set_config('statement_timeout', ${sqlLiteral(fresh.statementTimeout)}, false)`);
  const now = await fingerprintOf(db, fresh.fingerprintSql);
  const differing = Object.keys({ ...fresh.fingerprint, ...now }).filter((part) => fresh.fingerprint[part] !== now[part]).sort();
  return Promise.all(differing.map(async (part) => (part === SETTINGS_PART ? `${part} (${(await settingsDiffering(db, fresh)).join('; ')})` : part)));
}

const SETTINGS_PART = 'session settings';

async function settingsNow(db: Database): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; setting: string | null }>(`SELECT name, setting FROM pg_settings`);
  return Object.fromEntries(rows.map((row) => [row.name, row.setting ?? '']));
}

/** What differs in pg_settings, for the pool to say. */
async function settingsDiffering(db: Database, fresh: FreshState): Promise<string[]> {
  const now = await settingsNow(db);
  return Object.keys(fresh.settings)
    .filter((name) => fresh.settings[name] !== now[name])
    .sort()
    .map((name) => `${name}: ${now[name] ?? 'not listed'}, fresh ${fresh.settings[name] ?? 'not listed'}`);
}

/**
 * Drops every schema (by name), relation, routine, type, trigger, rule, policy, event trigger and
 * role (by OID) the fresh database did not have. An object another one owns (an identity column's
 * sequence, a serial's, a range type's constructor, an extension's members) goes with its owner.
 */
async function dropCreated(db: Database, fresh: FreshState): Promise<void> {
  const { rows } = await db.query<{ statement: string }>(
    `WITH created_schemas AS (SELECT oid, nspname FROM pg_namespace WHERE nspname <> ALL ($1::text[]) AND nspname !~ '^pg_(toast_)?temp_'),
     kept_schemas AS (SELECT oid FROM pg_namespace WHERE oid NOT IN (SELECT oid FROM created_schemas)),
     owned AS (SELECT classid, objid FROM pg_depend WHERE deptype IN ('i', 'e', 'a') AND objid >= $2 AND classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass))
     SELECT 1 AS step, format('DROP SCHEMA IF EXISTS %I CASCADE', nspname) AS statement FROM created_schemas
     UNION ALL
     SELECT 2, format('DROP %s IF EXISTS %I.%I CASCADE',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
                      n.nspname, c.relname)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid >= $2 AND c.oid::text <> ALL ($3::text[]) AND c.relnamespace IN (SELECT oid FROM kept_schemas)
        AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND n.nspname NOT LIKE 'pg\\_toast%'
        -- (A composite type's relation belongs to its type, which has no statement of its own here.)
        AND (c.relkind = 'c' OR NOT EXISTS (SELECT FROM owned o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid))
     UNION ALL
     -- An index of its own on a table the fresh database had (others go with their tables, or constraints).
     SELECT 3, format('DROP INDEX IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid >= $2 AND c.oid::text <> ALL ($3::text[]) AND i.indrelid::text = ANY ($3::text[])
        AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = c.oid)
     UNION ALL
     SELECT 4, format('DROP %s IF EXISTS %s CASCADE', CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure)
       FROM pg_proc p WHERE p.oid >= $2 AND p.oid::text <> ALL ($4::text[]) AND p.pronamespace IN (SELECT oid FROM kept_schemas)
        AND NOT EXISTS (SELECT FROM owned o WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid)
     UNION ALL
     SELECT 5, format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype)
       FROM pg_type t WHERE t.oid >= $2 AND t.oid::text <> ALL ($5::text[]) AND t.typnamespace IN (SELECT oid FROM kept_schemas) AND t.typrelid = 0 AND t.typelem = 0
        AND NOT EXISTS (SELECT FROM owned o WHERE o.classid = 'pg_type'::regclass AND o.objid = t.oid)
     UNION ALL
     -- Triggers, rules and policies of their own on tables the fresh database had (others go with their tables).
     SELECT 6, format('DROP TRIGGER IF EXISTS %I ON %s', tgname, tgrelid::regclass) FROM pg_trigger WHERE oid >= $2 AND oid::text <> ALL ($6::text[]) AND NOT tgisinternal AND tgrelid::text = ANY ($3::text[])
     UNION ALL
     SELECT 6, format('DROP RULE IF EXISTS %I ON %s', rulename, ev_class::regclass) FROM pg_rewrite WHERE oid >= $2 AND oid::text <> ALL ($7::text[]) AND ev_class::text = ANY ($3::text[])
     UNION ALL
     SELECT 6, format('DROP POLICY IF EXISTS %I ON %s', polname, polrelid::regclass) FROM pg_policy WHERE oid >= $2 AND oid::text <> ALL ($8::text[]) AND polrelid::text = ANY ($3::text[])
     UNION ALL
     SELECT 7, format('DROP EVENT TRIGGER IF EXISTS %I', evtname) FROM pg_event_trigger WHERE oid >= $2 AND oid::text <> ALL ($9::text[])
     UNION ALL
     SELECT 8, format('DROP OWNED BY %1$I CASCADE; DROP ROLE IF EXISTS %1$I', rolname) FROM pg_authid WHERE oid >= $2 AND oid::text <> ALL ($10::text[])
     ORDER BY 1`,
    [fresh.schemas, FIRST_NORMAL_OID, fresh.oids.pg_class, fresh.oids.pg_proc, fresh.oids.pg_type, fresh.oids.pg_trigger, fresh.oids.pg_rewrite, fresh.oids.pg_policy, fresh.oids.pg_event_trigger, fresh.oids.pg_authid],
  );
  if (rows.length > 0) await db.exec(rows.map((row) => `${row.statement};`).join('\n'));
}

/**
 * Puts back every table whose state differs from the fresh one (rows, size, the planner's figures
 * and statistics): truncated together (CASCADE reaches a table that references one, which is then
 * put back too), its statistics removed (a fresh table has none), then filled in the order its
 * fresh rows were stored.
 */
async function restoreTables(db: Database, fresh: FreshState): Promise<void> {
  const differing = async (): Promise<UserTable[]> => {
    const now = await tableStates(db, fresh.tables);
    return fresh.tables.filter((table, index) => now[index] !== table.state);
  };
  const changed = await differing();
  if (changed.length === 0) return;
  await db.exec(`TRUNCATE ${changed.map((table) => table.name).join(', ')} CASCADE`);
  const refill = await differing();
  await db.query(`DELETE FROM pg_statistic WHERE starelid::text = ANY ($1::text[])`, [refill.map((table) => table.oid)]);
  for (const table of refill) {
    await db.query(`INSERT INTO ${table.name} (${table.columns}) OVERRIDING SYSTEM VALUE SELECT ${table.columns} FROM json_populate_recordset(NULL::${table.name}, $1::json)`, [table.rows]);
  }
}

/** Each table's state as the fingerprint compares it, in one round trip. */
async function tableStates(db: Database, tables: ReadonlyArray<Pick<UserTable, 'name' | 'oid'>>): Promise<string[]> {
  return (await unionOf<{ state: string }>(db, tables.map((table) => `SELECT ${tableStateSql(table)} AS state`))).map((row) => row.state);
}

/**
 * A fresh table's state: its rows (in text order: their order on disk may differ), its size and
 * its indexes' and TOAST table's, the planner's page and row figures, and how many statistics
 * rows it has.
 */
function tableStateSql(table: Pick<UserTable, 'name' | 'oid'>): string {
  const oid = `${table.oid}::oid`;
  return `concat_ws(' ',
    (SELECT coalesce(json_agg(t ORDER BY t::text)::text, '[]') FROM ${table.name} t),
    (SELECT sum(pg_relation_size(r.oid)) FROM pg_class r WHERE r.oid = ${oid} OR r.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ${oid}) OR r.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = ${oid})),
    (SELECT relpages || '/' || reltuples FROM pg_class WHERE oid = ${oid}),
    (SELECT count(*) FROM pg_statistic WHERE starelid = ${oid}))`;
}

async function restoreSequences(db: Database, fresh: FreshState): Promise<void> {
  const now = new Map((await sequencePositions(db)).map((position) => [position.name, position]));
  for (const position of fresh.sequences) {
    const current = now.get(position.name);
    if (current && current.lastValue === position.lastValue && current.isCalled === position.isCalled) continue;
    await db.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [position.name, position.lastValue, position.isCalled]);
  }
}

async function sequencePositions(db: Database): Promise<SequencePosition[]> {
  const { rows: names } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' ORDER BY 1`,
  );
  const rows = await unionOf<{ name: string; last_value: string; is_called: boolean }>(db, names.map((row) => sequenceQuery(row.name)));
  return rows.map((row) => ({ name: row.name, lastValue: row.last_value, isCalled: row.is_called }));
}

function sequenceQuery(name: string): string {
  return `SELECT ${sqlLiteral(name)} AS name, last_value::text AS last_value, is_called FROM ${name}`;
}

/** The rows of several one-row queries, in their order, in one round trip. */
async function unionOf<T>(db: Database, queries: readonly string[]): Promise<T[]> {
  if (queries.length === 0) return [];
  const { rows } = await db.query<T & { position: number }>(queries.map((query, index) => `SELECT ${index} AS position, * FROM (${query}) q`).join('\nUNION ALL\n'));
  return [...rows].sort((a, b) => a.position - b.position);
}

async function fingerprintOf(db: Database, sql: string): Promise<Fingerprint> {
  const { rows } = await db.query<{ part: string; value: string | null }>(sql);
  return Object.fromEntries(rows.map((row) => [row.part, row.value ?? '']));
}

/** One query with a row per part of the fingerprint, each part's text hashed where it is read. */
async function buildFingerprintSql(db: Database, tables: ReadonlyArray<Pick<UserTable, 'name' | 'oid'>>, sequences: readonly SequencePosition[], settingNames: readonly string[]): Promise<string> {
  const { rows: catalogs } = await db.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r' ORDER BY 1`,
  );
  const parts: string[] = [];
  const part = (name: string, text: string) => parts.push(`SELECT ${sqlLiteral(name)} AS part, md5(coalesce((${text}), '')) AS value`);
  for (const { name } of catalogs) {
    if (NOT_COMPARED.has(name)) continue;
    const columns = COMPARED_COLUMNS[name];
    const where = LEFT_OUT[name] ? ` WHERE ${LEFT_OUT[name]}` : '';
    if (columns) part(name, `SELECT string_agg((${columns})::text, E'\\n' ORDER BY oid) FROM pg_catalog.${name}${where}`);
    else part(name, `SELECT concat_ws(' ', count(*), max(xmin::text::bigint)) FROM pg_catalog.${name}${where}`);
  }
  for (const table of tables) part(`table ${table.name}`, `SELECT ${tableStateSql(table)}`);
  for (const sequence of sequences) part(`sequence ${sequence.name}`, `SELECT concat_ws(' ', last_value, is_called) FROM ${sequence.name}`);
  // The settings the fresh database lists: a library loaded since (PL/pgSQL, pgcrypto, by the
  // first call of one of their functions) lists its own too, at their defaults.
  part(SETTINGS_PART, `SELECT string_agg(name || '=' || coalesce(setting, ''), E'\\n' ORDER BY name) FROM pg_settings WHERE name IN (${settingNames.map(sqlLiteral).join(', ')})`);
  // The role and Materialize's variables kept as custom settings: what the server reads by name (connection-state.ts).
  part('session identity', `SELECT concat_ws(E'\\n', current_user, session_user, ${READ_BY_NAME.map((name) => `coalesce(current_setting(${sqlLiteral(name)}, true), '')`).join(', ')})`);
  part('session state', `SELECT concat_ws(E'\\n', (SELECT count(*) FROM pg_prepared_statements), (SELECT count(*) FROM pg_cursors), (SELECT count(*) FROM pg_listening_channels()), (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'), (SELECT count(*) FROM pg_class WHERE relpersistence = 't'))`);
  return parts.join('\nUNION ALL\n');
}
