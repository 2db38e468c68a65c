/**
 * The statements of Materialize's SUBSCRIBE family, parsed (doc/user/content/sql/subscribe.md,
 * declare.md, fetch.md):
 *
 *   SUBSCRIBE [TO] name | (query) [ENVELOPE UPSERT | DEBEZIUM (KEY (k, …))] [WITHIN TIMESTAMP ORDER BY …]
 *     [WITH (SNAPSHOT [= bool], PROGRESS [= bool])] [AS OF [AT LEAST] t] [UP TO t]
 *   COPY (SUBSCRIBE …) TO STDOUT [WITH (FORMAT TEXT)]
 *   DECLARE c CURSOR FOR SUBSCRIBE …
 *   FETCH [FORWARD] [n | ALL] [FROM | IN] c [WITH (TIMEOUT [=] '1s')]
 *   CLOSE c
 */
import { MzStatementError } from '../sql/mz-statements-error.ts';
import { Cursor } from '../sql/mz-statements.ts';
import { splitStatements, SqlSyntaxError, tokenize, type Token } from '../sql/tokens.ts';

export interface SubscribeSpec {
  /** The query whose changes are streamed: `SELECT * FROM name` for a relation. */
  readonly query: string;
  readonly snapshot: boolean;
  readonly progress: boolean;
  /** ENVELOPE UPSERT or DEBEZIUM, with its key columns; null for the diff envelope. */
  readonly envelope: { readonly kind: 'upsert' | 'debezium'; readonly key: readonly string[] } | null;
  /** WITHIN TIMESTAMP ORDER BY, as SQL-free sort keys (column, descending, nulls first). */
  readonly orderWithin: ReadonlyArray<{ column: string; descending: boolean; nullsFirst: boolean }>;
  /** AS OF (inclusive) and UP TO (exclusive), in Materialize timestamps (ms since the epoch). */
  readonly asOf: number | null;
  readonly upTo: number | null;
}

export type SubscribeStatement =
  | { kind: 'subscribe'; spec: SubscribeSpec }
  | { kind: 'copy_subscribe'; spec: SubscribeSpec }
  | { kind: 'declare'; cursor: string; spec: SubscribeSpec }
  | { kind: 'fetch'; cursor: string; count: number | 'all'; timeoutMs: number | null }
  | { kind: 'close'; cursor: string };

/**
 * The statement if `sql` is one statement of the SUBSCRIBE family; null for anything else (FETCH
 * and CLOSE are only returned for cursors `isSubscribeCursor` knows, so PostgreSQL keeps its own).
 */
export function parseSubscribeStatement(sql: string, isSubscribeCursor: (name: string) => boolean): SubscribeStatement | null {
  let tokens: Token[];
  try {
    const statements = splitStatements(sql, tokenize(sql));
    if (statements.length !== 1) return null;
    tokens = statements[0]!.tokens;
  } catch (error) {
    if (error instanceof SqlSyntaxError) return null;
    throw error;
  }
  const cursor = new TokenCursor(tokens, sql);
  if (cursor.accept('subscribe')) return { kind: 'subscribe', spec: parseSpec(cursor) };
  if (cursor.accept('copy')) {
    if (!cursor.acceptPunct('(') || !cursor.accept('subscribe')) return null;
    const close = cursor.matchingParenFrom(cursor.index - 2);
    const inner = new TokenCursor(tokens.slice(cursor.index, close), sql);
    const spec = parseSpec(inner);
    cursor.index = close + 1;
    cursor.expect('to', 'stdout');
    if (cursor.accept('with')) cursor.index = cursor.matchingParenFrom(cursor.index) + 1;
    cursor.expectEnd();
    return { kind: 'copy_subscribe', spec };
  }
  if (cursor.accept('declare')) {
    const name = cursor.identifier();
    cursor.accept('no', 'scroll');
    if (!cursor.accept('cursor')) return null;
    cursor.accept('without', 'hold');
    cursor.expect('for');
    if (!cursor.accept('subscribe')) return null;
    return { kind: 'declare', cursor: name, spec: parseSpec(cursor) };
  }
  if (cursor.accept('fetch')) {
    cursor.accept('forward');
    let count: number | 'all' = 1;
    if (cursor.accept('all')) count = 'all';
    else if (cursor.peek()?.type === 'number') count = Number(cursor.next().value);
    if (!cursor.accept('from')) cursor.accept('in');
    const name = cursor.identifier();
    if (!isSubscribeCursor(name)) return null;
    let timeoutMs: number | null = null;
    if (cursor.accept('with')) {
      cursor.expectPunct('(');
      cursor.expect('timeout');
      cursor.acceptPunct('=');
      timeoutMs = parseDuration(cursor.string());
      cursor.expectPunct(')');
    }
    cursor.expectEnd();
    return { kind: 'fetch', cursor: name, count, timeoutMs };
  }
  if (cursor.accept('close')) {
    const name = cursor.identifier();
    if (!isSubscribeCursor(name)) return null;
    cursor.expectEnd();
    return { kind: 'close', cursor: name };
  }
  return null;
}

function parseSpec(cursor: TokenCursor): SubscribeSpec {
  cursor.accept('to');
  let query: string;
  if (cursor.peek()?.value === '(') {
    const close = cursor.matchingParenFrom(cursor.index);
    query = cursor.sql.slice(cursor.tokens[cursor.index + 1]!.start, cursor.tokens[close - 1]!.end);
    cursor.index = close + 1;
  } else {
    const start = cursor.peek();
    if (!start) cursor.fail('Expected identifier');
    const parts = [cursor.nameText()];
    while (cursor.acceptPunct('.')) parts.push(cursor.nameText());
    query = `SELECT * FROM ${parts.join('.')}`;
  }
  let snapshot = true;
  let progress = false;
  let envelope: { kind: 'upsert' | 'debezium'; key: string[] } | null = null;
  const orderWithin: Array<{ column: string; descending: boolean; nullsFirst: boolean }> = [];
  let asOf: number | null = null;
  let upTo: number | null = null;
  while (!cursor.atEnd()) {
    if (cursor.accept('envelope')) {
      const kind = cursor.accept('debezium') ? 'debezium' : (cursor.expect('upsert'), 'upsert');
      cursor.expectPunct('(');
      cursor.expect('key');
      cursor.expectPunct('(');
      const key: string[] = [];
      do key.push(cursor.identifier());
      while (cursor.acceptPunct(','));
      cursor.expectPunct(')');
      cursor.expectPunct(')');
      envelope = { kind, key };
    } else if (cursor.accept('within', 'timestamp', 'order', 'by')) {
      do {
        const column = cursor.identifier();
        const descending = cursor.accept('desc');
        if (!descending) cursor.accept('asc');
        let nullsFirst = descending;
        if (cursor.accept('nulls', 'first')) nullsFirst = true;
        else if (cursor.accept('nulls', 'last')) nullsFirst = false;
        orderWithin.push({ column, descending, nullsFirst });
      } while (cursor.acceptPunct(','));
    } else if (cursor.accept('with')) {
      cursor.expectPunct('(');
      do {
        if (cursor.accept('snapshot')) snapshot = cursor.optionalBoolean();
        else if (cursor.accept('progress')) progress = cursor.optionalBoolean();
        else cursor.fail('Expected one of PROGRESS or SNAPSHOT');
      } while (cursor.acceptPunct(','));
      cursor.expectPunct(')');
    } else if (cursor.accept('as', 'of')) {
      cursor.accept('at', 'least');
      asOf = cursor.timestamp();
    } else if (cursor.accept('up', 'to')) {
      upTo = cursor.timestamp();
    } else {
      cursor.fail('Expected end of statement');
    }
  }
  return { query, snapshot, progress, envelope, orderWithin, asOf, upTo };
}

/** '1s', '250ms', '2 seconds', '0' → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)?\s*$/i.exec(text);
  if (!match) throw new MzStatementError(`invalid input syntax for type interval: "${text}"`, '22007');
  const value = Number(match[1]);
  const unit = (match[2] ?? 's').toLowerCase();
  const scale = unit.startsWith('ms') || unit.startsWith('milli') ? 1 : unit.startsWith('h') ? 3_600_000 : unit.startsWith('m') && !unit.startsWith('ms') ? 60_000 : 1_000;
  return value * scale;
}

/** The statement cursor with what these statements need beyond it. */
class TokenCursor extends Cursor {
  next(): Token {
    const token = this.tokens[this.index++];
    if (!token) this.fail('Expected more');
    return token;
  }

  expectEnd(): void {
    if (!this.atEnd()) this.fail('Expected end of statement');
  }

  /** A name part as written (quoted ones keep their quotes), for use in SQL. */
  nameText(): string {
    const token = this.peek();
    if (token?.type === 'word' || token?.type === 'quoted') {
      this.index++;
      return this.sql.slice(token.start, token.end);
    }
    return this.fail('Expected identifier');
  }

  /** `= true|false`, bare `true|false`, or nothing (true). */
  optionalBoolean(): boolean {
    this.acceptPunct('=');
    if (this.accept('true') || this.accept('on')) return true;
    if (this.accept('false') || this.accept('off')) return false;
    return true;
  }

  /** A Materialize timestamp: a number of milliseconds since the epoch. */
  timestamp(): number {
    const token = this.peek();
    if (token?.type === 'number' || (token?.type === 'string' && /^\d+$/.test(token.value))) {
      this.index++;
      return Number(token.value);
    }
    return this.fail('Expected a timestamp (milliseconds since the epoch)');
  }

  /** Index of the `)` matching the `(` at `start`. */
  matchingParenFrom(start: number): number {
    const saved = this.index;
    this.index = start;
    try {
      return this.matchingParen();
    } finally {
      this.index = saved;
    }
  }
}
