/**
 * Recognises the Materialize statements the local server must handle itself and parses them into
 * plain objects. Anything not recognised here is PostgreSQL's business and passes through untouched.
 * Syntax follows Materialize's documentation (../shared/DESIGN.md, "Facts to build on").
 */
import {
  checkCreateCluster,
  checkReplica,
  parseClusterOptions,
  parseOptionNames,
  parseReplicaOptions,
  type ClusterOptionName,
  type ClusterOptions,
  type ReplicaOptions,
} from './cluster-statements.ts';
import { MzStatementError } from './mz-statements-error.ts';
import { MATERIALIZE_SERVER_VERSION, MATERIALIZE_SERVER_VERSION_NUM } from './server-version.ts';
import { SqlSyntaxError, sqlIdentifier, sqlLiteral, type StatementSpan, type Token } from './tokens.ts';
import { mzVariable, type MzVariable } from './session-variables.ts';

export interface QualifiedName {
  database: string | null;
  schema: string | null;
  name: string;
}

export type BodyFormat = 'text' | 'json' | 'json_array' | 'bytes';

export interface MappedHeader {
  header: string;
  column: string;
  bytes: boolean;
}

export interface CheckBinding {
  kind: 'body' | 'headers' | 'secret';
  secret?: QualifiedName;
  alias: string;
  bytes: boolean;
}

export interface WebhookCheck {
  bindings: CheckBinding[];
  /** The expression's source text with now() already replaced by the receive-time parameter. */
  expression: string;
  /** False when the expression names none of the bound columns (Materialize refuses it). */
  referencesColumns: boolean;
}

export type DroppableType = 'source' | 'view' | 'materialized view' | 'index' | 'secret' | 'connection' | 'table';
export type ShowableType =
  | 'sources'
  | 'views'
  | 'materialized views'
  | 'secrets'
  | 'clusters'
  | 'cluster replicas'
  | 'connections'
  | 'tables'
  | 'indexes'
  | 'schemas'
  | 'databases'
  | 'objects';

export type ShowCreateType = 'view' | 'materialized view' | 'source' | 'table' | 'index' | 'sink' | 'connection' | 'cluster';

/** `LIKE 'pattern'` (on the first column) or `WHERE condition`, as every SHOW takes. */
export type ShowFilter = { like: string } | { where: string } | null;

export type MzStatement =
  | { kind: 'create_cluster'; name: string; options: ClusterOptions }
  | { kind: 'alter_cluster'; name: string; ifExists: boolean; set: ClusterOptions; reset: ClusterOptionName[] }
  | { kind: 'create_cluster_replica'; cluster: string; name: string; options: ReplicaOptions }
  | { kind: 'drop_cluster_replica'; ifExists: boolean; replicas: Array<{ cluster: string; name: string }> }
  | { kind: 'drop_cluster'; names: string[]; ifExists: boolean; cascade: boolean }
  | { kind: 'set_cluster'; name: string }
  | { kind: 'show_cluster' }
  /** Materialize's own session variables (session-variables.ts); value null: RESET or SET … DEFAULT. */
  | { kind: 'set_variable'; variable: MzVariable; value: string | null }
  | { kind: 'show_variable'; variable: MzVariable }
  /** Materialize's max_result_size (null: back to the default, as SET … DEFAULT and RESET do). */
  | { kind: 'set_max_result_size'; value: string | null }
  | { kind: 'show_max_result_size' }
  | { kind: 'create_secret'; name: QualifiedName; ifNotExists: boolean; valueSql: string }
  | { kind: 'alter_secret'; name: QualifiedName; ifExists: boolean; valueSql: string }
  | {
      kind: 'create_webhook_source';
      name: QualifiedName;
      ifNotExists: boolean;
      cluster: string | null;
      bodyFormat: BodyFormat;
      includeHeaders: { allow: string[]; block: string[] } | null;
      mappedHeaders: MappedHeader[];
      check: WebhookCheck | null;
    }
  | {
      kind: 'create_kafka_connection';
      name: QualifiedName;
      ifNotExists: boolean;
      options: Record<string, string | QualifiedName>;
    }
  | {
      kind: 'create_kafka_source';
      name: QualifiedName;
      ifNotExists: boolean;
      cluster: string | null;
      connection: QualifiedName;
      topic: string;
    }
  | {
      kind: 'create_materialized_view';
      name: QualifiedName;
      orReplace: boolean;
      ifNotExists: boolean;
      cluster: string | null;
      /** `[(columns)] AS query`, as PostgreSQL's CREATE VIEW takes it. */
      viewSql: string;
      /**
       * REFRESH AT / ALIGNED TO expressions to check at CREATE time (each must be a constant that
       * reads as an mz_timestamp) and REFRESH EVERY intervals (positive, days at most).
       */
      refreshChecks?: Array<{ context: string; expression?: string; interval?: string }>;
    }
  | {
      kind: 'create_index';
      name: QualifiedName | null;
      ifNotExists: boolean;
      cluster: string | null;
      on: QualifiedName;
      keySql: string | null;
    }
  | { kind: 'drop'; objectType: DroppableType; names: QualifiedName[]; ifExists: boolean; cascade: boolean }
  | { kind: 'rename'; objectType: DroppableType | 'cluster'; name: QualifiedName; ifExists: boolean; newName: string }
  | { kind: 'swap_schema'; database: string | null; schema: string; other: string }
  | { kind: 'swap_cluster'; name: string; other: string }
  | { kind: 'show'; what: ShowableType; schema: string | null; cluster: string | null; filter: ShowFilter; on?: QualifiedName }
  | { kind: 'show_columns'; relation: QualifiedName; filter: ShowFilter }
  | { kind: 'show_create'; objectType: ShowCreateType; name: QualifiedName }
  | { kind: 'show_search_path' }
  | { kind: 'show_constant'; column: string; value: string }
  | { kind: 'set_search_path'; valueSql: string }
  | { kind: 'unsupported'; feature: string; advice?: string };

export { MzStatementError };

/** Reading a statement's tokens; also the base of the SUBSCRIBE family's parser. */
/** Units an interval literal may name after its string (`'1' day`), as Materialize's parser takes them. */
const INTERVAL_UNITS = new Set(['year', 'years', 'month', 'months', 'day', 'days', 'hour', 'hours', 'minute', 'minutes', 'second', 'seconds']);
const DAYS_MAX = 2147483647n;

/**
 * REFRESH EVERY's interval: a string, optionally followed by its unit (`'2' days`, as in an
 * interval literal). A whole number of days past the 32-bit range fails as Materialize's interval
 * parser fails it (materialized_views.slt).
 */
function refreshInterval(cursor: Cursor): string {
  const text = cursor.string();
  const unit = cursor.peek();
  if (unit?.type !== 'word' || !INTERVAL_UNITS.has(unit.value)) return text;
  cursor.index++;
  const days = /^\s*([+-]?\d+)\s*$/.exec(text);
  if (days && unit.value.startsWith('day') && (BigInt(days[1]!) > DAYS_MAX || BigInt(days[1]!) < -DAYS_MAX - 1n)) {
    throw new MzStatementError(
      `invalid input syntax for type interval: Overflows maximum days; cannot exceed 2147483647/-2147483648 days: "${text}"`,
      '22008',
    );
  }
  return `${text} ${unit.value}`;
}

export class Cursor {
  index = 0;
  constructor(
    readonly tokens: Token[],
    readonly sql: string,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  isWord(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.type === 'word' && token.value === word;
  }

  /** Consumes the words if they come next, in order. */
  accept(...words: string[]): boolean {
    for (let offset = 0; offset < words.length; offset++) {
      if (!this.isWord(words[offset]!, offset)) return false;
    }
    this.index += words.length;
    return true;
  }

  acceptPunct(punct: string): boolean {
    const token = this.peek();
    if ((token?.type === 'punct' || token?.type === 'operator') && token.value === punct) {
      this.index++;
      return true;
    }
    return false;
  }

  expect(...words: string[]): void {
    if (!this.accept(...words)) this.fail(`Expected ${words.join(' ').toUpperCase()}`);
  }

  expectPunct(punct: string): void {
    if (!this.acceptPunct(punct)) this.fail(`Expected ${punct}`);
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  fail(expected: string): never {
    const token = this.peek();
    const found = token ? `found ${describe(token)}` : 'found EOF';
    throw new MzStatementError(`${expected}, ${found}`);
  }

  identifier(): string {
    const token = this.peek();
    if (token?.type === 'word' || token?.type === 'quoted') {
      this.index++;
      return token.value;
    }
    return this.fail('Expected identifier');
  }

  qualifiedName(): QualifiedName {
    const parts = [this.identifier()];
    while (this.acceptPunct('.')) parts.push(this.identifier());
    if (parts.length > 3) throw new MzStatementError(`qualified name did not have between 1 and 3 components: ${parts.join('.')}`);
    const name = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2]! : null;
    const database = parts.length === 3 ? parts[0]! : null;
    return { database, schema, name };
  }

  string(): string {
    const token = this.peek();
    if (token?.type !== 'string') return this.fail('Expected literal string');
    this.index++;
    return token.value;
  }

  /** The source text from the current token to the end of the statement. */
  rest(): string {
    const token = this.peek();
    if (!token) return '';
    return this.sql.slice(token.start, this.tokens[this.tokens.length - 1]!.end);
  }

  /** Index of the `)` matching the `(` at the current position. */
  matchingParen(): number {
    let depth = 0;
    for (let at = this.index; at < this.tokens.length; at++) {
      const token = this.tokens[at]!;
      if (token.type !== 'punct') continue;
      if (token.value === '(' || token.value === '[') depth++;
      if (token.value === ')' || token.value === ']') {
        depth--;
        if (depth === 0) return at;
      }
    }
    return this.fail('Expected )');
  }

  /** An optional `IN CLUSTER name`. */
  inCluster(): string | null {
    return this.accept('in', 'cluster') ? this.identifier() : null;
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'word':
      return `${token.value.toUpperCase()}`;
    case 'quoted':
      return `identifier "${token.value}"`;
    case 'string':
      return `literal string '${token.value}'`;
    case 'number':
      return `number "${token.value}"`;
    default:
      return PUNCT_NAMES[token.value] ?? token.value;
  }
}

/** Punctuation as Materialize's parser names it in `Expected …, found …`. */
const PUNCT_NAMES: Record<string, string> = {
  '(': 'left parenthesis', ')': 'right parenthesis', ',': 'comma', ';': 'semicolon', '[': 'left square bracket',
  ']': 'right square bracket', '.': 'dot',
};

const DROPPABLE: Array<[string[], DroppableType]> = [
  [['materialized', 'view'], 'materialized view'],
  [['source'], 'source'],
  [['view'], 'view'],
  [['table'], 'table'],
  [['index'], 'index'],
  [['secret'], 'secret'],
  [['connection'], 'connection'],
];

/**
 * Parses a statement if it is one the local server handles; `null` means "pass it through".
 * Throws MzStatementError for a recognised statement that is malformed.
 */
export function parseMzStatement(statement: StatementSpan, sql: string): MzStatement | null {
  const cursor = new Cursor(statement.tokens, sql);
  const first = cursor.peek();
  if (first?.type !== 'word') return null;
  switch (first.value) {
    case 'create':
      return parseCreate(cursor);
    case 'drop':
      return parseDrop(cursor);
    case 'alter':
      return parseAlter(cursor);
    case 'set':
      return parseSet(cursor);
    case 'show':
      return parseShow(cursor);
    case 'reset': {
      cursor.expect('reset');
      const variable = acceptMzVariable(cursor);
      if (variable && cursor.atEnd()) return { kind: 'set_variable', variable, value: null };
      cursor.index = 1;
      return cursor.accept('max_result_size') && cursor.atEnd() ? { kind: 'set_max_result_size', value: null } : null;
    }
    // SUBSCRIBE is served by the wire layer itself (subscribe/subscribe-session.ts), over the simple
    // and the extended protocol, when it is a statement of its own; what reaches here shared a
    // query string with other statements.
    case 'subscribe':
    case 'copy': {
      if (first.value === 'copy' && !cursor.isWord('subscribe', 2) && !cursor.isWord('subscribe', 1)) return null;
      const advice = 'send it as a statement of its own';
      return { kind: 'unsupported', feature: `${first.value === 'copy' ? 'COPY (SUBSCRIBE …)' : 'SUBSCRIBE'} in a query string with other statements`, advice };
    }
    default:
      return null;
  }
}

function parseCreate(cursor: Cursor): MzStatement | null {
  cursor.expect('create');
  if (cursor.accept('cluster')) return parseCreateCluster(cursor);
  if (cursor.accept('secret')) {
    const ifNotExists = cursor.accept('if', 'not', 'exists');
    const name = cursor.qualifiedName();
    cursor.expect('as');
    const valueSql = cursor.rest();
    if (!valueSql) cursor.fail('Expected an expression');
    return { kind: 'create_secret', name, ifNotExists, valueSql };
  }
  if (cursor.accept('source')) return parseCreateSource(cursor);
  if (cursor.accept('connection')) return parseCreateConnection(cursor);
  if (cursor.accept('sink')) return { kind: 'unsupported', feature: 'CREATE SINK' };
  const orReplace = cursor.accept('or', 'replace');
  if (cursor.accept('materialized', 'view')) return parseCreateMaterializedView(cursor, orReplace);
  if (cursor.isWord('index') || cursor.isWord('default')) return parseCreateIndex(cursor);
  return null;
}

function parseCreateCluster(cursor: Cursor): MzStatement {
  if (cursor.accept('replica')) {
    const cluster = cursor.identifier();
    cursor.expectPunct('.');
    const name = cursor.identifier();
    const options = parseReplicaOptions(cursor, false);
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    checkReplica(options);
    return { kind: 'create_cluster_replica', cluster, name, options };
  }
  const name = cursor.identifier();
  const options = parseClusterOptions(cursor);
  // FEATURES (…) is for system users only in Materialize.
  if (cursor.accept('features')) throw new MzStatementError('FEATURES not supported for non-system users', 'XX000');
  if (!cursor.atEnd()) cursor.fail('Expected end of statement');
  checkCreateCluster(options);
  return { kind: 'create_cluster', name, options };
}

function skipOptionValue(cursor: Cursor): void {
  const token = cursor.peek();
  if (token?.type === 'punct' && token.value === '(') {
    cursor.index = cursor.matchingParen() + 1;
    return;
  }
  if (token && !(token.type === 'punct' && (token.value === ',' || token.value === ')'))) cursor.index++;
}

function parseCreateSource(cursor: Cursor): MzStatement {
  const ifNotExists = cursor.accept('if', 'not', 'exists');
  const name = cursor.qualifiedName();
  const cluster = cursor.inCluster();
  cursor.expect('from');
  if (cursor.accept('webhook')) return parseWebhookSource(cursor, name, ifNotExists, cluster);
  if (cursor.accept('kafka')) {
    cursor.expect('connection');
    const connection = cursor.qualifiedName();
    cursor.expectPunct('(');
    let topic: string | null = null;
    do {
      if (cursor.accept('topic')) {
        cursor.acceptPunct('=');
        topic = cursor.string();
      } else {
        // GROUP ID PREFIX, START OFFSET …: meaningless for rows that arrive over HTTP.
        while (!cursor.atEnd() && !(cursor.peek()!.type === 'punct' && [',', ')'].includes(cursor.peek()!.value))) {
          skipOptionValue(cursor);
        }
      }
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
    if (topic === null) throw new MzStatementError('KAFKA CONNECTION without TOPIC');
    if (cursor.accept('format')) {
      if (!cursor.accept('bytes')) {
        throw new MzStatementError('the local server supports Kafka sources with FORMAT BYTES only', '0A000');
      }
    } else if (!cursor.atEnd()) {
      throw new MzStatementError('the local server supports Kafka sources with FORMAT BYTES only', '0A000');
    }
    if (cursor.accept('envelope')) {
      if (!cursor.accept('none')) throw new MzStatementError('the local server supports ENVELOPE NONE only', '0A000');
    }
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    return { kind: 'create_kafka_source', name, ifNotExists, cluster, connection, topic };
  }
  if (cursor.accept('load', 'generator')) return { kind: 'unsupported', feature: 'CREATE SOURCE … FROM LOAD GENERATOR' };
  const other = cursor.peek();
  return { kind: 'unsupported', feature: `CREATE SOURCE … FROM ${other ? other.value.toUpperCase() : ''}`.trim() };
}

function parseWebhookSource(
  cursor: Cursor,
  name: QualifiedName,
  ifNotExists: boolean,
  cluster: string | null,
): MzStatement {
  cursor.expect('body', 'format');
  let bodyFormat: BodyFormat;
  if (cursor.accept('text')) bodyFormat = 'text';
  else if (cursor.accept('bytes')) bodyFormat = 'bytes';
  else if (cursor.accept('json', 'array')) bodyFormat = 'json_array';
  else if (cursor.accept('json')) bodyFormat = 'json';
  else cursor.fail('Expected one of BYTES, JSON or TEXT');

  let includeHeaders: { allow: string[]; block: string[] } | null = null;
  const mappedHeaders: MappedHeader[] = [];
  const columns = new Set(['body']);
  const addColumn = (column: string) => {
    // Materialize's words (webhook.slt: an INCLUDE HEADER named as another column, or as body).
    if (columns.has(column)) throw new MzStatementError(`column reference "${column}" is ambiguous`, '42702');
    columns.add(column);
  };
  let check: WebhookCheck | null = null;
  while (!cursor.atEnd()) {
    if (cursor.accept('include', 'headers')) {
      if (includeHeaders) throw new MzStatementError('INCLUDE HEADERS specified more than once');
      addColumn('headers');
      includeHeaders = { allow: [], block: [] };
      if (cursor.acceptPunct('(')) {
        do {
          const blocked = cursor.accept('not');
          const header = cursor.string().toLowerCase();
          (blocked ? includeHeaders.block : includeHeaders.allow).push(header);
        } while (cursor.acceptPunct(','));
        cursor.expectPunct(')');
      }
    } else if (cursor.accept('include', 'header')) {
      const header = cursor.string().toLowerCase();
      cursor.expect('as');
      const column = cursor.identifier();
      addColumn(column);
      mappedHeaders.push({ header, column, bytes: cursor.accept('bytes') });
    } else if (cursor.accept('check')) {
      if (check) throw new MzStatementError('CHECK specified more than once');
      check = parseCheck(cursor);
    } else {
      cursor.fail('Expected one of CHECK or INCLUDE');
    }
  }
  return { kind: 'create_webhook_source', name, ifNotExists, cluster, bodyFormat, includeHeaders, mappedHeaders, check };
}

function parseCheck(cursor: Cursor): WebhookCheck {
  const close = (() => {
    const token = cursor.peek();
    if (!(token?.type === 'punct' && token.value === '(')) cursor.fail('Expected (');
    return cursor.matchingParen();
  })();
  cursor.expectPunct('(');
  const bindings: CheckBinding[] = [];
  if (cursor.accept('with')) {
    cursor.expectPunct('(');
    do {
      let binding: CheckBinding;
      if (cursor.accept('body')) binding = { kind: 'body', alias: 'body', bytes: false };
      else if (cursor.accept('headers')) binding = { kind: 'headers', alias: 'headers', bytes: false };
      else if (cursor.accept('secret')) {
        const secret = cursor.qualifiedName();
        binding = { kind: 'secret', secret, alias: secret.name, bytes: false };
      } else cursor.fail('Expected one of BODY, HEADERS or SECRET');
      // Materialize's own guides write both `AS alias BYTES` and `BYTES AS alias`.
      let aliased = false;
      for (;;) {
        if (!aliased && cursor.accept('as')) {
          binding.alias = cursor.identifier();
          aliased = true;
        } else if (!binding.bytes && cursor.accept('bytes')) {
          binding.bytes = true;
        } else break;
      }
      if (bindings.some((other) => other.alias === binding.alias)) {
        // Materialize's words (webhook.slt: `WITH (HEADERS, HEADERS)`).
        throw new MzStatementError(`column reference "${binding.alias}" is ambiguous`, '42702');
      }
      bindings.push(binding);
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  if (cursor.index >= close) cursor.fail('Expected an expression');
  const expressionTokens = cursor.tokens.slice(cursor.index, close);
  cursor.index = close + 1;
  refuseCheckExpression(expressionTokens);
  // Without a WITH clause the local server still binds body and headers (translate.ts, checkQuery).
  const inScope = new Set([...bindings.map((binding) => binding.alias), ...['body', 'headers'].filter((name) => !bindings.some((binding) => binding.kind === name))]);
  return { bindings, expression: rewriteNow(expressionTokens, cursor.sql), referencesColumns: referencesAny(expressionTokens, inScope) };
}

/**
 * Functions whose value depends on the session or the catalog, which Materialize refuses in a CHECK
 * (webhook.slt: mz_now(), current_database()); now() and current_timestamp are allowed (the time the
 * request was received).
 */
const NOT_DETERMINISTIC = new Set([
  'mz_now', 'current_database', 'current_user', 'current_role', 'current_schema', 'current_schemas', 'session_user', 'user',
  'mz_version', 'mz_version_num', 'mz_environment_id', 'pg_backend_pid', 'random', 'gen_random_uuid',
]);
const BARE_NOT_DETERMINISTIC = new Set(['current_user', 'current_role', 'current_schema', 'session_user', 'user']);

/** Refuses, with Materialize's words, a CHECK that calls such a function or has a subquery. */
function refuseCheckExpression(tokens: Token[]): void {
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.type === 'punct' && token.value === '(' && tokens[index + 1]?.type === 'word' && tokens[index + 1]!.value === 'select') {
      throw new MzStatementError('CHECK does not allow subqueries', '0A000');
    }
    if (token.type !== 'word' || !NOT_DETERMINISTIC.has(token.value) || isQualifiedPart(tokens, index)) continue;
    const called = tokens[index + 1]?.type === 'punct' && tokens[index + 1]!.value === '(';
    if (called || BARE_NOT_DETERMINISTIC.has(token.value)) throw new MzStatementError('expression provided in CHECK is not deterministic', '0A000');
  }
}

/** Whether the expression names one of `columns` (a name, not a function called so or a field after a dot). */
function referencesAny(tokens: Token[], columns: ReadonlySet<string>): boolean {
  return tokens.some((token, index) => {
    if (token.type === 'quoted') return columns.has(token.value);
    if (token.type !== 'word' || !columns.has(token.value) || isQualifiedPart(tokens, index)) return false;
    const next = tokens[index + 1];
    return !(next?.type === 'punct' && next.value === '(');
  });
}

/**
 * CHECK's now() (and current_timestamp) is the time the request was received (DESIGN.md); here it becomes the third
 * parameter of the check query. mz_now() was refused before (refuseCheckExpression).
 */
function rewriteNow(tokens: Token[], sql: string): string {
  let text = '';
  let copiedUpTo = tokens[0]!.start;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const open = tokens[index + 1];
    const close = tokens[index + 2];
    const isCall = open?.type === 'punct' && open.value === '(' && close?.type === 'punct' && close.value === ')';
    if (token.type === 'word' && token.value === 'now' && isCall && !isQualifiedPart(tokens, index)) {
      text += sql.slice(copiedUpTo, token.start) + '($3::timestamptz)';
      copiedUpTo = close!.end;
      index += 2;
    } else if (token.type === 'word' && token.value === 'current_timestamp' && !isQualifiedPart(tokens, index)) {
      // current_timestamp, or Materialize's current_timestamp(), is the receive time as now() is.
      text += sql.slice(copiedUpTo, token.start) + '($3::timestamptz)';
      copiedUpTo = isCall ? close!.end : token.end;
      if (isCall) index += 2;
    }
  }
  return text + sql.slice(copiedUpTo, tokens[tokens.length - 1]!.end);
}

function isQualifiedPart(tokens: Token[], index: number): boolean {
  const before = tokens[index - 1];
  return before?.type === 'punct' && before.value === '.';
}

/** Materialize's Kafka connection options, longest first so `SSL CERTIFICATE AUTHORITY` wins. */
const KAFKA_CONNECTION_OPTIONS: string[][] = [
  ['progress', 'topic', 'replication', 'factor'],
  ['ssl', 'certificate', 'authority'],
  ['security', 'protocol'],
  ['sasl', 'mechanisms'],
  ['sasl', 'username'],
  ['sasl', 'password'],
  ['ssl', 'certificate'],
  ['ssl', 'key'],
  ['progress', 'topic'],
  ['aws', 'connection'],
  ['aws', 'privatelink'],
  ['ssh', 'tunnel'],
  ['brokers'],
  ['broker'],
];

function parseCreateConnection(cursor: Cursor): MzStatement {
  const ifNotExists = cursor.accept('if', 'not', 'exists');
  const name = cursor.qualifiedName();
  cursor.expect('to');
  if (!cursor.accept('kafka')) {
    const other = cursor.peek();
    return { kind: 'unsupported', feature: `CREATE CONNECTION … TO ${other ? other.value.toUpperCase() : ''}`.trim() };
  }
  cursor.expectPunct('(');
  const options: Record<string, string | QualifiedName> = {};
  do {
    const option = KAFKA_CONNECTION_OPTIONS.find((words) => cursor.accept(...words));
    if (!option) cursor.fail(`Expected one of ${KAFKA_CONNECTION_OPTIONS.map((words) => words.join(' ').toUpperCase()).sort().join(', ')}`);
    const key = option.join(' ');
    cursor.acceptPunct('=');
    if (cursor.accept('secret')) options[key] = cursor.qualifiedName();
    else if (cursor.peek()?.type === 'string') options[key] = cursor.string();
    else if (cursor.peek()?.type === 'punct' && cursor.peek()!.value === '(') {
      const close = cursor.matchingParen();
      options[key] = cursor.sql.slice(cursor.peek()!.start, cursor.tokens[close]!.end);
      cursor.index = close + 1;
    } else options[key] = cursor.identifier();
  } while (cursor.acceptPunct(','));
  cursor.expectPunct(')');
  if (!('broker' in options) && !('brokers' in options)) {
    throw new MzStatementError('KAFKA CONNECTION must specify BROKER or BROKERS');
  }
  if (cursor.accept('with')) {
    // WITH (VALIDATE = false): nothing to validate against locally.
    cursor.index = cursor.matchingParen() + 1;
  }
  if (!cursor.atEnd()) cursor.fail('Expected end of statement');
  return { kind: 'create_kafka_connection', name, ifNotExists, options };
}

function parseCreateMaterializedView(cursor: Cursor, orReplace: boolean): MzStatement {
  const ifNotExists = cursor.accept('if', 'not', 'exists');
  if (orReplace && ifNotExists) throw new MzStatementError('cannot combine OR REPLACE and IF NOT EXISTS');
  const name = cursor.qualifiedName();
  let columns = '';
  if (cursor.peek()?.type === 'punct' && cursor.peek()!.value === '(') {
    const close = cursor.matchingParen();
    columns = cursor.sql.slice(cursor.peek()!.start, cursor.tokens[close]!.end) + ' ';
    cursor.index = close + 1;
  }
  const cluster = cursor.inCluster();
  const assertNotNull: string[] = [];
  const refreshChecks: NonNullable<Extract<MzStatement, { kind: 'create_materialized_view' }>['refreshChecks']> = [];
  let onCommit = 0;
  let otherRefresh = 0;
  if (cursor.accept('with')) {
    // WITH (ASSERT NOT NULL col, …, REFRESH …): each asserted column is checked whenever the view
    // is read (Materialize's `column "x" must not be null`); REFRESH options are checked as
    // Materialize checks them, then the view stays fresh on every read, as REFRESH ON COMMIT
    // (docs/local-server.md).
    const close = cursor.matchingParen();
    cursor.expectPunct('(');
    while (cursor.index < close) {
      if (cursor.accept('assert', 'not', 'null')) {
        cursor.acceptPunct('=');
        const column = cursor.identifier();
        if (assertNotNull.includes(column)) throw new MzStatementError(`duplicate column "${column}" in non-null assertions`);
        assertNotNull.push(column);
      } else if (cursor.accept('refresh')) {
        cursor.acceptPunct('=');
        if (cursor.accept('on', 'commit')) onCommit++;
        else if (cursor.accept('at', 'creation')) otherRefresh++;
        else if (cursor.accept('at')) {
          otherRefresh++;
          refreshChecks.push({ context: 'REFRESH AT', expression: refreshExpression(cursor, close, 'REFRESH AT') });
        } else if (cursor.accept('every')) {
          otherRefresh++;
          refreshChecks.push({ context: 'REFRESH EVERY', interval: refreshInterval(cursor) });
          if (cursor.accept('aligned', 'to')) {
            refreshChecks.push({ context: 'REFRESH EVERY ... ALIGNED TO', expression: refreshExpression(cursor, close, 'REFRESH EVERY ... ALIGNED TO') });
          }
        } else cursor.fail('Expected one of ON or AT or EVERY');
      } else {
        cursor.fail('Expected one of ASSERT or REFRESH');
      }
      if (!cursor.acceptPunct(',')) {
        if (cursor.index < close) cursor.fail('Expected right parenthesis');
        break;
      }
    }
    cursor.expectPunct(')');
  }
  if (onCommit > 1) throw new MzStatementError('REFRESH ON COMMIT cannot be specified multiple times');
  if (onCommit > 0 && otherRefresh > 0) throw new MzStatementError('REFRESH ON COMMIT is not compatible with any of the other REFRESH options');
  cursor.expect('as');
  const query = cursor.rest();
  if (!query) cursor.fail('Expected SELECT, VALUES, or a subquery in the query body');
  const checked = refreshChecks.length > 0 ? { refreshChecks } : {};
  if (assertNotNull.length === 0) return { kind: 'create_materialized_view', name, orReplace, ifNotExists, cluster, viewSql: `${columns}AS ${query}`, ...checked };
  // OFFSET 0 keeps a reader's own filters out of the check: a NULL fails every read, as in Materialize.
  const checks = assertNotNull.map((column) => `mz_local.assert_not_null(mz_asserted.${sqlIdentifier(column)} IS NULL, ${sqlLiteral(column)})`);
  const alias = columns ? `mz_asserted${columns.trimEnd()}` : 'mz_asserted';
  return {
    kind: 'create_materialized_view',
    name,
    orReplace,
    ifNotExists,
    cluster,
    viewSql: `${columns}AS SELECT * FROM (SELECT * FROM (${query}) AS ${alias} WHERE ${checks.join(' AND ')} OFFSET 0) AS mz_asserted`,
    ...checked,
  };
}

const REFRESH_AGGREGATES = new Set(['sum', 'count', 'min', 'max', 'avg', 'array_agg', 'string_agg', 'jsonb_agg', 'bool_and', 'bool_or']);
const TIME_DEPENDENT = new Set(['now', 'current_timestamp', 'localtimestamp', 'current_date', 'current_time', 'localtime']);

/**
 * A REFRESH AT / ALIGNED TO expression, up to the next top-level comma or the option list's end:
 * refused as Materialize refuses it when it holds a subquery, an aggregate or a window function,
 * or reads the wall clock (now(): a timestamptz, not an mz_timestamp constant). The rest (it must
 * read as an mz_timestamp) is checked when the statement runs (mz_local.check_refresh_time).
 */
function refreshExpression(cursor: Cursor, close: number, context: string): string {
  const start = cursor.index;
  let depth = 0;
  while (cursor.index < close && !(depth === 0 && cursor.peek()?.type === 'punct' && cursor.peek()!.value === ',')) {
    const token = cursor.peek()!;
    if (token.type === 'punct' && (token.value === '(' || token.value === '[')) depth++;
    if (token.type === 'punct' && (token.value === ')' || token.value === ']')) depth--;
    cursor.index++;
  }
  if (cursor.index === start) cursor.fail('Expected an expression');
  const tokens = cursor.tokens.slice(start, cursor.index);
  const mention = `${context} argument must be an expression that can be simplified and/or cast to a constant whose type is mz_timestamp`;
  for (let at = 0; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (token.type !== 'word') continue;
    const next = tokens[at + 1];
    const called = next?.type === 'punct' && next.value === '(';
    if (token.value === 'select' && at > 0 && tokens[at - 1]!.type === 'punct' && tokens[at - 1]!.value === '(') {
      throw new MzStatementError(`${context} does not allow subqueries`);
    }
    if (called && tokens.slice(at).some((later, offset) => later.type === 'word' && later.value === 'over' && offset > 1)) {
      throw new MzStatementError(`window functions are not allowed in ${context} (function pg_catalog.${token.value})`);
    }
    if (called && REFRESH_AGGREGATES.has(token.value)) {
      throw new MzStatementError(`aggregate functions are not allowed in ${context} (function pg_catalog.${token.value})`);
    }
    if (TIME_DEPENDENT.has(token.value) && !(at > 0 && tokens[at - 1]!.type === 'punct' && tokens[at - 1]!.value === '.')) {
      const hasMzNow = tokens.some((other) => other.type === 'word' && other.value === 'mz_now');
      const greatest = tokens.some((other) => other.type === 'word' && (other.value === 'greatest' || other.value === 'least'));
      const cast = tokens[at + (called ? 3 : 1)];
      // greatest(mz_now(), now()): the two types do not match; now() alone (or cast) is no constant.
      if (hasMzNow && greatest && !(cast?.type === 'operator' && cast.value === '::')) {
        throw new MzStatementError(`${tokens.find((other) => other.value === 'greatest' || other.value === 'least')!.value} types mz_timestamp and timestamp with time zone cannot be matched`);
      }
      throw new MzStatementError(mention);
    }
  }
  return cursor.sql.slice(tokens[0]!.start, tokens[tokens.length - 1]!.end);
}

function parseCreateIndex(cursor: Cursor): MzStatement {
  const isDefault = cursor.accept('default');
  cursor.expect('index');
  const ifNotExists = cursor.accept('if', 'not', 'exists');
  let name: QualifiedName | null = null;
  if (!cursor.isWord('in') && !cursor.isWord('on')) {
    if (isDefault) cursor.fail('Expected IN or ON');
    name = cursor.qualifiedName();
  }
  const cluster = cursor.inCluster();
  cursor.expect('on');
  const on = cursor.qualifiedName();
  cursor.accept('using', 'arrangement');
  let keySql: string | null = null;
  if (cursor.peek()?.type === 'punct' && cursor.peek()!.value === '(') {
    const close = cursor.matchingParen();
    keySql = cursor.sql.slice(cursor.tokens[cursor.index + 1]!.start, cursor.tokens[close - 1]!.end);
    if (close === cursor.index + 1) keySql = null;
    cursor.index = close + 1;
  }
  if (isDefault && keySql) throw new MzStatementError('CREATE DEFAULT INDEX does not take key columns');
  if (!isDefault && keySql === null && cursor.atEnd()) {
    throw new MzStatementError('CREATE INDEX requires key columns, or use CREATE DEFAULT INDEX');
  }
  if (cursor.accept('with')) cursor.index = cursor.matchingParen() + 1;
  if (!cursor.atEnd()) cursor.fail('Expected end of statement');
  return { kind: 'create_index', name, ifNotExists, cluster, on, keySql };
}

function parseDrop(cursor: Cursor): MzStatement | null {
  cursor.expect('drop');
  if (cursor.accept('cluster')) {
    if (cursor.accept('replica')) {
      const ifExists = cursor.accept('if', 'exists');
      const replicas: Array<{ cluster: string; name: string }> = [];
      do {
        const cluster = cursor.identifier();
        cursor.expectPunct('.');
        replicas.push({ cluster, name: cursor.identifier() });
      } while (cursor.acceptPunct(','));
      dropBehaviour(cursor);
      return { kind: 'drop_cluster_replica', ifExists, replicas };
    }
    const ifExists = cursor.accept('if', 'exists');
    const names = [cursor.identifier()];
    while (cursor.acceptPunct(',')) names.push(cursor.identifier());
    const cascade = dropBehaviour(cursor);
    return { kind: 'drop_cluster', names, ifExists, cascade };
  }
  const objectType = droppableType(cursor);
  if (!objectType) return null;
  const ifExists = cursor.accept('if', 'exists');
  const names = [cursor.qualifiedName()];
  while (cursor.acceptPunct(',')) names.push(cursor.qualifiedName());
  const cascade = dropBehaviour(cursor);
  return { kind: 'drop', objectType, names, ifExists, cascade };
}

function droppableType(cursor: Cursor): DroppableType | null {
  for (const [words, type] of DROPPABLE) if (cursor.accept(...words)) return type;
  return null;
}

function dropBehaviour(cursor: Cursor): boolean {
  const cascade = cursor.accept('cascade');
  if (!cascade) cursor.accept('restrict');
  if (!cursor.atEnd()) cursor.fail('Expected end of statement');
  return cascade;
}

function parseAlter(cursor: Cursor): MzStatement | null {
  cursor.expect('alter');
  if (cursor.accept('cluster')) {
    const ifExists = cursor.accept('if', 'exists');
    const name = cursor.identifier();
    if (cursor.accept('rename', 'to')) {
      const newName = cursor.identifier();
      if (!cursor.atEnd()) cursor.fail('Expected end of statement');
      return { kind: 'rename', objectType: 'cluster', name: { database: null, schema: null, name }, ifExists, newName };
    }
    if (cursor.accept('swap', 'with')) {
      const other = cursor.identifier();
      if (!cursor.atEnd()) cursor.fail('Expected end of statement');
      return { kind: 'swap_cluster', name, other };
    }
    if (cursor.accept('set')) {
      if (cursor.peek()?.value !== '(') cursor.fail('Expected (');
      const set = parseClusterOptions(cursor);
      // WITH (WAIT UNTIL READY …| WAIT FOR …): a local cluster is ready at once.
      if (cursor.accept('with')) cursor.index = cursor.matchingParen() + 1;
      if (!cursor.atEnd()) cursor.fail('Expected end of statement');
      return { kind: 'alter_cluster', name, ifExists, set, reset: [] };
    }
    if (cursor.accept('reset')) {
      const reset = parseOptionNames(cursor);
      if (!cursor.atEnd()) cursor.fail('Expected end of statement');
      return { kind: 'alter_cluster', name, ifExists, set: {}, reset };
    }
    if (cursor.accept('owner', 'to')) return { kind: 'unsupported', feature: 'ALTER CLUSTER … OWNER TO' };
    return cursor.fail('Expected one of OWNER or RENAME or RESET or SET or SWAP');
  }
  if (cursor.accept('schema')) {
    const start = cursor.index;
    const name = cursor.qualifiedName();
    if (cursor.accept('swap', 'with')) {
      if (name.database !== null) cursor.fail(`schema name has too many parts: ${[name.database, name.schema, name.name].join('.')}`);
      const other = cursor.identifier();
      if (!cursor.atEnd()) cursor.fail('Expected end of statement');
      // `db.schema` parses as schema.name: the last part is the schema, the one before the database.
      return { kind: 'swap_schema', database: name.schema, schema: name.name, other };
    }
    cursor.index = start;
    return null;
  }
  const objectType = droppableType(cursor);
  if (!objectType) return null;
  const ifExists = cursor.accept('if', 'exists');
  const name = cursor.qualifiedName();
  if (cursor.accept('rename', 'to')) {
    const newName = cursor.identifier();
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    return { kind: 'rename', objectType, name, ifExists, newName };
  }
  if (objectType === 'secret' && cursor.accept('as')) {
    const valueSql = cursor.rest();
    if (!valueSql) cursor.fail('Expected an expression');
    return { kind: 'alter_secret', name, ifExists, valueSql };
  }
  if (objectType === 'view' || objectType === 'table') return null;
  return { kind: 'unsupported', feature: `ALTER ${objectType.toUpperCase()} … ${(cursor.peek()?.value ?? '').toUpperCase()}`.trim() };
}

function parseSet(cursor: Cursor): MzStatement | null {
  cursor.expect('set');
  cursor.accept('session');
  if (cursor.accept('search_path') || cursor.accept('schema')) {
    if (!cursor.acceptPunct('=')) cursor.expect('to');
    const valueSql = cursor.rest();
    if (!valueSql) cursor.fail('Expected a schema name');
    return { kind: 'set_search_path', valueSql };
  }
  if (cursor.accept('max_result_size')) {
    if (!cursor.acceptPunct('=')) cursor.expect('to');
    if (cursor.accept('default') && cursor.atEnd()) return { kind: 'set_max_result_size', value: null };
    const token = cursor.peek();
    const value = token?.type === 'string' ? cursor.string() : cursor.rest();
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    return { kind: 'set_max_result_size', value };
  }
  const variable = acceptMzVariable(cursor);
  if (!variable) return null;
  if (!cursor.acceptPunct('=')) cursor.expect('to');
  if (cursor.accept('default') && cursor.atEnd()) return { kind: 'set_variable', variable, value: null };
  const token = cursor.peek();
  const value = token?.type === 'string' ? cursor.string() : cursor.identifier();
  if (!cursor.atEnd()) cursor.fail('Expected end of statement');
  return { kind: 'set_variable', variable, value };
}

/** One of Materialize's own session variables (cluster, database, …), taken if next. */
function acceptMzVariable(cursor: Cursor): MzVariable | undefined {
  const token = cursor.peek();
  const variable = token?.type === 'word' ? mzVariable(token.value) : undefined;
  if (variable) cursor.accept(variable.name);
  return variable;
}

const SHOWABLE: Array<[string[], ShowableType]> = [
  [['materialized', 'views'], 'materialized views'],
  [['cluster', 'replicas'], 'cluster replicas'],
  [['sources'], 'sources'],
  [['views'], 'views'],
  [['secrets'], 'secrets'],
  [['clusters'], 'clusters'],
  [['connections'], 'connections'],
  [['tables'], 'tables'],
  [['indexes'], 'indexes'],
  [['schemas'], 'schemas'],
  [['databases'], 'databases'],
  [['objects'], 'objects'],
];

const SHOW_CREATE: Array<[string[], ShowCreateType]> = [
  [['materialized', 'view'], 'materialized view'],
  [['view'], 'view'],
  [['source'], 'source'],
  [['table'], 'table'],
  [['index'], 'index'],
  [['sink'], 'sink'],
  [['connection'], 'connection'],
  [['cluster'], 'cluster'],
];

function parseShow(cursor: Cursor): MzStatement | null {
  cursor.expect('show');
  const variable = cursor.accept('transaction', 'isolation', 'level') ? mzVariable('transaction_isolation') : acceptMzVariable(cursor);
  if (variable && cursor.atEnd()) return { kind: 'show_variable', variable };
  cursor.index = 1;
  if (cursor.accept('cluster') && cursor.atEnd()) return { kind: 'show_cluster' };
  cursor.index = 1;
  if (cursor.accept('max_result_size') && cursor.atEnd()) return { kind: 'show_max_result_size' };
  cursor.index = 1;
  if (cursor.accept('search_path') && cursor.atEnd()) return { kind: 'show_search_path' };
  cursor.index = 1;
  // Materialize's only isolation levels are serializable ones; its default is strict serializable.
  if ((cursor.accept('transaction', 'isolation', 'level') || cursor.accept('transaction_isolation')) && cursor.atEnd()) {
    return { kind: 'show_constant', column: 'transaction_isolation', value: 'strict serializable' };
  }
  cursor.index = 1;
  // The PostgreSQL version Materialize claims to be, as the startup reports it (wire-session.ts).
  if (cursor.accept('server_version') && cursor.atEnd()) return { kind: 'show_constant', column: 'server_version', value: MATERIALIZE_SERVER_VERSION };
  cursor.index = 1;
  if (cursor.accept('server_version_num') && cursor.atEnd()) return { kind: 'show_constant', column: 'server_version_num', value: MATERIALIZE_SERVER_VERSION_NUM };
  cursor.index = 1;
  if (cursor.accept('create')) {
    const found = SHOW_CREATE.find(([words]) => cursor.accept(...words));
    if (!found) return null;
    const name = found[1] === 'cluster' ? { database: null, schema: null, name: cursor.identifier() } : cursor.qualifiedName();
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    return { kind: 'show_create', objectType: found[1], name };
  }
  cursor.accept('full');
  if (cursor.accept('columns')) {
    if (!cursor.accept('from')) cursor.expect('in');
    const relation = cursor.qualifiedName();
    return { kind: 'show_columns', relation, filter: showFilter(cursor) };
  }
  for (const [words, what] of SHOWABLE) {
    if (!cursor.accept(...words)) continue;
    let schema: string | null = null;
    let cluster: string | null = null;
    let on: QualifiedName | undefined;
    for (;;) {
      if (cursor.accept('in', 'cluster')) {
        cluster = cursor.identifier();
      } else if (cursor.accept('from') || cursor.accept('in')) {
        const name = cursor.qualifiedName();
        schema = name.name;
      } else if (cursor.accept('on')) {
        on = cursor.qualifiedName();
      } else {
        break;
      }
    }
    return { kind: 'show', what, schema, cluster, filter: showFilter(cursor), ...(on ? { on } : {}) };
  }
  return null;
}

function showFilter(cursor: Cursor): ShowFilter {
  if (cursor.atEnd()) return null;
  if (cursor.accept('like')) {
    const like = cursor.string();
    if (!cursor.atEnd()) cursor.fail('Expected end of statement');
    return { like };
  }
  if (cursor.accept('where')) {
    const where = cursor.rest();
    if (!where) cursor.fail('Expected an expression');
    return { where };
  }
  return cursor.fail('Expected end of statement');
}

export { SqlSyntaxError };
