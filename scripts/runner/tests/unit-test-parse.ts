/**
 * Unit tests for models, written as Materialize's mz-deploy writes them
 * (materialize.com/docs/sql/execute-unit-test):
 *
 *   EXECUTE UNIT TEST <name>
 *   FOR <database>.<schema>.<view>
 *   [AT TIME <timestamp_expr>]
 *   [MOCK <dependency>(<col> <type>, …) AS (<query>)[, …]]
 *   EXPECTED(<col> <type>, …) AS (<query>);
 *
 * inline after a model's statement (in its .sql file) or in tests/*.sql. Materialize itself
 * refuses these statements at planning, so they are split out of the template before anything is
 * rendered: the model keeps its one statement, and each test becomes a test node of its own.
 *
 * One extension: a column list may end with `...` — "the other columns, as the real object has
 * them" (NULL in a mock; not compared in EXPECTED). mz-deploy would refuse it; leave it out of
 * tests meant to run there too.
 *
 * Pure functions: no database. Every syntax error is positioned at file:line:col.
 */
import { ProjectError, type SourceLocation } from '../errors.ts';
import { blockCommentEnd, codeOnly, unquoteIdentifier } from '../../shared/sql-scan.ts';

export interface UnitTestColumn {
  /** Column name as the database sees it (unquoted names lower-cased). */
  readonly name: string;
  /** The type as written (`text`, `timestamp`, `map[text=>text]`…). */
  readonly type: string;
}

export interface UnitTestRelation {
  readonly columns: readonly UnitTestColumn[];
  /** The column list ended with `...`: the other columns are left as the real object has them. */
  readonly open: boolean;
  /** The query inside `AS ( … )`. */
  readonly query: string;
  readonly location: SourceLocation;
}

export interface UnitTestMock extends UnitTestRelation {
  /** The name's parts (1 to 3), unquoted. */
  readonly parts: readonly string[];
  /** The name as written. */
  readonly written: string;
  /** `FROM FILE '<path>'` (this project's extension): the fixture its rows were read from. */
  readonly file?: string;
}

/**
 * Reads `MOCK …(<columns>) FROM FILE '<path>'`: the rows as a plain query (segment-fixtures.ts).
 * Without one, FROM FILE is a syntax error.
 */
export type FixtureReader = (file: string, columns: readonly UnitTestColumn[], location: SourceLocation) => string;

export interface UnitTestDefinition {
  readonly name: string;
  readonly target: { readonly parts: readonly string[]; readonly written: string; readonly location: SourceLocation };
  /** The AT TIME expression as written (e.g. `'2026-11-22 12:00:00'`). */
  readonly atTime: string | undefined;
  readonly mocks: readonly UnitTestMock[];
  readonly expected: UnitTestRelation;
  /** Where `EXECUTE UNIT TEST` is written. */
  readonly location: SourceLocation;
  /** The rendered statement, without its trailing `;`. */
  readonly text: string;
}

/** A part of a template body: its text and where it starts in the body. */
export interface BodyPart {
  readonly text: string;
  /** Offset in the body. */
  readonly start: number;
}

const EXECUTE_UNIT_TEST = /\bEXECUTE\s+UNIT\s+TEST\b/gi;

/**
 * Splits a template body into the model's statement and the unit tests after it. Only code is
 * searched (comments and strings may mention EXECUTE UNIT TEST); each test must follow a `;`.
 */
export function splitUnitTests(body: string, location: SourceLocation): { model: BodyPart; tests: BodyPart[] } {
  if (!/EXECUTE/i.test(body)) return { model: { text: body, start: 0 }, tests: [] };
  const code = codeOnly(body);
  const starts: number[] = [];
  for (const match of code.matchAll(EXECUTE_UNIT_TEST)) {
    const before = code.slice(0, match.index).trimEnd();
    if (before !== '' && !before.endsWith(';')) {
      const line = (location.line ?? 1) + countNewlines(body, match.index);
      throw new ProjectError(
        'EXECUTE UNIT TEST must start a statement of its own',
        { file: location.file, line },
        'end the statement before it with `;`',
      );
    }
    starts.push(match.index);
  }
  if (starts.length === 0) return { model: { text: body, start: 0 }, tests: [] };
  // The model keeps its text up to its `;`; comments after it belong to the first test.
  const modelEnd = code.lastIndexOf(';', starts[0]!) + 1;
  const bounds = [modelEnd, ...starts.slice(1)];
  const tests = bounds.map((start, index) => ({ text: body.slice(start, bounds[index + 1] ?? body.length), start }));
  return { model: { text: body.slice(0, modelEnd), start: 0 }, tests };
}

export function countNewlines(text: string, end = text.length): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < end; index = text.indexOf('\n', index + 1)) count++;
  return count;
}

interface Token {
  readonly kind: 'word' | 'quoted' | 'string' | 'number' | 'punct';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** Tokens of the code: words, "quoted" names, 'strings' (E'…' too), numbers, punctuation. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < sql.length) {
    const char = sql[index]!;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    if (sql.startsWith('--', index)) {
      const newline = sql.indexOf('\n', index);
      index = newline === -1 ? sql.length : newline + 1;
      continue;
    }
    if (sql.startsWith('/*', index)) {
      index = blockCommentEnd(sql, index) ?? sql.length;
      continue;
    }
    const start = index;
    if (char === "'" || ((char === 'E' || char === 'e') && sql[index + 1] === "'")) {
      const escapes = char !== "'";
      index += escapes ? 2 : 1;
      while (index < sql.length) {
        if (sql[index] === "'" && sql[index + 1] === "'") index += 2;
        else if (escapes && sql[index] === '\\') index += 2;
        else if (sql[index] === "'") break;
        else index++;
      }
      index++;
      tokens.push({ kind: 'string', text: sql.slice(start, index), start, end: Math.min(index, sql.length) });
      continue;
    }
    if (char === '"') {
      index++;
      while (index < sql.length) {
        if (sql[index] === '"' && sql[index + 1] === '"') index += 2;
        else if (sql[index] === '"') break;
        else index++;
      }
      index++;
      tokens.push({ kind: 'quoted', text: sql.slice(start, index), start, end: Math.min(index, sql.length) });
      continue;
    }
    if (char === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(index, index + 64));
      if (tag) {
        const close = sql.indexOf(tag[0], index + tag[0].length);
        index = close === -1 ? sql.length : close + tag[0].length;
        tokens.push({ kind: 'string', text: sql.slice(start, index), start, end: index });
        continue;
      }
    }
    if (/[A-Za-z_]/.test(char)) {
      while (index < sql.length && /[A-Za-z0-9_$]/.test(sql[index]!)) index++;
      tokens.push({ kind: 'word', text: sql.slice(start, index), start, end: index });
      continue;
    }
    if (/[0-9]/.test(char)) {
      while (index < sql.length && /[0-9.eE]/.test(sql[index]!)) index++;
      tokens.push({ kind: 'number', text: sql.slice(start, index), start, end: index });
      continue;
    }
    if (sql.startsWith('...', index)) {
      index += 3;
      tokens.push({ kind: 'punct', text: '...', start, end: index });
      continue;
    }
    index++;
    tokens.push({ kind: 'punct', text: char, start, end: index });
  }
  return tokens;
}

class Cursor {
  index = 0;
  constructor(
    readonly tokens: readonly Token[],
    private readonly sql: string,
    private readonly location: SourceLocation,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  isWord(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.index++;
    return true;
  }

  acceptPunct(text: string): boolean {
    const token = this.peek();
    if (token?.kind !== 'punct' || token.text !== text) return false;
    this.index++;
    return true;
  }

  expectWord(word: string, fix: string): Token {
    const token = this.peek();
    if (!this.acceptWord(word)) throw this.error(`expected ${word}${this.found()}`, token, fix);
    return token!;
  }

  expectPunct(text: string, fix: string): Token {
    const token = this.peek();
    if (!this.acceptPunct(text)) throw this.error(`expected '${text}'${this.found()}`, token, fix);
    return token!;
  }

  found(): string {
    const token = this.peek();
    return token ? `, found '${token.text.length > 30 ? `${token.text.slice(0, 30)}…` : token.text}'` : ', found the end of the statement';
  }

  /** The location of a token (or of the statement's end). */
  at(token: Token | undefined): SourceLocation {
    const offset = token?.start ?? this.sql.length;
    const line = (this.location.line ?? 1) + countNewlines(this.sql, offset);
    const lineStart = this.sql.lastIndexOf('\n', offset - 1) + 1;
    const column = (line === (this.location.line ?? 1) ? (this.location.column ?? 1) - 1 : 0) + offset - lineStart + 1;
    return { file: this.location.file, line, column };
  }

  error(message: string, token: Token | undefined, fix?: string): ProjectError {
    return new ProjectError(`EXECUTE UNIT TEST: ${message}`, this.at(token), fix);
  }

  /** The index of the `)` matching the `(` at `open`. */
  closing(open: number): number {
    let depth = 0;
    for (let index = open; index < this.tokens.length; index++) {
      const token = this.tokens[index]!;
      if (token.kind !== 'punct') continue;
      if (token.text === '(' || token.text === '[') depth++;
      else if (token.text === ')' || token.text === ']') {
        depth--;
        if (depth === 0) return index;
      }
    }
    throw this.error("a '(' is never closed", this.tokens[open], "close it with ')'");
  }
}

const SYNTAX = "EXECUTE UNIT TEST <name> FOR <database>.<schema>.<view> [AT TIME '<timestamp>'] MOCK <dependency>(<column> <type>, …) AS (<query>), … EXPECTED(<column> <type>, …) AS (<query>);";

/**
 * Parses one rendered `EXECUTE UNIT TEST …;` statement. `location` is where its first character
 * is in the file.
 */
export function parseUnitTest(sql: string, location: SourceLocation, readFixture?: FixtureReader): UnitTestDefinition {
  const tokens = tokenize(sql);
  const cursor = new Cursor(tokens, sql, location);
  // FROM FILE clauses, replaced in the statement's text by the plain AS (<query>) they stand for.
  const expansions: { start: number; end: number; text: string }[] = [];
  const first = cursor.peek();
  cursor.expectWord('EXECUTE', SYNTAX);
  cursor.expectWord('UNIT', SYNTAX);
  cursor.expectWord('TEST', SYNTAX);
  const nameToken = cursor.peek();
  if (!nameToken || (nameToken.kind !== 'word' && nameToken.kind !== 'quoted')) throw cursor.error(`expected the test's name${cursor.found()}`, nameToken, SYNTAX);
  cursor.index++;
  const name = unquoteIdentifier(nameToken.text);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw cursor.error(`test name '${name}' must be an identifier: letters, digits and _`, nameToken);

  cursor.expectWord('FOR', `name the view under test: FOR <database>.<schema>.<view>`);
  const targetStart = cursor.peek();
  const target = qualifiedName(cursor, 'the view under test');

  let atTime: string | undefined;
  if (cursor.acceptWord('AT')) {
    const timeWord = cursor.expectWord('TIME', "write AT TIME '<timestamp>'");
    const start = cursor.index;
    let depth = 0;
    while (cursor.peek() && !(depth === 0 && (cursor.isWord('MOCK') || cursor.isWord('EXPECTED')))) {
      const token = cursor.peek()!;
      if (token.kind === 'punct' && (token.text === '(' || token.text === '[')) depth++;
      if (token.kind === 'punct' && (token.text === ')' || token.text === ']')) depth--;
      cursor.index++;
    }
    if (cursor.index === start) throw cursor.error('AT TIME needs a timestamp', timeWord, "write AT TIME '2026-01-01 12:00:00'");
    atTime = sql.slice(tokens[start]!.start, tokens[cursor.index - 1]!.end);
  }

  const mocks: UnitTestMock[] = [];
  while (cursor.isWord('MOCK')) {
    const mockToken = cursor.peek()!;
    cursor.index++;
    const mockName = qualifiedName(cursor, 'the mocked dependency');
    const relation = relationBody(cursor, sql, `MOCK ${mockName.written}`, cursor.at(mockToken), readFixture);
    if (relation.file) expansions.push({ ...relation.file.span, text: `AS (\n${relation.query}\n)` });
    const { file: fixture, ...body } = relation;
    mocks.push({ ...body, parts: mockName.parts, written: mockName.written, ...(fixture ? { file: fixture.path } : {}) });
    // mz-deploy's documented form puts a comma after every MOCK clause, the last one too
    // (`MOCK … AS (…),\nEXPECTED(…) AS (…)`); without it is accepted as well.
    if (cursor.acceptPunct(',')) {
      if (!cursor.isWord('MOCK') && !cursor.isWord('EXPECTED')) throw cursor.error(`expected MOCK or EXPECTED after ','${cursor.found()}`, cursor.peek(), 'a comma separates MOCK clauses (and may end the last one)');
    } else if (cursor.isWord('MOCK')) {
      throw cursor.error("expected ',' between two MOCK clauses", cursor.peek(), "separate MOCK clauses with ','");
    }
  }
  const expectedToken = cursor.peek();
  if (!cursor.isWord('EXPECTED')) {
    throw cursor.error(`expected MOCK or EXPECTED${cursor.found()}`, expectedToken, mocks.length ? 'the test ends with EXPECTED(<column> <type>, …) AS (<query>)' : SYNTAX);
  }
  cursor.index++;
  const expected = relationBody(cursor, sql, 'EXPECTED', cursor.at(expectedToken));
  cursor.acceptPunct(';');
  const rest = cursor.peek();
  if (rest) throw cursor.error(`unexpected '${rest.text}' after EXPECTED … AS (…)`, rest, 'end the test with `;` after its EXPECTED clause');
  let expanded = sql;
  for (const edit of [...expansions].reverse()) expanded = expanded.slice(0, edit.start) + edit.text + expanded.slice(edit.end);
  const text = expanded
    .slice(first!.start)
    .trimEnd()
    .replace(/;$/, '')
    .trimEnd();
  return { name, target: { ...target, location: cursor.at(targetStart) }, atTime, mocks, expected, location: cursor.at(first), text };
}

function qualifiedName(cursor: Cursor, what: string): { parts: string[]; written: string } {
  const parts: string[] = [];
  const first = cursor.peek();
  for (;;) {
    const token = cursor.peek();
    if (!token || (token.kind !== 'word' && token.kind !== 'quoted')) throw cursor.error(`expected ${what}'s name${cursor.found()}`, token, 'write <database>.<schema>.<name>, or {{ref.<model>}}');
    parts.push(unquoteIdentifier(token.text));
    cursor.index++;
    if (!cursor.acceptPunct('.')) break;
  }
  if (parts.length > 3) throw cursor.error(`'${parts.join('.')}' has more than three parts`, first, 'write <database>.<schema>.<name>');
  return { parts, written: parts.map((part) => (/^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replace(/"/g, '""')}"`)).join('.') };
}

/** `(<col> <type>, … [, ...]) AS (<query>)` */
function relationBody(cursor: Cursor, sql: string, what: string, location: SourceLocation, readFixture?: FixtureReader): UnitTestRelation & { file?: { path: string; span: { start: number; end: number } } } {
  const openToken = cursor.peek();
  if (!openToken || openToken.kind !== 'punct' || openToken.text !== '(') {
    throw cursor.error(`${what}: expected its column list '('${cursor.found()}`, openToken, `write ${what}(<column> <type>, …) AS (<query>)`);
  }
  const open = cursor.index;
  const close = cursor.closing(open);
  const columns: UnitTestColumn[] = [];
  let isOpen = false;
  let chunkStart = open + 1;
  const seen = new Set<string>();
  const addChunk = (end: number) => {
    const chunk = cursor.tokens.slice(chunkStart, end);
    if (chunk.length === 0) throw cursor.error(`${what}: empty column definition`, cursor.tokens[end], 'write <column> <type>, separated by commas');
    if (chunk.length === 1 && chunk[0]!.text === '...') {
      if (end !== close) throw cursor.error(`${what}: '...' must end the column list`, chunk[0]);
      isOpen = true;
      return;
    }
    const [nameToken, ...typeTokens] = chunk;
    if (nameToken!.kind !== 'word' && nameToken!.kind !== 'quoted') throw cursor.error(`${what}: expected a column name, found '${nameToken!.text}'`, nameToken);
    if (typeTokens.length === 0) throw cursor.error(`${what}: column ${nameToken!.text} has no type`, nameToken, `write ${nameToken!.text} <type>, e.g. ${nameToken!.text} text`);
    const name = unquoteIdentifier(nameToken!.text);
    if (seen.has(name)) throw cursor.error(`${what}: column ${name} is declared twice`, nameToken);
    seen.add(name);
    const type = sql.slice(typeTokens[0]!.start, typeTokens[typeTokens.length - 1]!.end).replace(/\s+/g, ' ');
    columns.push({ name, type });
  };
  let depth = 0;
  for (let index = open + 1; index < close; index++) {
    const token = cursor.tokens[index]!;
    if (token.kind === 'punct' && (token.text === '(' || token.text === '[')) depth++;
    else if (token.kind === 'punct' && (token.text === ')' || token.text === ']')) depth--;
    else if (depth === 0 && token.kind === 'punct' && token.text === ',') {
      addChunk(index);
      chunkStart = index + 1;
    }
  }
  addChunk(close);
  if (columns.length === 0) throw cursor.error(`${what}: declares no column`, openToken, 'declare at least one column before ...');
  cursor.index = close + 1;
  if (readFixture && cursor.isWord('FROM') && cursor.isWord('FILE', 1)) {
    const from = cursor.peek()!;
    cursor.index += 2;
    const pathToken = cursor.peek();
    if (pathToken?.kind !== 'string' || !pathToken.text.startsWith("'")) throw cursor.error(`${what}: expected the fixture's path as a string${cursor.found()}`, pathToken, `write ${what}(…) FROM FILE 'tests/fixtures/events.json'`);
    cursor.index++;
    const file = pathToken.text.slice(1, -1).replace(/''/g, "'");
    const query = readFixture(file, columns, cursor.at(pathToken));
    return { columns, open: isOpen, query, location, file: { path: file, span: { start: from.start, end: pathToken.end } } };
  }
  cursor.expectWord('AS', `write ${what}(…) AS (<query>)${readFixture && what.startsWith('MOCK') ? ", or FROM FILE '<events.json>'" : ''}`);
  const queryOpen = cursor.peek();
  if (!queryOpen || queryOpen.kind !== 'punct' || queryOpen.text !== '(') {
    throw cursor.error(`${what}: expected '(' and the query of its rows${cursor.found()}`, queryOpen, `write ${what}(…) AS (SELECT …)`);
  }
  const queryClose = cursor.closing(cursor.index);
  const query = sql.slice(queryOpen.end, cursor.tokens[queryClose]!.start).trim();
  if (query === '') throw cursor.error(`${what}: the query is empty`, queryOpen, `write the rows, e.g. AS (SELECT * FROM (VALUES ('a', 1)) AS v)`);
  cursor.index = queryClose + 1;
  return { columns, open: isOpen, query, location };
}
