/**
 * Per-connection protocol state for translating Materialize statements on the wire.
 *
 * Frontend: Query ('Q') and Parse ('P') messages carry SQL; their statements are translated (see
 * sql/translate.ts) and the message re-encoded. Backend: a translated statement runs as a DO block,
 * so its CommandComplete says `DO`; the response is rewritten to Materialize's tag (`CREATE SOURCE`
 * …), and error CONTEXT/position fields that describe the translation rather than the user's SQL
 * are dropped.
 */
import { concat, cString, frame, readCString } from './protocol-bytes.ts';
import { translateQuery, type TranslatedStatement } from './sql/translate.ts';


export interface FrontendResult {
  message: Uint8Array;
  /** The response to this message must be rewritten (it executes translated statements). */
  rewrite: boolean;
  /** The message may change the catalog: cached webhook routes must be looked up again. */
  changesCatalog: boolean;
}

/** The tags of the statements that will answer `DO` (translated ones, and users' own DO blocks). */
function tagsOf(statements: TranslatedStatement[]): Array<string | null> {
  return statements.filter((statement) => statement.tag !== undefined).map((statement) => statement.tag!);
}

export class WireSession {
  /** Tags for the `DO` CommandCompletes still to come in the current response, in order. */
  private pendingTags: Array<string | null> = [];
  private statementTags = new Map<string, Array<string | null>>();
  private portalTags = new Map<string, Array<string | null>>();
  private rewriting = false;
  private carry: Uint8Array = new Uint8Array(0);

  translateFrontend(message: Uint8Array): FrontendResult {
    const type = String.fromCharCode(message[0]!);
    // A startup packet has no type byte; its first byte is the high byte of its length (0).
    if (message[0] === 0) return { message, rewrite: false, changesCatalog: false };
    switch (type) {
      case 'Q': {
        const { value: sql } = readCString(message, 5);
        const translated = translateQuery(sql);
        const tags = tagsOf(translated.statements);
        const changesCatalog = translated.statements.some((statement) => statement.changesCatalog);
        if (tags.length === 0 && translated.sql === sql) return { message, rewrite: false, changesCatalog };
        this.pendingTags.push(...tags);
        return { message: frame('Q', [cString(translated.sql)]), rewrite: true, changesCatalog };
      }
      case 'P': {
        const name = readCString(message, 5);
        const query = readCString(message, name.next);
        const translated = translateQuery(query.value);
        const tags = tagsOf(translated.statements);
        if (tags.length > 0) this.statementTags.set(name.value, tags);
        else this.statementTags.delete(name.value);
        const changesCatalog = translated.statements.some((statement) => statement.changesCatalog);
        if (translated.sql === query.value) return { message, rewrite: false, changesCatalog };
        return {
          message: frame('P', [cString(name.value), cString(translated.sql), message.subarray(query.next)]),
          rewrite: false,
          changesCatalog,
        };
      }
      case 'B': {
        const portal = readCString(message, 5);
        const statement = readCString(message, portal.next);
        const tags = this.statementTags.get(statement.value);
        if (tags) this.portalTags.set(portal.value, tags);
        else this.portalTags.delete(portal.value);
        return { message, rewrite: false, changesCatalog: false };
      }
      case 'E': {
        const portal = readCString(message, 5);
        const tags = this.portalTags.get(portal.value);
        if (!tags) return { message, rewrite: false, changesCatalog: false };
        this.pendingTags.push(...tags);
        return { message, rewrite: true, changesCatalog: true };
      }
      case 'C': {
        // Close: forget the statement's tags.
        const kind = String.fromCharCode(message[5]!);
        const name = readCString(message, 6).value;
        (kind === 'S' ? this.statementTags : this.portalTags).delete(name);
        return { message, rewrite: false, changesCatalog: false };
      }
      default:
        return { message, rewrite: false, changesCatalog: false };
    }
  }

  /**
   * Wraps a response sink: while rewriting (from a translated message until the next
   * ReadyForQuery), backend messages are parsed and fixed up; otherwise bytes pass straight on.
   */
  responseSink(rewrite: boolean, sink: (data: Uint8Array) => void): (data: Uint8Array) => void {
    if (rewrite) this.rewriting = true;
    return (data) => {
      if (!this.rewriting && this.carry.length === 0) {
        sink(data);
        return;
      }
      sink(this.rewriteBackend(data));
    };
  }

  private rewriteBackend(data: Uint8Array): Uint8Array {
    let bytes = data;
    if (this.carry.length > 0) {
      bytes = new Uint8Array(this.carry.length + data.length);
      bytes.set(this.carry);
      bytes.set(data, this.carry.length);
      this.carry = new Uint8Array(0);
    }
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset + 5 <= bytes.length) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 1, 4).getInt32(0);
      if (offset + 1 + length > bytes.length) break;
      const message = bytes.subarray(offset, offset + 1 + length);
      offset += 1 + length;
      if (!this.rewriting) {
        out.push(message);
        continue;
      }
      const type = String.fromCharCode(message[0]!);
      if (type === 'C') out.push(this.rewriteCommandComplete(message));
      else if (type === 'E') out.push(stripTranslationFields(message));
      else {
        if (type === 'Z') {
          this.pendingTags = [];
          this.rewriting = false;
        }
        out.push(message);
      }
    }
    if (offset < bytes.length) this.carry = bytes.slice(offset);
    return concat(out);
  }

  private rewriteCommandComplete(message: Uint8Array): Uint8Array {
    const tag = readCString(message, 5).value;
    if (tag !== 'DO') return message;
    const replacement = this.pendingTags.shift();
    return replacement ? frame('C', [cString(replacement)]) : message;
  }
}

/** Drops CONTEXT ('W') lines about the translation and positions ('P') into translated text. */
function stripTranslationFields(message: Uint8Array): Uint8Array {
  const fields: Uint8Array[] = [];
  let offset = 5;
  let changed = false;
  let translated = false;
  const parsed: Array<{ code: number; value: string }> = [];
  while (offset < message.length && message[offset] !== 0) {
    const code = message[offset]!;
    const { value, next } = readCString(message, offset + 1);
    parsed.push({ code, value });
    offset = next;
  }
  for (const field of parsed) {
    if (field.code === 0x57 /* W */ && /inline_code_block|mz_local\./.test(field.value)) translated = true;
  }
  for (const field of parsed) {
    if (translated && (field.code === 0x57 /* W */ || field.code === 0x50 /* P */)) {
      changed = true;
      continue;
    }
    const encoded = cString(field.value);
    const part = new Uint8Array(encoded.length + 1);
    part[0] = field.code;
    part.set(encoded, 1);
    fields.push(part);
  }
  if (!changed) return message;
  fields.push(new Uint8Array([0]));
  return frame('E', fields);
}
