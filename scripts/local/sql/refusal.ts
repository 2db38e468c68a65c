/**
 * What the local server answers for SQL Materialize refuses: its message and SQLSTATE. A module of
 * its own so that refusals.ts and the checks it gathers (as-of, list-refusals, map-refusals) all
 * read it from below, without importing each other in a loop.
 */
export interface Refusal {
  message: string;
  code: string;
}
