/**
 * The Materialize SQL each kind of model compiles to. A model body holds the part of the statement
 * that is the user's (a query, a `FROM WEBHOOK …` clause, cluster options); the runner writes the
 * `CREATE …` head from the model's name and config, so names and clusters are never hand-typed
 * twice. Pure functions: no I/O, no database.
 */
import { ProjectError, type SourceLocation } from './errors.ts';
import type { IndexConfig, ModelKind } from './model-config.ts';
import { codeOnly, leadingCode, quoteIdentifier, statementSeparator } from '../shared/sql-scan.ts';

/** A schema-qualified relation name that renders itself quoted, as `{{ref.x}}` and `{{this}}` do. */
export class SqlRelation {
  readonly qualified: string;
  constructor(
    readonly name: string,
    readonly schema: string,
  ) {
    this.qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
  }
  toString(): string {
    return this.qualified;
  }
}

export interface StatementInput {
  readonly name: string;
  readonly kind: ModelKind;
  readonly schema: string;
  /** The cluster the object runs in (sources and materialized views). */
  readonly cluster: string;
  /** The rendered template body. */
  readonly body: string;
  /** Secrets: the environment variable whose value is bound at deploy time. */
  readonly secretEnv?: string;
  /** Where the body starts, for lint errors. */
  readonly location: SourceLocation;
}

/** What the body of each kind must start with, and an example for the error message. */
const BODY_SHAPE: Record<Exclude<ModelKind, 'secret'>, { start: RegExp; expected: string }> = {
  cluster: { start: /^\(/, expected: "the cluster options, e.g. (SIZE = '25cc')" },
  connection: { start: /^TO\b/i, expected: "the connection clause, e.g. TO KAFKA (BROKER '…', …)" },
  source: { start: /^FROM\b/i, expected: 'the source clause, e.g. FROM WEBHOOK BODY FORMAT JSON' },
  view: { start: /^(?:SELECT|WITH|VALUES|TABLE|\()/i, expected: 'a query (SELECT …, WITH …)' },
  materialized_view: { start: /^(?:SELECT|WITH|VALUES|TABLE|\()/i, expected: 'a query (SELECT …, WITH …)' },
};

/**
 * The placeholder a secret's compiled SQL carries instead of its value. It is psql's variable
 * syntax, so `psql -v NAME=value -f target/compiled/x.sql` works, and if it is ever sent as is it
 * is a syntax error rather than a wrong secret.
 */
export function secretPlaceholder(envName: string): string {
  return `:'${envName}'`;
}

export interface Statement {
  readonly sql: string;
  /** 1-based line of `sql` where the body starts. */
  readonly bodySqlLine: number;
  /** Lines dropped from the top of the rendered body (blank lines before the SQL). */
  readonly bodyLinesSkipped: number;
}

/** Checks the body's shape for its kind and returns the full statement. */
export function buildStatement(input: StatementInput): Statement {
  const { body, linesSkipped } = trimBody(input.body, input);
  const head = statementHead(input);
  return { sql: head + body, bodySqlLine: countLines(head), bodyLinesSkipped: linesSkipped };
}

function statementHead(input: StatementInput): string {
  const name = `${quoteIdentifier(input.schema)}.${quoteIdentifier(input.name)}`;
  switch (input.kind) {
    case 'cluster':
      return `CREATE CLUSTER ${quoteIdentifier(input.name)} `;
    case 'secret':
      return `CREATE SECRET IF NOT EXISTS ${name} AS ${secretPlaceholder(input.secretEnv ?? '')}`;
    case 'connection':
      return `CREATE CONNECTION ${name} `;
    case 'source':
      return `CREATE SOURCE ${name}\n  IN CLUSTER ${quoteIdentifier(input.cluster)}\n`;
    case 'view':
      return `CREATE VIEW ${name} AS\n`;
    case 'materialized_view':
      return `CREATE MATERIALIZED VIEW ${name}\n  IN CLUSTER ${quoteIdentifier(input.cluster)} AS\n`;
  }
}

function countLines(text: string): number {
  let lines = 1;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lines++;
  return lines;
}

/** Strips blank lines around the body and one trailing `;`, and lints the body for its kind. */
function trimBody(rawBody: string, input: StatementInput): { body: string; linesSkipped: number } {
  const start = /^(?:[ \t]*\r?\n)*/.exec(rawBody)![0];
  // endsWith, not replace(/;$/): an unanchored-start regex tries every position of a 1 KB body.
  let body = rawBody.slice(start.length).trimEnd();
  if (body.endsWith(';')) body = body.slice(0, -1).trimEnd();
  const linesSkipped = countLines(start) - 1;
  // Lint on code only: comments and strings may say anything.
  const firstCode = leadingCode(body);
  if (input.kind === 'secret') {
    if (firstCode !== '') {
      throw new ProjectError(
        'a secret model has no body: its value comes from the environment',
        input.location,
        `remove the SQL and map the secret to an environment variable under secrets: in project.yml`,
      );
    }
    return { body: '', linesSkipped };
  }
  const shape = BODY_SHAPE[input.kind];
  if (firstCode === '') {
    throw new ProjectError(`this ${input.kind} model is empty`, input.location, `write ${shape.expected}`);
  }
  if (/^CREATE\b/i.test(firstCode)) {
    throw new ProjectError(
      `write only ${shape.expected}: the runner writes the CREATE statement from the model's name and config`,
      input.location,
      `remove the CREATE … line; set kind and cluster in the front matter`,
    );
  }
  if (!shape.start.test(firstCode)) {
    throw new ProjectError(`a ${input.kind} model's body must be ${shape.expected}`, input.location, `check the model's kind (now '${input.kind}') and its first line`);
  }
  if (body.includes(';') && statementSeparator(codeOnly(body)) !== -1) {
    throw new ProjectError('a model holds exactly one statement, but this body has a `;` before its end', input.location, 'move the other statement into a model of its own');
  }
  return { body, linesSkipped };
}

export interface IndexStatement {
  readonly name: string;
  readonly cluster: string;
  readonly sql: string;
}

/** `CREATE [DEFAULT] INDEX … IN CLUSTER … ON …`, in the form `SHOW CREATE INDEX` prints. */
export function buildIndexStatement(model: { name: string; schema: string; cluster: string }, index: IndexConfig): IndexStatement {
  const cluster = index.cluster ?? model.cluster;
  const on = `${quoteIdentifier(model.schema)}.${quoteIdentifier(model.name)}`;
  if ('default' in index) {
    const name = index.name ?? `${model.name}_primary_idx`;
    return { name, cluster, sql: `CREATE DEFAULT INDEX ${quoteIdentifier(name)} IN CLUSTER ${quoteIdentifier(cluster)} ON ${on}` };
  }
  const name = index.name ?? `${model.name}_${index.columns.map(slug).join('_')}_idx`;
  const columns = index.columns.map((column) => (/^[a-z_][a-z0-9_]*$/.test(column) ? quoteIdentifier(column) : column)).join(', ');
  return { name, cluster, sql: `CREATE INDEX ${quoteIdentifier(name)} IN CLUSTER ${quoteIdentifier(cluster)} ON ${on} (${columns})` };
}

function slug(expression: string): string {
  return expression.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'expr';
}
