/**
 * Singular tests: tests/<name>.sql holds a query (mustache like a model: refs, vars, macros)
 * returning the rows that break a rule; zero rows pass. Optional front matter sets how the test
 * counts and where its stored failures go.
 */
import { z } from 'zod';
import { ProjectError, type SourceLocation } from '../errors.ts';
import { codeOnly, leadingCode, statementSeparator } from '../../shared/sql-scan.ts';
import { parseYaml, validateYaml } from '../yaml-config.ts';

export const SingularTestConfigSchema = z.strictObject({
  severity: z.enum(['warn', 'error']).optional(),
  store_failures: z.boolean().optional(),
  tags: z.array(z.string().min(1)).optional(),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be an identifier').optional(),
  cluster: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be an identifier').optional(),
});
export type SingularTestConfig = z.output<typeof SingularTestConfigSchema>;

export function readSingularTestConfig(file: string, text: string): SingularTestConfig {
  return validateYaml(parseYaml({ file, text, lineOffset: 1 }), SingularTestConfigSchema, { what: 'test front matter' });
}

/** The rendered body as a query: blank lines around it and one trailing `;` dropped, shape checked. */
export function singularTestQuery(rendered: string, location: SourceLocation): { sql: string; linesSkipped: number } {
  const leading = /^(?:[ \t]*\r?\n)*/.exec(rendered)![0];
  const sql = rendered.slice(leading.length).trimEnd().replace(/;$/, '').trimEnd();
  const linesSkipped = leading.split('\n').length - 1;
  const firstCode = leadingCode(sql);
  if (firstCode === '') throw new ProjectError('this test is empty', location, 'write a SELECT returning the rows that break the rule (no rows: the test passes)');
  if (!/^(?:SELECT|WITH|\()/i.test(firstCode)) {
    throw new ProjectError('a test is a query: it must start with SELECT or WITH', location, 'write a SELECT returning the rows that break the rule (no rows: the test passes)');
  }
  if (sql.includes(';') && statementSeparator(codeOnly(sql)) !== -1) {
    throw new ProjectError('a test holds exactly one query, but this one has a `;` before its end', location, 'split it into two tests');
  }
  return { sql, linesSkipped };
}
