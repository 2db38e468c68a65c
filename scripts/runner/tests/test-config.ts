/**
 * Data tests declared in a model's front matter (dbt's generic tests, in this project's words):
 *
 *   tests:
 *     - unique: message_id
 *     - not_null: [message_id, event_type]
 *     - accepted_values: { column: event_type, values: [track, page], severity: warn }
 *     - relationships: { column: user_id, to: stg_segment_identifies, field: user_id }
 *     - expression: "revenue >= 0"
 *
 * Each entry is a mapping with exactly one key, the test's kind. Its value is the short form (a
 * column, a list of columns, an expression) or a mapping with the options every kind shares:
 * severity, where, name and store_failures. Every mistake is reported at its line.
 */
import { z } from 'zod';
import { asProjectErrors, didYouMean, ProjectError, throwIfAny, type SourceLocation } from '../errors.ts';
import { validateYaml, yamlAt, type ParsedYaml } from '../yaml-config.ts';

export const GENERIC_TEST_KINDS = ['unique', 'not_null', 'accepted_values', 'relationships', 'expression'] as const;
export type GenericTestKind = (typeof GENERIC_TEST_KINDS)[number];
/** `unit`: a unit test (EXECUTE UNIT TEST, unit-test-parse.ts); the others are data tests. */
export type TestKind = GenericTestKind | 'singular' | 'unit';
export type TestSeverity = 'warn' | 'error';

export const TEST_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const columnName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a column name (letters, digits and _); for an expression use the expression test');
const columnList = z.union([columnName, z.array(columnName).min(1)]);

const commonOptions = {
  severity: z.enum(['warn', 'error']).optional(),
  where: z.string().min(1).optional(),
  name: z.string().regex(TEST_NAME, 'must be an identifier: letters, digits and _').optional(),
  store_failures: z.boolean().optional(),
};

/** Per kind: the short form, and the mapping form with its own keys plus the common options. */
const KIND_SCHEMAS: Record<GenericTestKind, z.ZodType> = {
  unique: z.union([columnName, z.strictObject({ column: columnName, ...commonOptions })]),
  not_null: z.union([columnList, z.strictObject({ column: columnList, ...commonOptions })]),
  accepted_values: z.strictObject({ column: columnName, values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1), ...commonOptions }),
  relationships: z.strictObject({ column: columnName, to: z.string().regex(TEST_NAME, 'must be a model name'), field: columnName, ...commonOptions }),
  expression: z.union([z.string().min(1), z.strictObject({ expression: z.string().min(1), ...commonOptions })]),
};

const SHORT_FORM_FIX: Record<GenericTestKind, string> = {
  unique: 'write `unique: <column>` or `unique: { column: <column>, severity: warn }`',
  not_null: 'write `not_null: <column>`, `not_null: [a, b]` or `not_null: { column: [a, b], where: "…" }`',
  accepted_values: 'write `accepted_values: { column: <column>, values: [a, b] }`',
  relationships: 'write `relationships: { column: <column>, to: <model>, field: <column there> }`',
  expression: 'write `expression: "<SQL that must be true for every row>"`',
};

/** One declared test, before it is turned into SQL (one per column for not_null with a list). */
export interface TestDeclaration {
  readonly kind: GenericTestKind;
  /** The tested column (every kind but expression). */
  readonly column?: string;
  readonly values?: readonly (string | number | boolean)[];
  readonly to?: string;
  readonly field?: string;
  readonly expression?: string;
  readonly severity?: TestSeverity;
  readonly where?: string;
  readonly name?: string;
  readonly storeFailures?: boolean;
  /** Where the entry is written (its `- kind:` line). */
  readonly location: SourceLocation;
  /** Where the tested column is written, for "no such column" errors. */
  readonly columnLocation: SourceLocation;
}

interface CommonOptions {
  severity?: TestSeverity;
  where?: string;
  name?: string;
  store_failures?: boolean;
}

/** Reads the `tests:` list of a model's front matter. Throws every problem found, positioned. */
export function readTestDeclarations(tests: ParsedYaml): TestDeclaration[] {
  const entries = Array.isArray(tests.value) ? tests.value : [];
  const declarations: TestDeclaration[] = [];
  const errors: ProjectError[] = [];
  entries.forEach((entry: unknown, index) => {
    try {
      declarations.push(...readEntry(yamlAt(tests, [index]), index));
    } catch (error) {
      errors.push(...asProjectErrors(error));
    }
  });
  throwIfAny(errors);
  return declarations;
}

function readEntry(entry: ParsedYaml, index: number): TestDeclaration[] {
  const location = entry.locate([]);
  const value = entry.value;
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1) {
    throw new ProjectError(
      `tests[${index}]: each test is a mapping with one key, its kind${keys.length > 1 ? ` (this one has ${keys.join(', ')})` : ''}`,
      location,
      `write it as  - unique: <column>  (kinds: ${GENERIC_TEST_KINDS.join(', ')}); put options inside the kind's mapping`,
    );
  }
  const kind = keys[0]!;
  if (!(GENERIC_TEST_KINDS as readonly string[]).includes(kind)) {
    throw new ProjectError(`tests[${index}]: unknown test kind '${kind}'${didYouMean(kind, GENERIC_TEST_KINDS)}`, entry.locate([kind]), `kinds: ${GENERIC_TEST_KINDS.join(', ')}; anything else is a singular test, a SELECT of the failing rows in tests/*.sql`);
  }
  const testKind = kind as GenericTestKind;
  const body = yamlAt(entry, [testKind]);
  const options = validateYaml(body, KIND_SCHEMAS[testKind], {
    what: `the ${testKind} test`,
    keyPrefix: `tests[${index}].${testKind}`,
    fixFor: () => SHORT_FORM_FIX[testKind],
  }) as unknown;
  const mapping = options !== null && typeof options === 'object' && !Array.isArray(options) ? (options as CommonOptions & Record<string, unknown>) : undefined;
  const common = {
    ...(mapping?.severity ? { severity: mapping.severity } : {}),
    ...(mapping?.where ? { where: mapping.where } : {}),
    ...(mapping?.name ? { name: mapping.name } : {}),
    ...(mapping?.store_failures !== undefined ? { storeFailures: mapping.store_failures } : {}),
    location,
  };
  const columnLocation = mapping ? body.locate(['column']) : body.locate([]);
  switch (testKind) {
    case 'unique':
      return [{ kind: testKind, column: mapping ? String(mapping.column) : String(options), columnLocation, ...common }];
    case 'not_null': {
      const columns = mapping ? mapping.column : options;
      const list = Array.isArray(columns) ? columns.map(String) : [String(columns)];
      if (list.length > 1 && mapping?.name) {
        throw new ProjectError(`tests[${index}].not_null: a name is given to ${list.length} columns`, body.locate(['name']), 'one name per test: give each column its own not_null entry to name them');
      }
      const itemPath = (item: number) => (mapping ? ['column', item] : [item]);
      return list.map((column, item) => ({ kind: testKind, column, columnLocation: Array.isArray(columns) ? body.locate(itemPath(item)) : columnLocation, ...common }));
    }
    case 'accepted_values':
      return [{ kind: testKind, column: String(mapping!.column), values: mapping!.values as (string | number | boolean)[], columnLocation, ...common }];
    case 'relationships':
      return [{ kind: testKind, column: String(mapping!.column), to: String(mapping!.to), field: String(mapping!.field), columnLocation, ...common }];
    case 'expression':
      return [{ kind: testKind, expression: mapping ? String(mapping.expression) : String(options), columnLocation: mapping ? body.locate(['expression']) : location, ...common }];
  }
}
