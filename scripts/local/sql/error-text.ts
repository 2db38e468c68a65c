/**
 * PostgreSQL's error texts in Materialize's words, where both refuse a statement but say it
 * differently (issue 32, item 12). Codes stay as they are.
 *
 * - a missing name: Materialize's CatalogError (`unknown catalog item 'x'`, `unknown schema 'x'`,
 *   `unknown database 'x'`), same SQLSTATEs (42P01, 3F000, 3D000);
 * - a name taken: `catalog item 'x' already exists`, `schema 'x' already exists`;
 * - a scalar subquery with more rows: `more than one record produced in subquery`;
 * - a NOT NULL column: `null value in column "a" violates not-null constraint` (no relation);
 * - integers read from text: Rust's parse errors (`invalid digit found in string`, `cannot parse
 *   integer from empty string`, `number too large to fit in target type`) before the value;
 * - date/time units: `unit 'month' not supported for type time`, `unit 'x' not recognized`;
 * - a table function in an aggregate: `table functions are not allowed in aggregate function calls`;
 * - a cast that does not exist: `CAST does not support casting from jsonb to timestamp` (jsonb.slt);
 * - a NULL key in jsonb_build_object: `key cannot be null` (jsonb.slt);
 * - a table function where none may be: `table functions are not allowed in CASE` (… in WHERE
 *   clause), table_func.slt;
 * - a qualified column that does not exist, quoted: `column "g.g" does not exist` (table_func.slt);
 * - an operator with no implementation for its operands: `no overload for int4 list || unknown:
 *   arguments cannot be implicitly cast to any implementation's parameters; try providing explicit
 *   casts` (map.slt, list.slt);
 * - an array's text without its opening brace: `malformed array literal: missing opening left
 *   brace` (map.slt, `m ?& 'a'`);
 * - an ambiguous call: `Cannot call function f(unknown, unknown): unable to determine which
 *   implementation to use; try providing explicit casts to match parameter types`;
 * - a character type's length out of range: `length for type character varying must be between 1
 *   and 10485760` (string.slt); split_part's position 0: `field position must be greater than
 *   zero`; an unknown encoding quoted as Materialize quotes it (`invalid encoding name 'x'`, also
 *   for convert_from); a time zone interval with months: `timezone interval must not contain months
 *   or years` (timezone.slt);
 *   position(a IN b) with no implementation named with its arguments in the order written
 *   (`function position(integer, unknown) does not exist`);
 * - a type named in pg_catalog by one of Materialize's aliases, which it does not put there:
 *   `unknown catalog item 'pg_catalog.boolean'`; a type modifier on a type without:
 *   `pg_catalog.char does not support type modifiers` (types.slt);
 * - an aggregate or window function in WHERE: `… are not allowed in WHERE clause` (aggregates.slt);
 *   an output name that is ambiguous in GROUP BY / ORDER BY: `column reference "c" is ambiguous`
 *   (aggregates.slt, joins.slt); a pattern that does not compile: `invalid regular expression: regex
 *   parse error:` and PostgreSQL's reason (regex.slt; Materialize gives its regex crate's);
 * - a window or aggregate function in a join's ON: `window functions are not allowed in ON`
 *   (window_funcs.slt);
 * - an ASSERT NOT NULL column the view does not have: `column "x" in ASSERT NOT NULL option not
 *   found` (materialized_views.slt);
 * - a WITH MUTUALLY RECURSIVE body whose columns are not the declared ones (the checks of
 *   mutually-recursive.ts): `declared type (…) of WITH MUTUALLY RECURSIVE query did not match
 *   inferred type (…)` (with_mutually_recursive.slt).
 */
const TYPE_NAMES: Record<string, string> = {
  'time without time zone': 'time',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamp with time zone',
  'time with time zone': 'time with time zone',
};

const REWORDINGS: Array<[RegExp, (match: RegExpExecArray) => string]> = [
  [/^length for type (varchar|char) (?:must be at least 1|cannot exceed 10485760)$/, (m) =>
    `length for type ${m[1] === 'varchar' ? 'character varying' : 'character'} must be between 1 and 10485760`],
  [/^field position must not be zero$/, () => 'field position must be greater than zero'],
  [/^invalid encoding name "(.*)"$/, (m) => `invalid encoding name '${m[1]}'`],
  [/^invalid source encoding name "(.*)"$/, (m) => `invalid encoding name '${m[1]}'`],
  // timezone(interval, …) with months or years (timezone.slt); PostgreSQL also refuses days, which
  // Materialize takes, so only an interval with months is reworded.
  [/^interval time zone "(?:.*\b(?:mons?|years?)\b.*)" must not include months or days$/, () => 'timezone interval must not contain months or years'],
  [/^function pg_catalog\.position\(([^,()]+), ([^,()]+)\) does not exist$/, (m) => `function position(${m[2]}, ${m[1]}) does not exist`],
  [/^type "(pg_catalog\.[^".]+)" does not exist$/, (m) => `unknown catalog item '${m[1]}'`],
  [/^type modifier is not allowed for type "(.+)"$/, (m) => `${m[1]} does not support type modifiers`],
  [/^(window|aggregate) functions are not allowed in WHERE$/, (m) => `${m[1]} functions are not allowed in WHERE clause`],
  [/^(?:GROUP|ORDER) BY "(.+)" is ambiguous$/, (m) => `column reference "${m[1]}" is ambiguous`],
  [/^invalid regular expression: (.+)$/s, (m) => `invalid regular expression: regex parse error:\n${m[1]}`],
  [/^(window|aggregate) functions are not allowed in JOIN conditions$/, (m) => `${m[1]} functions are not allowed in ON`],
  [/^column mz_asserted\.(.+) does not exist$/, (m) => `column "${m[1]}" in ASSERT NOT NULL option not found`],
  [/^function mz_local\.wmr_declared\((.+), (.+)\) does not exist$/, (m) =>
    `declared type (${m[2]}) of WITH MUTUALLY RECURSIVE query did not match inferred type (${m[1]})`],
  [/^WITH query ".+" has (\d+) columns? available but (\d+) columns specified$/, (m) =>
    `declared type (${m[2]} columns) of WITH MUTUALLY RECURSIVE query did not match inferred type (${m[1]} columns)`],
  [/^table "mz_wmr_row" has (\d+) columns? available but (\d+) columns specified$/, (m) =>
    `declared type (${m[2]} columns) of WITH MUTUALLY RECURSIVE query did not match inferred type (${m[1]} columns)`],
  [/^unequal number of entries in row expressions$/, () =>
    'declared type of WITH MUTUALLY RECURSIVE query did not match inferred type (more columns than declared)'],
  [/^relation "(.+)" does not exist$/, (m) => `unknown catalog item '${m[1]}'`],
  [/^schema "(.+)" does not exist$/, (m) => `unknown schema '${m[1]}'`],
  [/^database "(.+)" does not exist$/, (m) => `unknown database '${m[1]}'`],
  [/^cross-database references are not implemented: "?([^".]+)\..*$/, (m) => `unknown database '${m[1]}'`],
  [/^relation "(.+)" already exists$/, (m) => `catalog item '${m[1]}' already exists`],
  [/^schema "(.+)" already exists$/, (m) => `schema '${m[1]}' already exists`],
  [/^more than one row returned by a subquery used as an expression$/, () => 'more than one record produced in subquery'],
  [/^null value in column "(.+)" of relation ".+" violates not-null constraint$/, (m) => `null value in column "${m[1]}" violates not-null constraint`],
  [/^invalid input syntax for type (smallint|integer|bigint): "(.*)"$/s, (m) =>
    `invalid input syntax for type ${m[1]}: ${m[2] === '' ? 'cannot parse integer from empty string' : 'invalid digit found in string'}: "${m[2]}"`],
  [/^value "(.*)" is out of range for type (smallint|integer|bigint)$/s, (m) => `invalid input syntax for type ${m[2]}: number too large to fit in target type: "${m[1]}"`],
  [/^unit "(.+)" not supported for type (.+)$/, (m) => `unit '${m[1]}' not supported for type ${TYPE_NAMES[m[2]!] ?? m[2]}`],
  [/^unit "(.+)" not recognized for type .+$/, (m) => `unit '${m[1]}' not recognized`],
  [/^aggregate function calls cannot contain set-returning function calls$/, () => 'table functions are not allowed in aggregate function calls'],
  [/^cannot cast type (.+) to (.+)$/, (m) => `CAST does not support casting from ${TYPE_NAMES[m[1]!] ?? m[1]} to ${TYPE_NAMES[m[2]!] ?? m[2]}`],
  [/^argument \d+: key must not be null$/, () => 'key cannot be null'],
  [/^set-returning functions are not allowed in (.+)$/, (m) => `table functions are not allowed in ${m[1] === 'WHERE' ? 'WHERE clause' : m[1]}`],
  [/^column ([^"\s]+\.[^"\s]+) does not exist$/, (m) => `column "${m[1]}" does not exist`],
  [/^malformed array literal: "\s*[^\s{[].*"$/s, () => 'malformed array literal: missing opening left brace'],
  // `||` of two types none of whose concatenations take them (string.slt: `true || false`):
  // Materialize says the operator does not exist, as PostgreSQL does; other operators' misses are
  // "no overload" (the rewording below).
  [/^operator does not exist: (?:boolean|smallint|integer|bigint|numeric|real|double precision|date|uuid|oid) \|\| (?:boolean|smallint|integer|bigint|numeric|real|double precision|date|uuid|oid)$/, (m) => m[0]],
  [/^operator does not exist: (.+)$/s, (m) =>
    `no overload for ${m[1]}: arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts`],
  [/^function (.+\(.*\)) is not unique$/, (m) =>
    `Cannot call function ${m[1]}: unable to determine which implementation to use; try providing explicit casts to match parameter types`],
];

/** The message as Materialize would word it, or null when it needs no change. */
export function materializeErrorText(message: string): string | null {
  for (const [pattern, reword] of REWORDINGS) {
    const match = pattern.exec(message);
    if (match) return reword(match);
  }
  return null;
}
