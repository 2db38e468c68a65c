/**
 * The SQL of data tests. A test is a query returning the rows that violate it: zero rows is a
 * pass, and the count is the number of failures (dbt's convention). Stored failures wrap the same
 * query in a materialized view, so Materialize keeps the failing rows current as events arrive.
 *
 * Queries are written for both Materialize and PostgreSQL (the local server): NOT EXISTS rather
 * than anti-join tricks, explicit casts nowhere, every identifier quoted.
 */
import { hash } from 'node:crypto';
import { quoteIdentifier } from '../../shared/sql-scan.ts';
import type { SqlRelation } from '../model-sql.ts';
import type { TestDeclaration } from './test-config.ts';

/** PostgreSQL (so the local server) keeps 63 bytes of an identifier; longer test names are cut there. */
const MAX_NAME_LENGTH = 63;

/** dbt-style generated names: `unique_<model>_<column>`, `accepted_values_<model>_<column>`, … */
export function generatedTestName(model: string, test: TestDeclaration): string {
  if (test.name) return test.name;
  let name: string;
  switch (test.kind) {
    case 'relationships':
      name = `relationships_${model}_${test.column}__${test.to}_${test.field}`;
      break;
    case 'expression':
      name = `expression_${model}_${slug(test.expression ?? '')}`;
      break;
    default:
      name = `${test.kind}_${model}_${test.column}`;
  }
  return fitName(name);
}

/** Names longer than an identifier may be keep their start and a short hash of the whole. */
export function fitName(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  return `${name.slice(0, MAX_NAME_LENGTH - 9)}_${hash('sha256', name, 'hex').slice(0, 8)}`;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'expr';
}

/**
 * The query returning the rows that fail `test` on `model` (`to` resolves relationships' target).
 *
 * A test's `where:` is the first AND term of its WHERE, over the model read directly — equivalent
 * to reading `(SELECT * FROM model WHERE …) AS tested` (a filter applied before the test's own;
 * PostgreSQL and Materialize both flatten that subquery into the same plan), and the shape the
 * local server keeps by key as a stored test: a filter or GROUP BY over one kept view, where a
 * subquery in FROM made it refresh the view whole after every write.
 */
export function testQuery(model: SqlRelation, test: TestDeclaration, to?: SqlRelation): string {
  const column = test.column ? `tested.${quoteIdentifier(test.column)}` : '';
  const where = (...terms: string[]) => `WHERE ${[...(test.where ? [`(${test.where})`] : []), ...terms].join(' AND ')}`;
  const from = `FROM ${model} AS tested`;
  switch (test.kind) {
    case 'unique':
      return [`SELECT ${column} AS ${quoteIdentifier(test.column!)}, count(*) AS occurrences`, from, where(`${column} IS NOT NULL`), `GROUP BY ${column}`, `HAVING count(*) > 1`].join('\n');
    case 'not_null':
      return [`SELECT tested.*`, from, where(`${column} IS NULL`)].join('\n');
    case 'accepted_values':
      return [
        `SELECT ${column} AS ${quoteIdentifier(test.column!)}, count(*) AS occurrences`,
        from,
        where(`${column} IS NOT NULL`, `${column} NOT IN (${test.values!.map(sqlLiteral).join(', ')})`),
        `GROUP BY ${column}`,
      ].join('\n');
    case 'relationships':
      return [
        `SELECT tested.*`,
        from,
        where(`${column} IS NOT NULL`),
        `  AND NOT EXISTS (SELECT 1 FROM ${to} AS parent WHERE parent.${quoteIdentifier(test.field!)} = ${column})`,
      ].join('\n');
    case 'expression':
      // A row fails when the expression is false or NULL: "must hold" means provably true.
      return [`SELECT tested.*`, from, where(`NOT coalesce((${test.expression}), false)`)].join('\n');
  }
}

function sqlLiteral(value: string | number | boolean): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

/** The schema a model's stored failures live in: `<schema>_tests`, beside the model's own. */
export function failuresSchema(schema: string): string {
  return `${schema}_tests`;
}

/** `CREATE MATERIALIZED VIEW <schema>_tests.<name> … AS <query>`: the test kept continuously. */
export function storedFailuresStatement(name: string, schema: string, cluster: string, query: string): { sql: string; bodySqlLine: number } {
  const head = `CREATE MATERIALIZED VIEW ${quoteIdentifier(schema)}.${quoteIdentifier(name)}\n  IN CLUSTER ${quoteIdentifier(cluster)} AS\n`;
  return { sql: head + query, bodySqlLine: 3 };
}
