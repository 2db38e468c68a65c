/**
 * Running unit tests (EXECUTE UNIT TEST, see unit-test-parse.ts) on the local server.
 *
 * mz-deploy lowers a test to temporary views — each mock, the expected rows, the view under test
 * with its dependencies renamed to the mocks — and an assertion query whose rows are the
 * mismatches ('MISSING': expected but not produced; 'UNEXPECTED': produced but not expected).
 * Here the same lowering is one query: the views are common table expressions of the assertion.
 * So a test creates nothing, touches nothing deployed, cannot see another test's rows, and tests
 * run side by side on a few connections.
 *
 * Validation, as mz-deploy's (its `lower.rs`): the view under test exists and is a view or
 * materialized view; every dependency it reads is mocked and nothing else is; each mock declares
 * the columns and types of the object it replaces, and EXPECTED those of the view. A failure is
 * reported as such ('validation_failed', at the test's file:line), not as a failing test. The real
 * columns are the local server's description of each model's query over empty relations of its
 * dependencies' columns (sources: from their FORMAT and INCLUDE clauses), cached by checksum.
 * Mock and expected rows take their declared types as Materialize's WITH MUTUALLY RECURSIVE
 * does (mz-deploy's mock views are one): assignment casts, so a text value does not become a
 * timestamp — write '2026-01-01 10:00'::timestamp.
 *
 * `AT TIME t` pins mz_now(): in the test's copy of the view, mz_now() becomes t as a timestamptz
 * (mz_now() is a timestamptz on the local server; Materialize compares mz_timestamp with
 * timestamps the same way, in UTC). Without AT TIME, mz_now() is the wall clock.
 */
import pg from 'pg';
import type { CompiledNode, CompiledProject } from '../compile.ts';
import { didYouMean, type SourceLocation } from '../errors.ts';
import { codeOnly, quoteIdentifier, unquoteIdentifier } from '../../shared/sql-scan.ts';
import type { SessionConfig } from '../deploy/sql-session.ts';
import { connectTarget } from '../deploy/target-connection.ts';
import { startLocalServer } from '../../local/embedded.ts';
import type { TestResult } from './test-runner.ts';
import type { UnitTestColumn, UnitTestDefinition, UnitTestMock, UnitTestRelation } from './unit-test-parse.ts';

/** A column as the database has it: its name, its type for people and comparisons, and for casts. */
export interface RelationColumn {
  readonly name: string;
  /** Normalized as mz-deploy compares types (`integer`, `timestamp without time zone`, `map[text=>text]`…). */
  readonly type: string;
  /** The local server's spelling, for casts. */
  readonly pgType: string;
}

const RELATION_KINDS = new Set(['source', 'view', 'materialized_view', 'table']);

export interface UnitRunOptions {
  readonly failFast?: boolean;
  readonly onResult?: (result: TestResult) => void;
}

/** Where unit tests run: a local server (the target's, or one started in memory). */
export interface UnitTestServer {
  readonly config: SessionConfig;
  close(): Promise<void>;
}

/**
 * Unit tests run on the local target's server; for any other target on a local server started in
 * this process, in memory (unit tests read no data of the target).
 */
export async function openUnitTestServer(project: CompiledProject, localConfig?: SessionConfig): Promise<UnitTestServer> {
  if (localConfig) return { config: localConfig, close: async () => {} };
  if (project.target.type === 'local') {
    const connection = await connectTarget(project.target);
    return { config: connection.config, close: () => connection.close() };
  }
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0, ephemeral: true });
  return { config: { connectionString: server.pgUrl }, close: () => server.stop() };
}

export class UnitTestRunner {
  private readonly idle: pg.Client[] = [];
  private readonly all: pg.Client[] = [];
  private readonly waiting: Array<(client: pg.Client) => void> = [];
  /** Real columns of a relation, by name and the checksums it was computed from. */
  private readonly columnCache = new Map<string, Promise<RelationColumn[] | undefined>>();
  private readonly typeNames = new Map<number, string>(KNOWN_TYPES);

  constructor(
    private readonly config: SessionConfig,
    /** Tests run at once, each on a connection of its own. */
    readonly connections = 3,
  ) {}

  async close(): Promise<void> {
    await Promise.all(this.all.map((client) => client.end().catch(() => {})));
    this.all.length = 0;
    this.idle.length = 0;
  }

  /** Runs `tests` (unit test nodes) in parallel; results in the order given. */
  async run(project: CompiledProject, tests: readonly CompiledNode[], options: UnitRunOptions = {}): Promise<TestResult[]> {
    const results: (TestResult | undefined)[] = new Array(tests.length);
    let next = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && next < tests.length) {
        const index = next++;
        const result = await this.runOne(project, tests[index]!);
        results[index] = result;
        options.onResult?.(result);
        if (options.failFast && (result.status === 'fail' || result.status === 'error')) stop = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.connections, tests.length) }, worker));
    return results.filter((result): result is TestResult => result !== undefined);
  }

  async runOne(project: CompiledProject, node: CompiledNode): Promise<TestResult> {
    const started = performance.now();
    const definition = node.test!.unit!;
    const base = {
      name: node.name,
      model: node.test!.model ?? null,
      kind: 'unit' as const,
      severity: 'error' as const,
      source: 'query' as const,
      location: node.test!.location,
      sample: [],
    };
    const invalid = (messages: readonly string[], location: SourceLocation = definition.location, hint?: string): TestResult => ({
      ...base,
      status: 'error',
      failures: 0,
      outcome: 'validation_failed',
      ms: performance.now() - started,
      error: { message: `validation failed: ${messages.join('; ')}`, location, hint },
    });
    try {
      const lowered = await this.lower(project, definition);
      if ('problems' in lowered) return invalid(lowered.problems, lowered.location ?? definition.location, lowered.hint);
      const rows = await this.withClient((client) => client.query<{ kind: string; status: string; data: unknown }>(lowered.sql));
      // Declared types are assignment casts (WITH MUTUALLY RECURSIVE): check what each query returned.
      const problems: string[] = [];
      let problemAt: SourceLocation | undefined;
      for (const row of rows.rows) {
        if (row.kind !== 'types') continue;
        const relation = lowered.relations[Number(row.status)]!;
        const returned = (row.data as string[]).map((type) => normalizeType(pgTypeName(type)));
        const mismatched = relation.declared.some((column, index) => !assignable(returned[index]!, normalizeType(column.type)));
        if (mismatched) {
          problems.push(`${relation.what} declared types (${relation.declared.map((column) => column.type).join(', ')}), but its query returns types (${returned.join(', ')})`);
          problemAt ??= relation.location;
        }
      }
      if (problems.length) return invalid(problems, problemAt, "cast the query's values to the declared types, e.g. '2026-01-01 10:00'::timestamp, 42::bigint");
      const order = lowered.compared.map((column) => column.name);
      const missing: Record<string, unknown>[] = [];
      const unexpected: Record<string, unknown>[] = [];
      for (const row of rows.rows) {
        if (row.kind !== 'row') continue;
        const data = row.data as Record<string, unknown>;
        const ordered = Object.fromEntries(order.map((name) => [name, data[name] ?? null]));
        (row.status === 'MISSING' ? missing : unexpected).push(ordered);
      }
      const failures = missing.length + unexpected.length;
      return {
        ...base,
        status: failures === 0 ? 'pass' : 'fail',
        failures,
        outcome: failures === 0 ? 'passed' : 'failed',
        missing: sortRows(missing),
        unexpected: sortRows(unexpected),
        ms: performance.now() - started,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/columns available but|invalid input syntax for type timestamp|date\/time field value out of range|time zone .* not recognized/.test(message)) {
        const atTime = /timestamp|date\/time|time zone/.test(message) && definition.atTime !== undefined;
        return invalid([atTime ? `AT TIME ${definition.atTime} is not a timestamp: ${message}` : message], definition.location, atTime ? "write AT TIME '2026-01-15 10:00:00'" : 'declare as many columns as the query returns');
      }
      return {
        ...base,
        status: 'error',
        failures: 0,
        outcome: 'failed',
        ms: performance.now() - started,
        error: { message, location: definition.location, hint: undefined },
      };
    }
  }

  /** Validates a test and writes its one query, or says what is wrong with it. */
  private async lower(
    project: CompiledProject,
    test: UnitTestDefinition,
  ): Promise<
    | { problems: string[]; location?: SourceLocation; hint?: string }
    | { sql: string; relations: { what: string; declared: readonly UnitTestColumn[]; location: SourceLocation }[]; compared: readonly UnitTestColumn[] }
  > {
    const database = project.target.database;
    const target = resolveTarget(project, test);
    if ('problem' in target) return { problems: [target.problem], location: test.target.location, ...(target.hint ? { hint: target.hint } : {}) };
    const targetNode = target.node;
    const targetKey = `${database}.${targetNode.schema}.${targetNode.name}`;

    // Every dependency the view reads is mocked, and nothing else is.
    const dependencies = (project.dependencies.get(targetNode.name) ?? []).map((name) => project.nodes.get(name)!).filter((node) => RELATION_KINDS.has(node.kind));
    const byKey = new Map(dependencies.map((node) => [`${database}.${node.schema}.${node.name}`, node]));
    const mocked = new Map<string, UnitTestMock>();
    const problems: string[] = [];
    let location: SourceLocation | undefined;
    for (const mock of test.mocks) {
      const key = qualify(mock.parts, database, targetNode.schema);
      if (mocked.has(key)) {
        problems.push(`${key} is mocked twice`);
        location ??= mock.location;
      } else if (!byKey.has(key)) {
        problems.push(`MOCK ${key}: ${targetKey} does not read it${didYouMean(key, byKey.keys())}`);
        location ??= mock.location;
      }
      mocked.set(key, mock);
    }
    const unmocked = [...byKey.keys()].filter((key) => !mocked.has(key));
    if (unmocked.length) {
      problems.unshift(`${targetKey} reads ${unmocked.join(', ')}, which ${unmocked.length === 1 ? 'is' : 'are'} not mocked`);
      location = test.location;
    }
    if (problems.length) {
      return { problems, location: location ?? test.location, hint: unmocked.length ? `every dependency of the view is mocked: add MOCK ${unmocked[0]}(<column> <type>, …) AS (<query>)` : 'mock only what the view reads' };
    }

    // Columns and types, against the real objects.
    const ctes: string[] = [];
    const relations: { what: string; declared: readonly UnitTestColumn[]; location: SourceLocation }[] = [];
    const typeChecks: string[] = [];
    const replacements = new Map<string, string>();
    for (const [key, mock] of mocked) {
      const dependency = byKey.get(key)!;
      const real = await this.relationColumns(project, dependency.name);
      const mismatch = compareColumns(mock, real);
      if (mismatch) {
        problems.push(`MOCK ${key}: ${mismatch}`);
        location ??= mock.location;
        continue;
      }
      const index = relations.length;
      const raw = quoteIdentifier(`raw ${index}`);
      const flat = quoteIdentifier(key);
      const columns = mock.open ? real! : mock.columns.map((column) => ({ name: column.name, type: normalizeType(column.type), pgType: castType(column.type) }));
      const declared = new Map(mock.columns.map((column) => [column.name, column]));
      const select = columns
        .map((column) => (declared.has(column.name) ? `CAST(d.${quoteIdentifier(column.name)} AS ${castType(declared.get(column.name)!.type)})` : `CAST(NULL AS ${column.pgType})`) + ` AS ${quoteIdentifier(column.name)}`)
        .join(', ');
      ctes.push(`${raw} AS (\n${localTypes(mock.query)}\n)`);
      ctes.push(`${flat} AS (SELECT ${select} FROM ${raw} AS d(${mock.columns.map((column) => quoteIdentifier(column.name)).join(', ')}))`);
      relations.push({ what: `MOCK ${key}`, declared: mock.columns, location: mock.location });
      typeChecks.push(typeCheck(index, raw, mock.columns));
      replacements.set(key, flat);
    }
    const realTarget = await this.relationColumns(project, targetNode.name);
    const expectedMismatch = compareColumns(test.expected, realTarget);
    if (expectedMismatch) {
      problems.push(`EXPECTED: ${expectedMismatch}`);
      location ??= test.expected.location;
    }
    if (problems.length) return { problems, location: location ?? test.location, hint: 'declare the columns and types the real object has (models:test prints them above)' };

    const expectedIndex = relations.length;
    relations.push({ what: 'EXPECTED', declared: test.expected.columns, location: test.expected.location });
    const compared = test.expected.columns;
    const names = compared.map((column) => quoteIdentifier(column.name)).join(', ');
    ctes.push(`"raw expected" AS (\n${localTypes(test.expected.query)}\n)`);
    ctes.push(
      `expected AS (SELECT ${compared.map((column) => `CAST(d.${quoteIdentifier(column.name)} AS ${castType(column.type)}) AS ${quoteIdentifier(column.name)}`).join(', ')} FROM "raw expected" AS d(${names}))`,
    );
    typeChecks.push(typeCheck(expectedIndex, '"raw expected"', compared));
    const flatTarget = quoteIdentifier(targetKey);
    ctes.push(`${flatTarget} AS (\n${rewriteQuery(modelQuery(targetNode), database, replacements, test.atTime === undefined ? undefined : pinnedTime(test.atTime))}\n)`);
    // mz-deploy's assertion: rows of one side missing from the other, classified. It compares
    // `SELECT *` of both sides, so by position: EXPECTED's columns in its own order against the
    // view's in the view's order (the same as by name when the orders agree). With '...', by name.
    const viewNames = !test.expected.open && realTarget && realTarget.length === compared.length ? realTarget.map((column) => quoteIdentifier(column.name)).join(', ') : names;
    ctes.push(
      `assertion AS (\nSELECT 'MISSING' AS mz_unit_status, ${names} FROM expected\nEXCEPT\nSELECT 'MISSING', ${viewNames} FROM ${flatTarget}\nUNION ALL\nSELECT 'UNEXPECTED' AS mz_unit_status, ${viewNames} FROM ${flatTarget}\nEXCEPT\nSELECT 'UNEXPECTED', ${names} FROM expected\n)`,
    );
    const sql = `WITH ${ctes.join(',\n')}\nSELECT 'row' AS kind, a.mz_unit_status AS status, to_jsonb(a) - 'mz_unit_status' AS data FROM assertion AS a\n${typeChecks.map((check) => `UNION ALL ${check}`).join('\n')}`;
    return { sql, relations, compared };
  }

  /**
   * The real columns of a model: sources from their clauses, views from the local server's
   * description of their query over empty relations of their dependencies' columns. Undefined
   * when they cannot be known (a source kind not read here, or a dependency of unknown columns).
   */
  async relationColumns(project: CompiledProject, name: string): Promise<RelationColumn[] | undefined> {
    const node = project.nodes.get(name);
    if (!node) return undefined;
    const key = this.columnsKey(project, node);
    let cached = this.columnCache.get(key);
    if (!cached) {
      cached = this.describe(project, node).catch(() => undefined);
      this.columnCache.set(key, cached);
    }
    return cached;
  }

  private columnsKey(project: CompiledProject, node: CompiledNode): string {
    const parts = [`${node.name}:${node.checksum}`];
    const seen = new Set<string>([node.name]);
    const stack = [...(project.dependencies.get(node.name) ?? [])];
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const dependency = project.nodes.get(name);
      if (!dependency) continue;
      parts.push(`${name}:${dependency.checksum}`);
      stack.push(...(project.dependencies.get(name) ?? []));
    }
    return parts.sort().join('|');
  }

  private async describe(project: CompiledProject, node: CompiledNode): Promise<RelationColumn[] | undefined> {
    if (node.kind === 'source') return sourceColumns(node.sql);
    if (node.kind !== 'view' && node.kind !== 'materialized_view') return undefined;
    const database = project.target.database;
    const ctes: string[] = [];
    const replacements = new Map<string, string>();
    for (const name of project.dependencies.get(node.name) ?? []) {
      const dependency = project.nodes.get(name)!;
      if (!RELATION_KINDS.has(dependency.kind)) continue;
      const columns = await this.relationColumns(project, name);
      if (!columns) return undefined;
      const key = `${database}.${dependency.schema}.${dependency.name}`;
      replacements.set(key, quoteIdentifier(key));
      ctes.push(`${quoteIdentifier(key)} AS (SELECT ${columns.map((column) => `CAST(NULL AS ${column.pgType}) AS ${quoteIdentifier(column.name)}`).join(', ')} WHERE false)`);
    }
    const query = rewriteQuery(modelQuery(node), database, replacements, undefined);
    const sql = `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}SELECT * FROM (\n${query}\n) AS q LIMIT 0`;
    const result = await this.withClient((client) => client.query(sql));
    await this.nameTypes(result.fields.map((field) => field.dataTypeID));
    return result.fields.map((field) => {
      const pgType = this.typeNames.get(field.dataTypeID) ?? 'text';
      return { name: field.name, type: normalizeType(pgTypeName(pgType)), pgType };
    });
  }

  private async nameTypes(oids: readonly number[]): Promise<void> {
    const unknown = [...new Set(oids.filter((oid) => !this.typeNames.has(oid)))];
    if (unknown.length === 0) return;
    const result = await this.withClient((client) => client.query<{ oid: string; name: string }>(`SELECT oid::text AS oid, format_type(oid, NULL) AS name FROM pg_catalog.pg_type WHERE oid::text = ANY($1::text[])`, [unknown.map(String)]));
    for (const row of result.rows) this.typeNames.set(Number(row.oid), row.name);
  }

  private async withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await work(client);
    } finally {
      const waiter = this.waiting.shift();
      if (waiter) waiter(client);
      else this.idle.push(client);
    }
  }

  private async acquire(): Promise<pg.Client> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.length < this.connections) {
      const client = new pg.Client({ application_name: 'segment-materialize unit tests', ...this.config });
      client.on('error', () => {});
      this.all.push(client);
      await client.connect();
      return client;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

function resolveTarget(project: CompiledProject, test: UnitTestDefinition): { node: CompiledNode } | { problem: string; hint?: string } {
  const parts = test.target.parts;
  const database = project.target.database;
  const candidates = [...project.nodes.values()].filter((node) => RELATION_KINDS.has(node.kind));
  const found = candidates.find((node) => {
    if (parts.length === 3) return parts[0] === database && parts[1] === node.schema && parts[2] === node.name;
    if (parts.length === 2) return parts[0] === node.schema && parts[1] === node.name;
    return parts[0] === node.name;
  });
  if (!found) {
    const names = candidates.map((node) => `${database}.${node.schema}.${node.name}`);
    const written = parts.length === 3 ? parts.join('.') : parts.length === 2 ? `${database}.${parts.join('.')}` : parts[0]!;
    return { problem: `FOR ${test.target.written}: no view or materialized view ${written} in the project${didYouMean(written, names)}`, hint: 'name the view under test as <database>.<schema>.<view>, or {{ref.<model>}}' };
  }
  if (found.kind !== 'view' && found.kind !== 'materialized_view') {
    return { problem: `FOR ${test.target.written}: unit tests are only supported on views and materialized views; it is a ${found.kind}` };
  }
  return { node: found };
}

/** `parts` (1 to 3) as database.schema.name, relative to the view under test. */
function qualify(parts: readonly string[], database: string, schema: string): string {
  if (parts.length === 3) return parts.join('.');
  if (parts.length === 2) return `${database}.${parts.join('.')}`;
  return `${database}.${schema}.${parts[0]}`;
}

/** mz-deploy's compare_columns: extra, missing (unless the list ends with `...`) and retyped columns. */
function compareColumns(declared: UnitTestRelation, real: readonly RelationColumn[] | undefined): string | undefined {
  if (!real) {
    return declared.open ? "its real columns are not known here, so '...' cannot stand for them: declare every column" : undefined;
  }
  const realByName = new Map(real.map((column) => [column.name, column]));
  const names = new Set(declared.columns.map((column) => column.name));
  const extra = declared.columns.filter((column) => !realByName.has(column.name)).map((column) => column.name);
  const missing = declared.open ? [] : real.filter((column) => !names.has(column.name));
  const retyped = declared.columns.flatMap((column) => {
    const actual = realByName.get(column.name);
    if (!actual) return [];
    const a = normalizeType(column.type);
    return a === actual.type || bareContainerMatch(a, actual.type) ? [] : [`${column.name} is ${actual.type}, not ${column.type}`];
  });
  if (!extra.length && !missing.length && !retyped.length) return undefined;
  const parts = [
    ...(missing.length ? [`missing column${missing.length === 1 ? '' : 's'} ${missing.map((column) => `${column.name} ${column.type}`).join(', ')}`] : []),
    ...(extra.length ? [`no column${extra.length === 1 ? '' : 's'} ${extra.join(', ')}${didYouMean(extra[0]!, realByName.keys())}`] : []),
    ...retyped,
  ];
  return `${parts.join('; ')} (the real columns: ${real.map((column) => `${column.name} ${column.type}`).join(', ')})`;
}

function bareContainerMatch(a: string, b: string): boolean {
  return (a === 'list' && b.endsWith(' list')) || (b === 'list' && a.endsWith(' list')) || (a === '[]' && b.endsWith('[]')) || (a === 'map' && b.startsWith('map[')) || (b === 'map' && a.startsWith('map['));
}

/** A row of pg_typeof() for each column a mock's (or EXPECTED's) query returns. */
function typeCheck(index: number, raw: string, columns: readonly UnitTestColumn[]): string {
  const alias = columns.map((column) => quoteIdentifier(column.name)).join(', ');
  const types = columns.map((column) => `pg_typeof(d.${quoteIdentifier(column.name)})::text`).join(', ');
  return `SELECT 'types', '${index}', to_jsonb(ARRAY[${types}]) FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM ${raw} LIMIT 1) AS d(${alias}) ON true`;
}

/** The query of a view or materialized view: its compiled statement after the CREATE head. */
export function modelQuery(node: CompiledNode): string {
  return node.sql.split('\n').slice(node.bodyLine.sqlLine - 1).join('\n');
}

const NAME_PART = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = new RegExp(String.raw`(?<![A-Za-z0-9_$."])${NAME_PART}(?:\s*\.\s*${NAME_PART}){1,2}`, 'g');
const PART = new RegExp(NAME_PART, 'g');
const MZ_NOW = /(?<![A-Za-z0-9_$."])(?:(?:mz_catalog|pg_catalog)\s*\.\s*)?mz_now\s*\(\s*\)/gi;

/**
 * The model's query reading the relations in `replacements` (database.schema.name → the name to
 * read instead) and, when given, with mz_now() pinned. Only code is rewritten, never strings or
 * comments.
 */
export function rewriteQuery(query: string, database: string, replacements: ReadonlyMap<string, string>, pinnedNow: string | undefined): string {
  const code = codeOnly(query);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const match of code.matchAll(QUALIFIED)) {
    const spans = [...match[0].matchAll(PART)].map((part) => ({ text: unquoteIdentifier(part[0]), end: match.index + part.index + part[0].length }));
    const three = spans.length === 3 ? replacements.get(spans.map((span) => span.text).join('.')) : undefined;
    if (three) {
      edits.push({ start: match.index, end: spans[2]!.end, text: three });
      continue;
    }
    const two = replacements.get(`${database}.${spans[0]!.text}.${spans[1]!.text}`);
    if (two) edits.push({ start: match.index, end: spans[1]!.end, text: two });
  }
  if (pinnedNow !== undefined) for (const match of code.matchAll(MZ_NOW)) edits.push({ start: match.index, end: match.index + match[0].length, text: pinnedNow });
  edits.sort((a, b) => a.start - b.start);
  let output = '';
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) continue;
    output += query.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return output + query.slice(at);
}

/**
 * AT TIME as the timestamptz mz_now() returns on the local server. Materialize reads
 * `'<t>'::mz_timestamp` as milliseconds since the epoch when t is a number, else as a timestamp
 * (UTC when no zone is given).
 */
export function pinnedTime(atTime: string): string {
  const literal = /^'((?:[^']|'')*)'$/.exec(atTime.trim());
  const value = literal ? literal[1]!.replace(/''/g, "'") : undefined;
  if (value === undefined) {
    return /^\d+$/.test(atTime.trim()) ? `to_timestamp(${atTime.trim()} / 1000.0)` : `CAST((${atTime}) AS timestamptz)`;
  }
  const text = `'${value.replace(/'/g, "''")}'`;
  if (/^\s*\d+\s*$/.test(value)) return `to_timestamp(${value.trim()} / 1000.0)`;
  if (/(?:Z|[+-]\d{1,2}(?::?\d{2})?|\s[A-Za-z][A-Za-z_/+-]*)\s*$/i.test(value.trim())) return `CAST(${text} AS timestamptz)`;
  return `(CAST(${text} AS timestamp) AT TIME ZONE 'UTC')`;
}

/** Columns of a source, from its clauses (webhook and Kafka FORMAT BYTES/TEXT/JSON without INCLUDE). */
export function sourceColumns(sql: string): RelationColumn[] | undefined {
  const code = codeOnly(sql);
  const column = (name: string, type: string, pgType = type): RelationColumn => ({ name, type, pgType });
  if (/\bFROM\s+WEBHOOK\b/i.test(code)) {
    const format = /\bBODY\s+FORMAT\s+(JSON\s+ARRAY|JSON|TEXT|BYTES)\b/i.exec(code)?.[1]?.toUpperCase().replace(/\s+/g, ' ');
    if (!format) return undefined;
    const columns = [column('body', format.startsWith('JSON') ? 'jsonb' : format === 'TEXT' ? 'text' : 'bytea')];
    // The CHECK clause has its own HEADERS binding: only INCLUDE clauses before it count.
    const clauses = sql.slice(0, code.search(/\bCHECK\s*\(/i) === -1 ? sql.length : code.search(/\bCHECK\s*\(/i));
    if (/\bINCLUDE\s+HEADERS\b/i.test(codeOnly(clauses))) columns.push(column('headers', 'map[text=>text]', 'hstore'));
    for (const match of clauses.matchAll(/\bINCLUDE\s+HEADER\s+'(?:[^']|'')*'\s+AS\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(\s+BYTES\b)?/gi)) {
      columns.push(column(unquoteIdentifier(match[1]!), match[2] ? 'bytea' : 'text'));
    }
    return columns;
  }
  if (/\bFROM\s+KAFKA\b/i.test(code) && !/\bINCLUDE\b|\bENVELOPE\b|\bKEY\s+FORMAT\b/i.test(code)) {
    const format = /\bFORMAT\s+(BYTES|TEXT|JSON)\s*$/i.exec(code.trim())?.[1]?.toUpperCase();
    if (format === 'BYTES') return [column('data', 'bytea')];
    if (format === 'TEXT') return [column('text', 'text')];
    if (format === 'JSON') return [column('data', 'jsonb')];
  }
  return undefined;
}

/**
 * A mock's or EXPECTED's query with Materialize's type names the local server does not know in
 * casts (`::map[text=>text]`, `::mz_timestamp`) spelled its way; code only.
 */
export function localTypes(query: string): string {
  query = bareValues(query);
  if (!/map\s*\[|mz_timestamp/i.test(query)) return query;
  const code = codeOnly(query);
  let output = '';
  let at = 0;
  for (const match of code.matchAll(/\bmap\s*\[\s*text\s*=>\s*text\s*\]|\bmz_timestamp\b/gi)) {
    output += query.slice(at, match.index) + (match[0].toLowerCase().startsWith('map') ? 'hstore' : 'timestamptz');
    at = match.index + match[0].length;
  }
  return output + query.slice(at);
}

/**
 * `FROM VALUES (…), (…)` — how mz-deploy's documentation writes mock and expected rows — as
 * PostgreSQL wants it: `FROM (VALUES (…), (…)) AS "values"`. Code only; the rows are untouched.
 */
export function bareValues(query: string): string {
  if (!/\bVALUES\b/i.test(query)) return query;
  const code = codeOnly(query);
  const edits: { start: number; end: number }[] = [];
  for (const match of code.matchAll(/\bFROM\s+(VALUES)\s*\(/gi)) {
    const start = match.index + match[0].length - match[0].slice(match[0].toUpperCase().indexOf('VALUES')).length;
    let at = match.index + match[0].length - 1;
    let end = -1;
    for (;;) {
      let depth = 0;
      let close = -1;
      for (let index = at; index < code.length; index++) {
        if (code[index] === '(') depth++;
        else if (code[index] === ')' && --depth === 0) {
          close = index;
          break;
        }
      }
      if (close === -1) break;
      end = close + 1;
      const next = /^\s*,\s*\(/.exec(code.slice(end));
      if (!next) break;
      at = end + next[0].length - 1;
    }
    if (end !== -1) edits.push({ start, end });
  }
  let output = '';
  let at = 0;
  for (const edit of edits) {
    output += `${query.slice(at, edit.start)}(${query.slice(edit.start, edit.end)}) AS "values"`;
    at = edit.end;
  }
  return output + query.slice(at);
}

/** A declared (Materialize) type as the local server spells it in a cast. */
function castType(type: string): string {
  const normalized = normalizeType(type);
  if (normalized === 'map[text=>text]') return 'hstore';
  if (normalized === 'mz_timestamp') return 'timestamptz';
  if (normalized.endsWith(' list')) return `${castType(normalized.slice(0, -5))}[]`;
  if (normalized === 'text' || normalized === 'double precision' || normalized === 'jsonb') return normalized;
  return type;
}

/** The local server's (PostgreSQL's) type names, in Materialize's words. */
function pgTypeName(type: string): string {
  if (type === 'hstore') return 'map[text=>text]';
  if (type === 'unknown') return 'text';
  return type;
}

/** mz-deploy's normalize_type: aliases of one type compare equal. */
export function normalizeType(type: string): string {
  const normalized = type.trim().toLowerCase().replace(/\s+/g, ' ');
  if (normalized.endsWith(' list') && normalized.length > 5) return `${normalizeType(normalized.slice(0, -5))} list`;
  if (normalized.endsWith('[]') && normalized.length > 2) return `${normalizeType(normalized.slice(0, -2))}[]`;
  const map = /^map\[(.+)=>(.+)\]$/.exec(normalized);
  if (map) return `map[${normalizeType(map[1]!)}=>${normalizeType(map[2]!)}]`;
  switch (normalized) {
    case 'int':
    case 'int4':
    case 'integer':
      return 'integer';
    case 'int8':
    case 'bigint':
      return 'bigint';
    case 'int2':
    case 'smallint':
      return 'smallint';
    case 'float4':
    case 'real':
      return 'real';
    case 'float':
    case 'float8':
    case 'double':
    case 'double precision':
      return 'double precision';
    case 'bool':
    case 'boolean':
      return 'boolean';
    case 'string':
    case 'text':
    case 'varchar':
    case 'character varying':
      return 'text';
    case 'decimal':
    case 'numeric':
      return 'numeric';
    case 'json':
    case 'jsonb':
      return 'jsonb';
    case 'timestamp':
    case 'timestamp without time zone':
      return 'timestamp without time zone';
    case 'timestamptz':
    case 'timestamp with time zone':
      return 'timestamp with time zone';
    case 'hstore':
      return 'map[text=>text]';
  }
  if (normalized.startsWith('varchar') || normalized.startsWith('character varying')) return 'text';
  if (normalized.startsWith('numeric') || normalized.startsWith('decimal')) return 'numeric';
  if (normalized.startsWith('timestamp with time zone') || normalized.startsWith('timestamptz')) return 'timestamp with time zone';
  if (normalized.startsWith('timestamp')) return 'timestamp without time zone';
  return normalized;
}

const NUMBERS = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);
const TIMES = new Set(['date', 'timestamp without time zone', 'timestamp with time zone']);

/**
 * Whether a value of type `from` takes type `to` by an assignment cast (what Materialize applies to
 * a WITH MUTUALLY RECURSIVE binding's declared columns): the same type, numbers to numbers, dates
 * and timestamps to timestamps, anything to text. Never text to anything else.
 */
function assignable(from: string, to: string): boolean {
  if (from === to || bareContainerMatch(from, to)) return true;
  if (to === 'text') return true;
  if (NUMBERS.has(from) && NUMBERS.has(to)) return true;
  if (TIMES.has(from) && TIMES.has(to) && to !== 'date') return true;
  return false;
}

function sortRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.sort((a, b) => {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Type OIDs every PostgreSQL has, so most descriptions need no catalog lookup. */
const KNOWN_TYPES: [number, string][] = [
  [16, 'boolean'],
  [17, 'bytea'],
  [20, 'bigint'],
  [21, 'smallint'],
  [23, 'integer'],
  [25, 'text'],
  [700, 'real'],
  [701, 'double precision'],
  [705, 'text'],
  [1043, 'text'],
  [1082, 'date'],
  [1083, 'time without time zone'],
  [1114, 'timestamp without time zone'],
  [1184, 'timestamp with time zone'],
  [1186, 'interval'],
  [1700, 'numeric'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
  [1000, 'boolean[]'],
  [1005, 'smallint[]'],
  [1007, 'integer[]'],
  [1009, 'text[]'],
  [1016, 'bigint[]'],
  [3807, 'jsonb[]'],
];
