/**
 * Each wire connection's prepared statements, portals and cursors, kept apart by name in PGlite's
 * one session: a connection's names are given its own prefix (`7~s1`) on the way in — in Parse,
 * Bind, Describe, Execute and Close messages, and in PREPARE, EXECUTE, DEALLOCATE, DECLARE, FETCH,
 * MOVE, CLOSE and WHERE CURRENT OF — and taken off again in the error texts that name them. Two
 * connections can each prepare `s1` (psycopg 3, JDBC and pgx name theirs alike), and neither can
 * reach the other's.
 *
 * What acts on every name acts on the connection's own only: DEALLOCATE ALL, CLOSE ALL and
 * DISCARD ALL become a DO block over its own names (answered with their own command tags), and
 * RESET ALL (alone or in DISCARD ALL) keeps the server's role. The unnamed statement and portal
 * are not renamed: an extended query holds the session from its first message to its Sync
 * (session-queue.ts), so no other connection's message can land between them.
 */
import { cString, frame, readCString } from '../engine/protocol-bytes.ts';
import { SqlSyntaxError, splitStatements, sqlIdentifier, sqlLiteral, tokenize, type Token } from '../sql/tokens.ts';

const MAY_NAME = /\b(?:prepare|execute|deallocate|declare|fetch|move|close|discard|current\s+of|reset\s+all)\b/i;
const DO_TAG = 'DO';
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** A message as the database gets it, and what its answer needs fixed, if anything. */
export interface NamedMessage {
  message: Uint8Array;
  /** Per CommandComplete of the answer, in order: the tag its `DO` stands for (null: leave it). */
  tags: Array<string | null> | null;
}

export interface ConnectionNamesOptions {
  /** The role the server's session runs as: RESET ALL and DISCARD ALL keep it. */
  role?: string | null;
}

export class ConnectionNames {
  readonly prefix: string;
  /** Statements and portals whose execution answers a rewritten DEALLOCATE ALL and the like. */
  private statementTags = new Map<string, Array<string | null>>();
  private portalTags = new Map<string, Array<string | null>>();

  constructor(
    id: number,
    private readonly options: ConnectionNamesOptions = {},
  ) {
    this.prefix = `${id}~`;
  }

  /** The message with this connection's names; null when it names nothing (it goes as it is). */
  rewrite(message: Uint8Array): NamedMessage | null {
    switch (message[0]) {
      case 0x51 /* Q */: {
        const sql = readCString(message, 5).value;
        const rewritten = this.rewriteSql(sql);
        if (!rewritten) return null;
        return { message: frame('Q', [cString(rewritten.sql)]), tags: rewritten.tags };
      }
      case 0x50 /* P */: {
        const name = readCString(message, 5);
        const query = readCString(message, name.next);
        const rewritten = this.rewriteSql(query.value);
        const statement = this.named(name.value);
        if (rewritten?.tags) this.statementTags.set(statement, rewritten.tags);
        else this.statementTags.delete(statement);
        if (!rewritten && name.value === '') return null;
        return { message: frame('P', [cString(statement), cString(rewritten?.sql ?? query.value), message.subarray(query.next)]), tags: null };
      }
      case 0x42 /* B */: {
        const portal = readCString(message, 5);
        const statement = readCString(message, portal.next);
        const portalName = this.named(portal.value);
        const tags = this.statementTags.get(this.named(statement.value));
        if (tags) this.portalTags.set(portalName, tags);
        else this.portalTags.delete(portalName);
        if (portal.value === '' && statement.value === '') return null;
        return { message: frame('B', [cString(portalName), cString(this.named(statement.value)), message.subarray(statement.next)]), tags: null };
      }
      case 0x45 /* E */: {
        const portal = readCString(message, 5);
        const portalName = this.named(portal.value);
        const tags = this.portalTags.get(portalName) ?? null;
        if (portal.value === '' && !tags) return null;
        return { message: portal.value === '' ? message : frame('E', [cString(portalName), message.subarray(portal.next)]), tags };
      }
      case 0x44 /* D */:
      case 0x43 /* C */: {
        const kind = message[5]!;
        const name = readCString(message, 6);
        if (message[0] === 0x43) {
          (kind === 0x53 /* S */ ? this.statementTags : this.portalTags).delete(this.named(name.value));
        }
        if (name.value === '') return null;
        return { message: frame(String.fromCharCode(message[0]!), [new Uint8Array([kind]), cString(this.named(name.value)), message.subarray(name.next)]), tags: null };
      }
      default:
        return null;
    }
  }

  /**
   * Wraps the sink of an answer to a rewritten message: this connection's prefix comes off the
   * names in error texts, and `DO` tags become the tags of the statements they stand for.
   */
  responseSink(tags: Array<string | null> | null, sink: (data: Uint8Array) => void): (data: Uint8Array) => void {
    const pending = tags ? [...tags] : [];
    let carry = new Uint8Array(0);
    const quotedPrefix = `"${this.prefix}`;
    return (data) => {
      let bytes = data;
      if (carry.length > 0) {
        bytes = new Uint8Array(carry.length + data.length);
        bytes.set(carry);
        bytes.set(data, carry.length);
        carry = new Uint8Array(0);
      }
      const parts: Uint8Array[] = [];
      let offset = 0;
      let copiedUpTo = 0;
      while (offset + 5 <= bytes.length) {
        const end = offset + 1 + (((bytes[offset + 1]! << 24) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 8) | bytes[offset + 4]!) >>> 0);
        if (end > bytes.length) break;
        const type = bytes[offset]!;
        let replacement: Uint8Array | null = null;
        if (type === 0x43 /* C */) {
          const tag = pending.shift() ?? null;
          if (tag !== null && readCString(bytes, offset + 5).value === DO_TAG) replacement = frame('C', [cString(tag)]);
        } else if (type === 0x45 /* E */ || type === 0x4e /* N */) {
          replacement = unprefixedError(bytes.subarray(offset, end), quotedPrefix);
        }
        if (replacement) {
          parts.push(bytes.subarray(copiedUpTo, offset), replacement);
          copiedUpTo = end;
        }
        offset = end;
      }
      if (offset < bytes.length) carry = bytes.slice(offset);
      if (parts.length === 0) {
        if (offset > 0) sink(offset === bytes.length ? bytes : bytes.subarray(0, offset));
        return;
      }
      parts.push(bytes.subarray(copiedUpTo, offset));
      const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      sink(out);
    };
  }

  private named(name: string): string {
    return name === '' ? '' : this.prefix + name;
  }

  /** The SQL with this connection's names, and per statement the tag of a rewritten one; null if unchanged. */
  rewriteSql(sql: string): { sql: string; tags: Array<string | null> | null } | null {
    if (!MAY_NAME.test(sql)) return null;
    let statements;
    try {
      statements = splitStatements(sql, tokenize(sql));
    } catch (error) {
      if (error instanceof SqlSyntaxError) return null;
      throw error;
    }
    const edits: Array<{ start: number; end: number; text: string }> = [];
    const tags: Array<string | null> = [];
    for (const statement of statements) {
      const tokens = statement.tokens;
      const whole = (text: string, tag: string) => {
        edits.push({ start: statement.start, end: statement.end, text });
        tags.push(tag);
      };
      const rename = (token: Token | undefined) => {
        if (token && (token.type === 'word' || token.type === 'quoted')) edits.push({ start: token.start, end: token.end, text: sqlIdentifier(this.prefix + token.value) });
      };
      tags.push(null);
      const first = tokens[0]?.type === 'word' ? tokens[0].value : '';
      const second = tokens[1]?.type === 'word' ? tokens[1].value : null;
      switch (first) {
        case 'prepare':
          // PREPARE TRANSACTION 'id' is two-phase commit, not a statement name.
          if (!(second === 'transaction' && tokens[2]?.type === 'string')) rename(tokens[1]);
          break;
        case 'execute':
        case 'declare':
          rename(tokens[1]);
          break;
        case 'deallocate': {
          const at = second === 'prepare' ? 2 : 1;
          if (tokens[at]?.type === 'word' && tokens[at].value === 'all' && tokens.length === at + 1) {
            tags.pop();
            whole(this.doBlock([this.deallocateOwn()]), 'DEALLOCATE ALL');
          } else rename(tokens[at]);
          break;
        }
        case 'close':
          if (second === 'all' && tokens.length === 2) {
            tags.pop();
            whole(this.doBlock([this.closeOwn()]), 'CLOSE CURSOR ALL');
          } else rename(tokens[1]);
          break;
        case 'fetch':
        case 'move':
          rename(cursorNameOf(tokens));
          break;
        case 'discard':
          if (second === 'all' && tokens.length === 2) {
            tags.pop();
            // Its session-wide parts that reach other connections (temporary tables, sequences'
            // caches, advisory locks, LISTEN) are left alone: the session is everyone's.
            whole(this.doBlock([this.closeOwn(), this.deallocateOwn(), ...this.resetAll()]), 'DISCARD ALL');
          }
          break;
        case 'reset':
          if (second === 'all' && tokens.length === 2 && this.options.role) {
            tags.pop();
            whole(this.doBlock(this.resetAll()), 'RESET');
          }
          break;
      }
      // UPDATE/DELETE … WHERE CURRENT OF cursor.
      for (let index = 0; index + 2 < tokens.length; index++) {
        if (tokens[index]!.type === 'word' && tokens[index]!.value === 'current' && tokens[index + 1]!.type === 'word' && tokens[index + 1]!.value === 'of' && first !== 'fetch' && first !== 'move') {
          rename(tokens[index + 2]);
        }
      }
    }
    if (edits.length === 0) return null;
    edits.sort((a, b) => b.start - a.start);
    let out = sql;
    for (const edit of edits) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    return { sql: out, tags: tags.some((tag) => tag !== null) ? tags : null };
  }

  private doBlock(body: string[]): string {
    return `DO $mz_names$ DECLARE r record; BEGIN ${body.join(' ')} END $mz_names$`;
  }

  private deallocateOwn(): string {
    return `FOR r IN SELECT name FROM pg_prepared_statements WHERE starts_with(name, ${sqlLiteral(this.prefix)}) LOOP EXECUTE format('DEALLOCATE %I', r.name); END LOOP;`;
  }

  private closeOwn(): string {
    return `FOR r IN SELECT name FROM pg_cursors WHERE starts_with(name, ${sqlLiteral(this.prefix)}) LOOP EXECUTE format('CLOSE %I', r.name); END LOOP;`;
  }

  private resetAll(): string[] {
    const role = this.options.role;
    return ['RESET ALL;', ...(role ? [`PERFORM set_config('role', ${sqlLiteral(role)}, false);`] : [])];
  }
}

/** FETCH/MOVE [direction] [FROM | IN] cursor [WITH (…)]: the cursor's token. */
function cursorNameOf(tokens: Token[]): Token | undefined {
  let end = tokens.length;
  for (let index = 1; index < tokens.length - 1; index++) {
    if (tokens[index]!.type === 'word' && tokens[index]!.value === 'with' && tokens[index + 1]!.type === 'punct' && tokens[index + 1]!.value === '(') {
      end = index;
      break;
    }
  }
  for (let index = 1; index < end - 1; index++) {
    const token = tokens[index]!;
    if (token.type === 'word' && (token.value === 'from' || token.value === 'in')) return tokens[index + 1];
  }
  return end > 1 ? tokens[end - 1] : undefined;
}

/** An ErrorResponse or NoticeResponse without this connection's prefix in its texts; null if it had none. */
function unprefixedError(message: Uint8Array, quotedPrefix: string): Uint8Array | null {
  const text = utf8.decode(message.subarray(5));
  if (!text.includes(quotedPrefix)) return null;
  const fields: Uint8Array[] = [];
  let offset = 5;
  while (offset < message.length && message[offset] !== 0) {
    const code = message[offset]!;
    const { value, next } = readCString(message, offset + 1);
    const encoded = encoder.encode(value.split(quotedPrefix).join('"'));
    const part = new Uint8Array(encoded.length + 2);
    part[0] = code;
    part.set(encoded, 1);
    fields.push(part);
    offset = next;
  }
  fields.push(new Uint8Array([0]));
  return frame(String.fromCharCode(message[0]!), fields);
}
