/**
 * PostgreSQL's error texts for a missing name, in Materialize's words (Materialize's CatalogError:
 * `unknown catalog item 'x'`, `unknown schema 'x'`, `unknown database 'x'`). Codes stay as they are:
 * Materialize reports these with the same SQLSTATEs (42P01, 3F000, 3D000).
 */
const REWORDINGS: Array<[RegExp, (name: string) => string]> = [
  [/^relation "(.+)" does not exist$/, (name) => `unknown catalog item '${name}'`],
  [/^schema "(.+)" does not exist$/, (name) => `unknown schema '${name}'`],
  [/^database "(.+)" does not exist$/, (name) => `unknown database '${name}'`],
  [/^cross-database references are not implemented: "?([^".]+)\..*$/, (name) => `unknown database '${name}'`],
  // Both refuse a table function inside an aggregate's arguments (issue 32, item 12).
  [/^(aggregate function calls cannot contain set-returning function calls)$/, () => 'table functions are not allowed in aggregate function calls'],
];

/** The message as Materialize would word it, or null when it needs no change. */
export function materializeErrorText(message: string): string | null {
  for (const [pattern, reword] of REWORDINGS) {
    const match = pattern.exec(message);
    if (match) return reword(match[1]!);
  }
  return null;
}
