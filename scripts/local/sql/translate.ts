/**
 * Translates one SQL statement for PGlite: Materialize statements become a single PostgreSQL
 * statement (a DO block calling the bootstrap's mz_local functions, so the catalog and the objects
 * change together or not at all), everything else passes through untouched.
 *
 * A single statement per input statement keeps both query protocols working: a Parse message may
 * carry only one statement, and errors surface where PostgreSQL would raise them.
 */
import {
  MzStatementError,
  parseMzStatement,
  type CheckBinding,
  type MzStatement,
  type QualifiedName,
  type WebhookCheck,
} from './mz-statements.ts';
import { JSON_MAX_NESTING, JsonScanError, scanJsonStream } from './json-scan.ts';
import { showColumnsQuery, showCreateQuery, showQuery } from './show-queries.ts';
import { DEFAULT_MAX_RESULT_BYTES, parseByteSize, showByteSizeQuery } from './byte-size.ts';
import { setVariableSql, showVariableSql } from './session-variables.ts';
import { applyEdits, SqlSyntaxError, splitStatements, sqlIdentifier, sqlLiteral, tokenize, type StatementSpan, type TextEdit } from './tokens.ts';
import { catalogNameEdits, protectedTarget } from './pg-catalog.ts';
import { regexParameterEdits, regexTooLargeMessage, tooLargeRegexLiteral } from './regex-patterns.ts';
import { createTypeAsDomain, dialectEdits, rewriteDialect } from './dialect.ts';
import { materializeRefusal } from './refusals.ts';
import { closingParen, isPunct, isWord } from './token-walk.ts';
import { createTypeOptions } from './map-refusals.ts';

export interface TranslatedStatement {
  sql: string;
  /**
   * The command tag to report instead of PostgreSQL's `DO`, or null to keep PostgreSQL's tag.
   * Undefined when the statement passed through.
   */
  tag?: string | null;
  /** True when the statement may change the catalog (webhook routing must look again). */
  changesCatalog: boolean;
  /** True when the statement only reads (SELECT, SHOW …): nothing to invalidate. */
  readOnly: boolean;
}

const READ_ONLY_FIRST_WORDS = new Set(['select', 'show', 'with', 'values', 'table', 'explain', 'fetch']);

/** Translates every statement of a query string; returns the new text and the per-statement results. */
export function translateQuery(sql: string): { sql: string; statements: TranslatedStatement[] } {
  let statements: StatementSpan[];
  try {
    statements = splitStatements(sql, tokenize(sql));
  } catch (error) {
    if (error instanceof SqlSyntaxError) {
      // Let PostgreSQL report lexical errors itself, with its own position.
      return { sql, statements: [{ sql, changesCatalog: false, readOnly: false }] };
    }
    throw error;
  }
  if (statements.length === 0) return { sql, statements: [] };
  const translated = statements.map((statement) => translateStatement(statement, sql));
  if (translated.every((statement, index) => statement.tag === undefined && statement.sql === sliceOf(sql, statements[index]!))) {
    return { sql, statements: translated };
  }
  return { sql: translated.map((statement) => statement.sql).join(';\n'), statements: translated };
}

function sliceOf(sql: string, statement: StatementSpan): string {
  return sql.slice(statement.start, statement.end);
}

export function translateStatement(statement: StatementSpan, sql: string): TranslatedStatement {
  const text = sliceOf(sql, statement);
  const firstWord = statement.tokens[0]?.type === 'word' ? statement.tokens[0].value : '';
  const tooDeep = tooDeeplyNestedLiteral(statement);
  if (tooDeep) return raiseStatement(`invalid input syntax for type jsonb: ${tooDeep}`, '22P02');
  const regexBytes = tooLargeRegexLiteral(statement);
  if (regexBytes !== null) return raiseStatement(regexTooLargeMessage(regexBytes), '54000');
  const refusal = materializeRefusal(statement);
  if (refusal) return raiseStatement(refusal.message, refusal.code);
  const target = protectedTarget(statement);
  if (target) {
    // A SWAP keeps the words of Materialize's swap check (as mz_local.swap_schemas says them).
    const swap = statement.tokens.some((token) => token.type === 'word' && token.value === 'swap');
    return raiseStatement(
      target.kind === 'extension'
        ? `extension ${target.name} belongs to the local server and cannot be modified`
        : swap
          ? `cannot swap system schema '${target.name}'`
          : `system schema '${target.name}' cannot be modified`,
      '42501',
    );
  }
  let parsed: MzStatement | null;
  try {
    parsed = parseMzStatement(statement, sql);
  } catch (error) {
    if (error instanceof MzStatementError) return raiseStatement(error.message, error.code);
    throw error;
  }
  if (!parsed && firstWord === 'drop' && statement.tokens[1]?.type === 'word' && statement.tokens[1].value === 'schema') {
    // PostgreSQL drops the schema's relations; the secrets and connections kept by name in
    // mz_local go with them, or a schema created again with that name would find them there.
    return ddl(`EXECUTE ${sqlLiteral(text)}; PERFORM mz_local.collect_garbage();`, 'DROP SCHEMA');
  }
  if (!parsed && firstWord === 'drop' && statement.tokens[1]?.type === 'word' && statement.tokens[1].value === 'type') {
    const dropType = dropTypeChecked(statement, sql, text);
    if (dropType) return dropType;
  }
  if (!parsed && firstWord === 'create') {
    // CREATE TYPE … AS LIST / AS MAP is a domain over an array / hstore (dialect.ts), tagged as Materialize tags it.
    const domain = createTypeAsDomain(statement, sql);
    if (domain) {
      // A list of a list type (`element_type = int4_list`): PostgreSQL has no array of an array
      // domain, so the new domain is over the element's own array type (int4[]) when it is one.
      const listOf = /^([\s\S]*\sAS\s+)([\s\S]+)\[\]\s*$/i.exec(domain);
      const created = listOf
        ? `EXECUTE ${sqlLiteral(listOf[1]!)} || mz_local.list_domain_base(${sqlLiteral(listOf[2]!.trim())});`
        : `EXECUTE ${sqlLiteral(domain)};`;
      // Each option must name a type, not a relation (whose row type PostgreSQL would take).
      const checks = createTypeOptions(statement.tokens, sql)
        .map(({ option, type }) => `PERFORM mz_local.check_type_option(${sqlLiteral(option)}, ${sqlLiteral(type)});`)
        .join(' ');
      return ddl(`${checks} ${created}`, 'CREATE TYPE');
    }
    // One Materialize does not take as a domain (a key type other than text, an unknown option):
    // its options are checked as Materialize checks them first, then PostgreSQL reports the rest.
    if (statement.tokens[1]?.type === 'word' && statement.tokens[1].value === 'type') {
      const options = createTypeOptions(statement.tokens, sql);
      if (options.length > 0) {
        const checks = options.map(({ option, type }) => `PERFORM mz_local.check_type_option(${sqlLiteral(option)}, ${sqlLiteral(type)});`).join(' ');
        return ddl(`${checks} EXECUTE ${sqlLiteral(text)};`, 'CREATE TYPE');
      }
    }
    const viewIfNotExists = createViewIfNotExists(statement, sql);
    if (viewIfNotExists) return viewIfNotExists;
    const namedColumns = createViewColumnListChecked(statement, sql, text);
    if (namedColumns) return namedColumns;
  }
  if (!parsed) {
    const readOnly = READ_ONLY_FIRST_WORDS.has(firstWord);
    // A user's own DO block keeps its tag; it is listed so that tag rewriting stays in step.
    return firstWord === 'do'
      ? { sql: text, tag: null, changesCatalog: true, readOnly: false }
      : { sql: clientStatementText(statement, sql, text), changesCatalog: !readOnly, readOnly };
  }
  try {
    return translateMz(parsed, text);
  } catch (error) {
    if (error instanceof MzStatementError) return raiseStatement(error.message, error.code);
    throw error;
  }
}

/**
 * `DROP TYPE t` [RESTRICT] of a type a view reads: refused as Materialize refuses it (`cannot drop
 * type "t": still depended upon by materialized view "mv"`, materialized_views.slt), the dependent
 * found as for a relation (mz_local.first_dependent_described); otherwise PostgreSQL drops it.
 * Several names, IF EXISTS or CASCADE: left to PostgreSQL.
 */
function dropTypeChecked(statement: StatementSpan, sql: string, text: string): TranslatedStatement | null {
  const { tokens } = statement;
  const end = qualifiedNameEnd(tokens, 2);
  const last = tokens[end];
  if (!last || !(last.type === 'word' || last.type === 'quoted') || !(tokens[2]!.type === 'word' || tokens[2]!.type === 'quoted')) return null;
  if (tokens[2]!.type === 'word' && tokens[2]!.value === 'if') return null;
  const rest = tokens.slice(end + 1);
  if (!(rest.length === 0 || (rest.length === 1 && rest[0]!.type === 'word' && rest[0]!.value === 'restrict'))) return null;
  const type = `to_regtype(${sqlLiteral(sql.slice(tokens[2]!.start, last.end))})`;
  const dependent = `mz_local.first_dependent_described(${type}::oid)`;
  return ddl(
    `IF ${type} IS NOT NULL AND ${dependent} IS NOT NULL THEN ` +
      `PERFORM mz_local.fail(${sqlLiteral(`cannot drop type "${last.value}": still depended upon by `)} || ${dependent}, '2BP01'); END IF; ` +
      `EXECUTE ${sqlLiteral(text)};`,
    'DROP TYPE',
  );
}

/**
 * `CREATE VIEW IF NOT EXISTS name …` (Materialize has it, PostgreSQL does not): created unless the
 * name is taken, with Materialize's notice otherwise.
 */
function createViewIfNotExists(statement: StatementSpan, sql: string): TranslatedStatement | null {
  const { tokens } = statement;
  if (!isWord(tokens[1], 'view') || !isWord(tokens[2], 'if') || !isWord(tokens[3], 'not') || !isWord(tokens[4], 'exists')) return null;
  const nameStart = tokens[5];
  const nameEnd = qualifiedNameEnd(tokens, 5);
  if (!nameStart || !(nameStart.type === 'word' || nameStart.type === 'quoted')) return null;
  const name = sql.slice(nameStart.start, tokens[nameEnd]!.end);
  const create = applyEdits(statement, sql, [{ start: tokens[2]!.start, end: tokens[4]!.end, text: '' }, ...dialectEdits(statement, sql)]);
  const shown = tokens[nameEnd]!.value;
  return ddl(
    `IF to_regclass(${sqlLiteral(name)}) IS NULL THEN EXECUTE ${sqlLiteral(create)}; ELSE RAISE NOTICE '%', ${sqlLiteral(`view "${shown}" already exists, skipping`)}; END IF;`,
    'CREATE VIEW',
  );
}

/**
 * `CREATE [OR REPLACE] [TEMP] VIEW name (a, …) AS …`: Materialize (v26.36 on, plan_utils.rs
 * maybe_rename_columns_exact) refuses a column list naming fewer columns than the query has, where
 * PostgreSQL renames the first ones; more names than columns both refuse, in Materialize's words
 * here. The view is created, its columns counted (mz_local.check_view_column_list) and the statement
 * undone by the refusal. Views without a column list are left as they are.
 */
function createViewColumnListChecked(statement: StatementSpan, sql: string, text: string): TranslatedStatement | null {
  const { tokens } = statement;
  let at = 1;
  if (isWord(tokens[at], 'or') && isWord(tokens[at + 1], 'replace')) at += 2;
  if (isWord(tokens[at], 'temp') || isWord(tokens[at], 'temporary')) at++;
  if (!isWord(tokens[at], 'view')) return null;
  const nameStart = at + 1;
  const first = tokens[nameStart];
  if (!first || !(first.type === 'word' || first.type === 'quoted') || isWord(first, 'if')) return null;
  const nameEnd = qualifiedNameEnd(tokens, nameStart);
  if (!isPunct(tokens[nameEnd + 1], '(')) return null;
  const open = tokens[nameEnd + 1]!;
  const close = closingParen(tokens, nameEnd + 1);
  if (close < 0 || !isWord(tokens[close + 1], 'as')) return null;
  const name = sql.slice(first.start, tokens[nameEnd]!.end);
  const shownName = nameEnd === nameStart
    ? `mz_local.qualified(current_schema(), ${sqlLiteral(tokens[nameEnd]!.value)})`
    : `mz_local.qualified(${sqlLiteral(tokens[nameEnd - 2]!.value)}, ${sqlLiteral(tokens[nameEnd]!.value)})`;
  const viewSql = sql.slice(open.start, statement.end);
  return ddl(
    `BEGIN EXECUTE ${sqlLiteral(clientStatementText(statement, sql, text))}; ` +
      `EXCEPTION WHEN syntax_error THEN IF SQLERRM <> 'CREATE VIEW specifies more column names than columns' THEN RAISE; END IF; ` +
      `PERFORM mz_local.fail(mz_local.view_names_mismatch('view', ${shownName}, ${sqlLiteral(viewSql)}), '42601'); END; ` +
      `PERFORM mz_local.check_view_column_list('view', to_regclass(${sqlLiteral(name)})::oid, ${sqlLiteral(viewSql)});`,
    'CREATE VIEW',
  );
}

/** The index of a possibly qualified name's last part (`a.b.c` from the index of `a`). */
function qualifiedNameEnd(tokens: StatementSpan['tokens'], start: number): number {
  let end = start;
  while (isPunct(tokens[end + 1], '.') && tokens[end + 2]) end += 2;
  return end;
}

/**
 * A client's own statement as PGlite runs it: catalog names read as Materialize shows them
 * (pg-catalog.ts), regex pattern parameters checked (regex-patterns.ts), a write marked as a
 * client's; else as written.
 */
function clientStatementText(statement: StatementSpan, sql: string, text: string): string {
  const edits = withoutOverlaps([...catalogNameEdits(statement), ...regexParameterEdits(statement)], dialectEdits(statement, sql));
  const edited = edits.length === 0 ? text : applyEdits(statement, sql, edits);
  return writesRows(statement) ? `${edited}\n${CLIENT_WRITE_MARK}` : edited;
}

/**
 * Marks a client's INSERT, UPDATE, DELETE or MERGE (at the end: error positions stay right): a
 * source's statement trigger refuses a statement carrying it, as Materialize refuses writes to
 * sources, while the server's own webhook and Kafka appends (which never carry it) go through
 * (catalog/kept-views.sql, refuse_client_writes).
 */
export const CLIENT_WRITE_MARK = '/*mz_local:client_write*/';
const WRITE_WORDS = new Set(['insert', 'update', 'delete', 'merge']);

function writesRows(statement: StatementSpan): boolean {
  const first = statement.tokens[0];
  if (first?.type !== 'word') return false;
  if (WRITE_WORDS.has(first.value)) return true;
  return first.value === 'with' && statement.tokens.some((token) => token.type === 'word' && WRITE_WORDS.has(token.value));
}

/** `edits` and those of `more` that touch none of them (Materialize's spellings, dialect.ts). */
function withoutOverlaps(edits: TextEdit[], more: TextEdit[]): TextEdit[] {
  if (more.length === 0) return edits;
  return [...edits, ...more.filter((edit) => edits.every((other) => edit.end <= other.start || other.end <= edit.start))];
}

/** A statement that fails with Materialize's message, through PostgreSQL's own error path. */
/**
 * PGlite's JSON parser recurses without a working stack check under WebAssembly: a literal nested
 * ~10,000 levels deep corrupted the engine and hung the server. Materialize's parser stops at 128
 * levels, so a string literal nested deeper is refused before it runs (the rare such literal meant
 * as plain text is refused too). Values built at run time (repeat(), bind parameters) are not seen.
 */
function tooDeeplyNestedLiteral(statement: StatementSpan): string | null {
  for (const token of statement.tokens) {
    if (token.type !== 'string' || token.value.length < JSON_MAX_NESTING * 2) continue;
    let brackets = 0;
    for (let index = 0; index < token.value.length && brackets < JSON_MAX_NESTING; index++) {
      const char = token.value.charCodeAt(index);
      if (char === 91 /* [ */ || char === 123 /* { */) brackets++;
    }
    if (brackets < JSON_MAX_NESTING) continue;
    try {
      scanJsonStream(token.value);
    } catch (error) {
      if (error instanceof JsonScanError && error.message.startsWith('recursion limit exceeded')) return error.message;
    }
  }
  return null;
}

function raiseStatement(message: string, code: string): TranslatedStatement {
  return { sql: doBlock(`PERFORM mz_local.fail(${sqlLiteral(message)}, ${sqlLiteral(code)});`), tag: null, changesCatalog: false, readOnly: false };
}

function doBlock(body: string): string {
  let tag = '$mz$';
  for (let suffix = 1; body.includes(tag); suffix++) tag = `$mz${suffix}$`;
  return `DO ${tag}BEGIN ${body} END${tag}`;
}

function ddl(body: string, tag: string): TranslatedStatement {
  return { sql: doBlock(body), tag, changesCatalog: true, readOnly: false };
}

function literalOrNull(value: string | null | undefined): string {
  return value === null || value === undefined ? 'NULL' : sqlLiteral(value);
}

function nameArguments(name: QualifiedName): string {
  return `${literalOrNull(name.database)}, ${literalOrNull(name.schema)}, ${sqlLiteral(name.name)}`;
}

function jsonLiteral(value: unknown): string {
  return `${sqlLiteral(JSON.stringify(value))}::jsonb`;
}

function translateMz(statement: MzStatement, text: string): TranslatedStatement {
  switch (statement.kind) {
    case 'create_cluster':
      return ddl(`PERFORM mz_local.create_cluster(${sqlLiteral(statement.name)}, ${jsonLiteral(statement.options)});`, 'CREATE CLUSTER');
    case 'alter_cluster':
      return ddl(
        `PERFORM mz_local.alter_cluster(${sqlLiteral(statement.name)}, ${statement.ifExists}, ${jsonLiteral(statement.set)}, ARRAY[${statement.reset.map((name) => sqlLiteral(name)).join(', ')}]::text[]);`,
        'ALTER CLUSTER',
      );
    case 'create_cluster_replica':
      return ddl(
        `PERFORM mz_local.create_cluster_replica(${sqlLiteral(statement.cluster)}, ${sqlLiteral(statement.name)}, ${jsonLiteral(statement.options)});`,
        'CREATE CLUSTER REPLICA',
      );
    case 'drop_cluster_replica':
      return ddl(
        statement.replicas.map((replica) => `PERFORM mz_local.drop_cluster_replica(${sqlLiteral(replica.cluster)}, ${sqlLiteral(replica.name)}, ${statement.ifExists});`).join(' '),
        'DROP CLUSTER REPLICA',
      );
    case 'drop_cluster':
      return ddl(
        statement.names
          .map((name) => `PERFORM mz_local.drop_cluster(${sqlLiteral(name)}, ${statement.ifExists}, ${statement.cascade});`)
          .join(' '),
        'DROP CLUSTER',
      );
    case 'set_cluster':
      return { sql: `SET mz.cluster TO ${sqlLiteral(statement.name)}`, changesCatalog: false, readOnly: false };
    case 'set_variable': {
      const set = setVariableSql(statement.variable, statement.value);
      return 'error' in set ? raiseStatement(set.error, set.code) : { sql: set.sql, changesCatalog: false, readOnly: false };
    }
    case 'show_variable':
      return { sql: showVariableSql(statement.variable), changesCatalog: false, readOnly: true };
    case 'set_max_result_size': {
      // Kept as a custom setting: the database thread reads it to stop a result that grows past it.
      if (statement.value === null) return { sql: 'RESET mz.max_result_size', changesCatalog: false, readOnly: false };
      const bytes = parseByteSize(statement.value);
      if (bytes === null) return raiseStatement(`invalid value for parameter "max_result_size": "${statement.value}": give a size such as 1GB, 512MB or a number of bytes`, '22023');
      return { sql: `SET mz.max_result_size TO ${sqlLiteral(String(bytes))}`, changesCatalog: false, readOnly: false };
    }
    case 'show_max_result_size':
      return {
        sql: showByteSizeQuery('max_result_size', `coalesce(nullif(current_setting('mz.max_result_size', true), '')::bigint, ${DEFAULT_MAX_RESULT_BYTES})`),
        changesCatalog: false,
        readOnly: true,
      };
    case 'show_cluster':
      return {
        sql: `SELECT coalesce(nullif(current_setting('mz.cluster', true), ''), 'quickstart') AS cluster`,
        changesCatalog: false,
        readOnly: true,
      };
    case 'create_secret':
      return ddl(
        `PERFORM mz_local.create_secret(${nameArguments(statement.name)}, mz_local.secret_bytes((${statement.valueSql})), ${statement.ifNotExists});`,
        'CREATE SECRET',
      );
    case 'alter_secret':
      return ddl(
        `PERFORM mz_local.alter_secret(${nameArguments(statement.name)}, mz_local.secret_bytes((${statement.valueSql})), ${statement.ifExists});`,
        'ALTER SECRET',
      );
    case 'create_webhook_source':
      return translateWebhookSource(statement, text);
    case 'create_kafka_connection': {
      const secretRefs: QualifiedName[] = [];
      const options: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(statement.options)) {
        if (typeof value === 'string') options[key] = value;
        else {
          options[key] = { secret: secretRefs.length };
          secretRefs.push(value);
        }
      }
      return ddl(
        `PERFORM mz_local.create_connection(${nameArguments(statement.name)}, 'kafka', ${jsonLiteral(options)}, ${jsonLiteral(secretRefs)}, ${statement.ifNotExists}, ${sqlLiteral(text)});`,
        'CREATE CONNECTION',
      );
    }
    case 'create_kafka_source':
      return ddl(
        `PERFORM mz_local.create_kafka_source(${nameArguments(statement.name)}, ${literalOrNull(statement.cluster)}, ${jsonLiteral(statement.connection)}, ${sqlLiteral(statement.topic)}, ${statement.ifNotExists}, ${sqlLiteral(text)});`,
        'CREATE SOURCE',
      );
    case 'create_materialized_view':
      return ddl(
        `${refreshChecks(statement.refreshChecks)}PERFORM mz_local.create_materialized_view(${nameArguments(statement.name)}, ${literalOrNull(statement.cluster)}, ${sqlLiteral(rewriteDialect(statement.viewSql))}, ${statement.orReplace}, ${statement.ifNotExists}, ${sqlLiteral(text)});`,
        'CREATE MATERIALIZED VIEW',
      );
    case 'create_index': {
      const name = statement.name ?? { database: null, schema: null, name: null };
      return ddl(
        `PERFORM mz_local.create_index(${literalOrNull(name.database)}, ${literalOrNull(name.schema)}, ${literalOrNull(name.name)}, ${jsonLiteral(statement.on)}, ${literalOrNull(statement.cluster)}, ${literalOrNull(statement.keySql)}, ${statement.ifNotExists}, ${sqlLiteral(text)});`,
        'CREATE INDEX',
      );
    }
    case 'drop':
      return ddl(
        statement.names
          .map(
            (name) =>
              `PERFORM mz_local.drop_object(${sqlLiteral(statement.objectType)}, ${nameArguments(name)}, ${statement.ifExists}, ${statement.cascade});`,
          )
          .join(' '),
        `DROP ${statement.objectType.toUpperCase()}`,
      );
    case 'rename':
      return ddl(
        `PERFORM mz_local.rename_object(${sqlLiteral(statement.objectType)}, ${nameArguments(statement.name)}, ${sqlLiteral(statement.newName)}, ${statement.ifExists});`,
        `ALTER ${statement.objectType.toUpperCase()}`,
      );
    case 'swap_schema':
      return ddl(`PERFORM mz_local.swap_schemas(${literalOrNull(statement.database)}, ${sqlLiteral(statement.schema)}, ${sqlLiteral(statement.other)});`, 'ALTER SCHEMA');
    case 'swap_cluster':
      return ddl(`PERFORM mz_local.swap_clusters(${sqlLiteral(statement.name)}, ${sqlLiteral(statement.other)});`, 'ALTER CLUSTER');
    case 'show':
      return { sql: showQuery(statement.what, statement.schema, statement.cluster, statement.filter, statement.on), changesCatalog: false, readOnly: true };
    case 'show_constant':
      return { sql: `SELECT ${sqlLiteral(statement.value)}::text AS ${sqlIdentifier(statement.column)}`, changesCatalog: false, readOnly: true };
    case 'set_search_path':
      // Keeps mz_catalog reachable last, as Materialize always resolves its catalog names.
      return { sql: /^default$/i.test(statement.valueSql.trim()) ? 'SET search_path = public, mz_catalog' : `SET search_path = ${statement.valueSql}, mz_catalog`, changesCatalog: false, readOnly: false };
    case 'show_columns':
      return { sql: showColumnsQuery(statement.relation, statement.filter), changesCatalog: false, readOnly: true };
    case 'show_create':
      return { sql: showCreateQuery(statement.objectType, statement.name), changesCatalog: false, readOnly: true };
    case 'show_search_path':
      // mz_catalog is on PostgreSQL's search path only to resolve catalog names as Materialize does.
      return { sql: `SELECT regexp_replace(current_setting('search_path'), ',\\s*mz_catalog$', '') AS search_path`, changesCatalog: false, readOnly: true };
    case 'unsupported':
      return raiseStatement(`${statement.feature} is not supported by the local server; ${statement.advice ?? 'run it against Materialize'}`, '0A000');
  }
}

/**
 * The DO-block statements that check REFRESH options before the view is created. A REFRESH AT
 * value the local server cannot compute as Materialize does (`mz_now()::text::int8`: its mz_now()
 * is a timestamptz) is let through: failing it would refuse what Materialize takes.
 */
function refreshChecks(checks: Extract<MzStatement, { kind: 'create_materialized_view' }>['refreshChecks']): string {
  if (!checks) return '';
  return checks
    .map((check) =>
      check.interval === undefined && rowFields(check.expression!)
        ? recordRefusal(check.context, rowFields(check.expression!)!)
        : check.interval !== undefined
        ? `PERFORM mz_local.check_refresh_every(${sqlLiteral(check.interval)}); `
        : `BEGIN PERFORM mz_local.check_refresh_time(${sqlLiteral(check.context)}, pg_typeof((${rewriteDialect(check.expression!)})), (${rewriteDialect(check.expression!)})::text); ` +
          `EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_datetime_format OR datetime_field_overflow THEN NULL; END; `,
    )
    .join('');
}

/** The fields of a `ROW(a, b, …)` expression (the whole expression), or null. */
function rowFields(expression: string): string[] | null {
  let tokens;
  try {
    tokens = tokenize(expression);
  } catch {
    return null;
  }
  if (!(tokens[0]?.type === 'word' && tokens[0].value === 'row') || tokens[1]?.type !== 'punct' || tokens[1].value !== '(') return null;
  const fields: string[] = [];
  let start = 2;
  for (let at = 2, depth = 0; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (token.type !== 'punct') continue;
    if (token.value === '(' || token.value === '[') depth++;
    else if ((token.value === ')' || token.value === ']') && depth > 0) depth--;
    else if ((token.value === ',' && depth === 0) || (token.value === ')' && depth === 0)) {
      if (at === start) return null;
      fields.push(expression.slice(tokens[start]!.start, tokens[at - 1]!.end));
      start = at + 1;
      if (token.value === ')') return at === tokens.length - 1 ? fields : null;
    }
  }
  return null;
}

/**
 * A record given where an mz_timestamp is needed: Materialize names the record's field types
 * (materialized_views.slt: `REFRESH AT does not support casting from record(f1: integer,f2:
 * integer) to mz_timestamp`).
 */
function recordRefusal(context: string, fields: string[]): string {
  // A string literal is text to Materialize (PostgreSQL's pg_typeof says unknown).
  const described = fields.map((field, index) => {
    const type = `pg_typeof((${rewriteDialect(field)}))`;
    return `${sqlLiteral(`f${index + 1}: `)} || CASE WHEN ${type} = 'unknown'::regtype THEN 'text' ELSE mz_local.format_type(${type}::oid, NULL) END`;
  });
  return `RAISE EXCEPTION USING ERRCODE = '42846', MESSAGE = ${sqlLiteral(`${context} does not support casting from record(`)} || concat_ws(',', ${described.join(', ')}) || ') to mz_timestamp'; `;
}

function translateWebhookSource(
  statement: Extract<MzStatement, { kind: 'create_webhook_source' }>,
  text: string,
): TranslatedStatement {
  const bodyType = { text: 'text', json: 'jsonb', json_array: 'jsonb', bytes: 'bytea' }[statement.bodyFormat];
  // Materialize's column order: body, then headers, then the INCLUDE HEADER columns as declared.
  const columns = [`body ${bodyType} NOT NULL`];
  if (statement.includeHeaders) columns.push('headers hstore NOT NULL');
  for (const mapped of statement.mappedHeaders) columns.push(`${sqlIdentifier(mapped.column)} ${mapped.bytes ? 'bytea' : 'text'}`);
  const secretRefs = statement.check?.bindings.filter((binding) => binding.kind === 'secret').map((binding) => binding.secret!) ?? [];
  const spec = { includeHeaders: statement.includeHeaders, mappedHeaders: statement.mappedHeaders };
  if (statement.check && !statement.check.referencesColumns) {
    // Materialize refuses a CHECK that names no column, after its type check (webhook.slt): the
    // expression is a constant, so its type is asked of PostgreSQL here.
    const constant = `(${statement.check.expression.replaceAll('($3::timestamptz)', 'now()')})`;
    // Names are resolved first: an unknown secret is reported as such.
    const secretsResolved = secretRefs.map((ref) => `PERFORM mz_local.secret_id(${literalOrNull(ref.database)}, ${literalOrNull(ref.schema)}, ${sqlLiteral(ref.name)}); `).join('');
    return ddl(
      `${secretsResolved}IF pg_typeof${constant}::text <> 'boolean' THEN RAISE EXCEPTION USING MESSAGE = 'CHECK must have type boolean, not type ' || pg_typeof${constant}::text, ERRCODE = '42804'; END IF; ` +
        `RAISE EXCEPTION USING MESSAGE = 'expression provided in CHECK does not reference any columns', ERRCODE = '42P10';`,
      'CREATE SOURCE',
    );
  }
  return ddl(
    `PERFORM mz_local.create_webhook_source(${nameArguments(statement.name)}, ${literalOrNull(statement.cluster)}, ${sqlLiteral(columns.join(', '))}, ${sqlLiteral(statement.bodyFormat)}, ${jsonLiteral(spec)}, ${literalOrNull(statement.check ? checkQuery(statement.check) : null)}, ${jsonLiteral(secretRefs)}, ${statement.ifNotExists}, ${sqlLiteral(text)});`,
    'CREATE SOURCE',
  );
}

/**
 * The query that evaluates a CHECK: $1 is the raw body (bytea), $2 every request header (hstore),
 * $3 the receive time. `{{secret:N}}` stands for the id of the N-th secret, filled in at CREATE
 * time. Also reports whether every secret still exists (a missing one is a 404, not a 400).
 */
export function checkQuery(check: WebhookCheck): string {
  const bindings: string[] = [];
  let secretIndex = 0;
  const secretIds: string[] = [];
  const bound = new Set(check.bindings.map((binding) => binding.kind));
  const all: CheckBinding[] = [...check.bindings];
  // Without a WITH clause (or without these in it), body and headers are still in scope.
  if (!bound.has('body')) all.push({ kind: 'body', alias: 'body', bytes: false });
  if (!bound.has('headers')) all.push({ kind: 'headers', alias: 'headers', bytes: false });
  for (const binding of all) {
    const alias = sqlIdentifier(binding.alias);
    if (binding.kind === 'body') {
      bindings.push(binding.bytes ? `$1::bytea AS ${alias}` : `convert_from($1::bytea, 'UTF8') AS ${alias}`);
    } else if (binding.kind === 'headers') {
      bindings.push(binding.bytes ? `ROW($2::hstore)::mz_local.bytes_map AS ${alias}` : `$2::hstore AS ${alias}`);
    } else {
      const id = `{{secret:${secretIndex++}}}`;
      secretIds.push(id);
      const value = `(SELECT s.value FROM mz_local.secrets s WHERE s.id = ${id})`;
      bindings.push(binding.bytes ? `${value} AS ${alias}` : `convert_from(${value}, 'UTF8') AS ${alias}`);
    }
  }
  bindings.push('$3::timestamptz AS mz_received_at');
  const secretsFound =
    secretIds.length === 0
      ? 'true'
      : `(SELECT count(*) FROM mz_local.secrets s WHERE s.id IN (${secretIds.join(', ')})) = ${secretIds.length}`;
  return `SELECT (${check.expression})::boolean AS ok, ${secretsFound} AS secrets_found FROM (SELECT ${bindings.join(', ')}) AS mz_check_bindings`;
}
