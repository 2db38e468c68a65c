/** An error in a Materialize statement, worded as Materialize words it. */
export class MzStatementError extends Error {
  constructor(
    message: string,
    readonly code = '42601',
  ) {
    super(message);
  }
}
