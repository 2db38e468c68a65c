/**
 * Per-connection protocol state for translating Materialize statements on the wire.
 *
 * Frontend: Query ('Q') and Parse ('P') messages carry SQL; their statements are translated (see
 * sql/translate.ts) and the message re-encoded. Backend: a translated statement runs as a DO block,
 * so its CommandComplete says `DO`; the response is rewritten to Materialize's tag (`CREATE SOURCE`
 * …), and error CONTEXT/position fields that describe the translation rather than the user's SQL
 * are dropped. Errors from any statement are worded as Materialize words them (sql/error-text.ts).
 */
import { cString, frame, int32, readCString, rewriteMessages } from '../engine/protocol-bytes.ts';
import { materializeErrorText } from '../sql/error-text.ts';
import { MATERIALIZE_SERVER_VERSION, MATERIALIZE_SERVER_VERSION_NUM } from '../sql/server-version.ts';
import { materializeLayeredListText } from '../sql/lists/list-wire-text.ts';
import { materializeIntervalText, materializeJsonText, materializeMapText, normalizeNumber } from '../sql/text-formats.ts';
import { translateQuery, type TranslatedStatement } from '../sql/translate.ts';
import { writtenRelations } from '../subscribe/written-relations.ts';


export interface FrontendResult {
  message: Uint8Array;
  /** The response to this message must be rewritten (it executes translated statements). */
  rewrite: boolean;
  /** The message may change the catalog: cached webhook routes must be looked up again. */
  changesCatalog: boolean;
  /** The message may change data: subscriptions must look again (subscribe/subscription-hub.ts). */
  writes: boolean;
  /** With `writes`: the tables written when known (a plain INSERT, UPDATE, DELETE, TRUNCATE), else null. */
  written?: readonly string[] | null;
}

/**
 * What the statements write and whether they change the catalog: a plain INSERT, UPDATE, DELETE
 * or TRUNCATE of named tables writes those and changes no catalog (the translator counts every
 * statement it does not know as a catalog change, which made a client's INSERT re-plan kept views).
 */
function writesOf(statements: readonly TranslatedStatement[]): { changesCatalog: boolean; written: string[] | null } {
  let changesCatalog = false;
  let written: string[] | null = [];
  for (const statement of statements) {
    if (statement.readOnly) continue;
    const names = writtenRelations(statement.sql);
    if (names === null) {
      written = null;
      if (statement.changesCatalog) changesCatalog = true;
    } else if (written !== null) written.push(...names);
  }
  return { changesCatalog, written };
}

/** The tags of the statements that will answer `DO` (translated ones, and users' own DO blocks). */
function tagsOf(statements: TranslatedStatement[]): Array<string | null> {
  return statements.filter((statement) => statement.tag !== undefined).map((statement) => statement.tag!);
}

/** What is known of a prepared statement (and of a portal bound to it). */
interface PreparedInfo {
  /** Tags for the `DO` CommandCompletes its translated statements answer; null when not translated. */
  readonly tags: Array<string | null> | null;
  /** Every statement in it only reads (SELECT, SHOW, …). */
  readonly readOnly: boolean;
  /** The tables it writes, when known (writesOf). */
  readonly written?: readonly string[] | null;
}

/** How a column's values are rewritten into Materialize's text format, if at all. */
type ValueRewriter = (value: Uint8Array) => Uint8Array;

const JSONB_OID = 3802;
const NUMERIC_OID = 1700;
const INTERVAL_OID = 1186;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

const textRewriter = (format: (text: string) => string): ValueRewriter => (value) => encoder.encode(format(utf8.decode(value)));

const REWRITE_JSONB_TEXT = textRewriter(materializeJsonText);
const REWRITE_MAP_TEXT = textRewriter(materializeMapText);
/** One rewriter per depth of list, made when a column of that depth is first sent. */
const LAYERED_LIST_REWRITERS = new Map<number, ValueRewriter>();
function layeredListRewriter(layers: number): ValueRewriter {
  let rewriter = LAYERED_LIST_REWRITERS.get(layers);
  if (!rewriter) LAYERED_LIST_REWRITERS.set(layers, (rewriter = textRewriter((text) => materializeLayeredListText(text, layers))));
  return rewriter;
}
/** Materialize trims every trailing zero off a numeric, whatever its scale (docs: sql/types/numeric). */
const REWRITE_NUMERIC_TEXT: ValueRewriter = (value) => {
  if (value.indexOf(0x2e /* . */) === -1) return value;
  return encoder.encode(normalizeNumber(utf8.decode(value)));
};
/** Materialize spells an interval's months out: `1 month`, `14 months` → `1 year 2 months` (PostgreSQL: `mon`, `mons`). */
const REWRITE_INTERVAL_TEXT: ValueRewriter = (value) => {
  // ' mon' looked for in the bytes: most intervals have no months and pass untouched.
  for (let at = value.indexOf(0x6d /* m */); at > 0; at = value.indexOf(0x6d, at + 1)) {
    if (value[at - 1] === 0x20 && value[at + 1] === 0x6f && value[at + 2] === 0x6e) return encoder.encode(materializeIntervalText(utf8.decode(value)));
  }
  return value;
};
/** Binary jsonb is a version byte (1) and the text. */
const REWRITE_JSONB_BINARY: ValueRewriter = (value) => {
  const text = encoder.encode(materializeJsonText(utf8.decode(value.subarray(1))));
  const out = new Uint8Array(text.length + 1);
  out[0] = value[0]!;
  out.set(text, 1);
  return out;
};

export interface WireSessionOptions {
  /** The OID of the type that stands for Materialize's map (hstore), when installed. */
  readonly mapTypeOid?: number | null;
  /**
   * The array types that carry lists of lists (sql/lists/: an array of one-field rows), each with
   * its layers: their values are sent as Materialize writes a list, `{{1},{2,3}}`.
   */
  readonly layeredListOids?: ReadonlyMap<number, number>;
  /**
   * This connection's own process id and secret key, sent instead of PGlite's (one backend for
   * every connection), so that a cancel request names the connection it is meant for.
   */
  readonly backendKey?: { readonly processId: number; readonly secretKey: number };
}

export class WireSession {
  /** Per column of the rows now being sent, how to rewrite its values (null: no column needs it). */
  private rowRewriters: Array<ValueRewriter | null> | null = null;

  constructor(private readonly options: WireSessionOptions = {}) {}

  /** Tags for the `DO` CommandCompletes still to come in the current response, in order. */
  private pendingTags: Array<string | null> = [];
  /** Prepared statements, and the portals bound to them, that are translated or only read. */
  private statements = new Map<string, PreparedInfo>();
  private portals = new Map<string, PreparedInfo>();
  private rewriting = false;
  private carry: Uint8Array = new Uint8Array(0);

  translateFrontend(message: Uint8Array): FrontendResult {
    const type = String.fromCharCode(message[0]!);
    // A startup packet has no type byte; its first byte is the high byte of its length (0).
    if (message[0] === 0) return { message, rewrite: false, changesCatalog: false, writes: false };
    switch (type) {
      case 'Q': {
        const { value: sql } = readCString(message, 5);
        const translated = translateQuery(sql);
        const tags = tagsOf(translated.statements);
        const { changesCatalog, written } = writesOf(translated.statements);
        const writes = translated.statements.some((statement) => !statement.readOnly);
        if (tags.length === 0 && translated.sql === sql) return { message, rewrite: false, changesCatalog, writes, written };
        this.pendingTags.push(...tags);
        return { message: frame('Q', [cString(translated.sql)]), rewrite: true, changesCatalog, writes, written };
      }
      case 'P': {
        const name = readCString(message, 5);
        const query = readCString(message, name.next);
        const translated = translateQuery(query.value);
        const tags = tagsOf(translated.statements);
        // Remembered for its portals' Executes: a read then tells nobody it wrote (which would make
        // kept views catch up before the next statement and schedule a background pass).
        const readOnly = translated.statements.every((statement) => statement.readOnly);
        const { changesCatalog, written } = writesOf(translated.statements);
        if (tags.length > 0 || readOnly || written !== null) this.statements.set(name.value, { tags: tags.length > 0 ? tags : null, readOnly, written });
        else this.statements.delete(name.value);
        if (translated.sql === query.value) return { message, rewrite: false, changesCatalog, writes: false };
        return {
          message: frame('P', [cString(name.value), cString(translated.sql), message.subarray(query.next)]),
          rewrite: false,
          changesCatalog,
          writes: false,
        };
      }
      case 'B': {
        const portal = readCString(message, 5);
        const statement = readCString(message, portal.next);
        const prepared = this.statements.get(statement.value);
        if (prepared) this.portals.set(portal.value, prepared);
        else this.portals.delete(portal.value);
        return { message, rewrite: false, changesCatalog: false, writes: false };
      }
      case 'E': {
        const portal = readCString(message, 5);
        const prepared = this.portals.get(portal.value);
        // A portal of a statement not known to read only (or not Parsed here) may write.
        if (!prepared?.tags) return { message, rewrite: false, changesCatalog: false, writes: !prepared?.readOnly, written: prepared?.written ?? null };
        this.pendingTags.push(...prepared.tags);
        return { message, rewrite: true, changesCatalog: true, writes: true };
      }
      case 'C': {
        // Close: forget what was known of the statement or portal.
        const kind = String.fromCharCode(message[5]!);
        const name = readCString(message, 6).value;
        (kind === 'S' ? this.statements : this.portals).delete(name);
        return { message, rewrite: false, changesCatalog: false, writes: false };
      }
      default:
        return { message, rewrite: false, changesCatalog: false, writes: false };
    }
  }

  /**
   * Wraps a response sink. Every backend message is framed (cheap: lengths only) so errors can be
   * worded as Materialize words them; while rewriting (from a translated message until the next
   * ReadyForQuery) command tags and translation-only error fields are fixed up too. Chunks with
   * nothing to change pass on as they came (no copy).
   */
  responseSink(rewrite: boolean, sink: (data: Uint8Array) => void): (data: Uint8Array) => void {
    if (rewrite) this.rewriting = true;
    return (data) => {
      const out = this.rewriteBackend(data);
      if (out.length > 0) sink(out);
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
    const { rewritten, complete } = rewriteMessages(bytes, (type, message) => this.rewriteMessage(type, message));
    if (complete < bytes.length) this.carry = bytes.slice(complete);
    return rewritten;
  }

  /** One whole backend message: its replacement, or null to pass it on as it is. */
  private rewriteMessage(type: number, message: Uint8Array): Uint8Array | null {
    let replacement: Uint8Array | null = null;
    if (type === 0x44 /* D */) {
      if (this.rowRewriters) replacement = rewriteDataRow(message, this.rowRewriters);
    } else if (type === 0x54 /* T */) {
      this.rowRewriters = this.rewritersFor(message);
    } else if (type === 0x45 /* E */) {
      this.rowRewriters = null;
      replacement = rewriteError(message, this.rewriting);
    } else if (type === 0x43 /* C */ || type === 0x5a /* Z */) {
      this.rowRewriters = null;
    } else if (type === 0x53 /* S */) {
      replacement = rewriteParameterStatus(message);
    } else if (type === 0x4b /* K */ && this.options.backendKey) {
      const key = this.options.backendKey;
      replacement = frame('K', [int32(key.processId), int32(key.secretKey)]);
    }
    if (replacement === null && this.rewriting) {
      if (type === 0x43 /* C */) replacement = this.rewriteCommandComplete(message);
      else if (type === 0x5a /* Z */) {
        this.pendingTags = [];
        this.rewriting = false;
      }
    }
    return replacement;
  }

  /** From a RowDescription: a rewriter per column, or null when no column's format differs. */
  private rewritersFor(message: Uint8Array): Array<ValueRewriter | null> | null {
    const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
    const count = view.getInt16(5);
    let offset = 7;
    let any = false;
    const rewriters: Array<ValueRewriter | null> = [];
    for (let column = 0; column < count; column++) {
      while (message[offset] !== 0) offset++;
      offset++; // name's terminator
      const typeOid = view.getUint32(offset + 6);
      const format = view.getInt16(offset + 16);
      offset += 18;
      let rewriter: ValueRewriter | null = null;
      if (typeOid === JSONB_OID) rewriter = format === 0 ? REWRITE_JSONB_TEXT : REWRITE_JSONB_BINARY;
      else if (typeOid === this.options.mapTypeOid && format === 0) rewriter = REWRITE_MAP_TEXT;
      else if (typeOid === NUMERIC_OID && format === 0) rewriter = REWRITE_NUMERIC_TEXT;
      else if (typeOid === INTERVAL_OID && format === 0) rewriter = REWRITE_INTERVAL_TEXT;
      else if (format === 0 && this.options.layeredListOids?.has(typeOid)) rewriter = layeredListRewriter(this.options.layeredListOids.get(typeOid)!);
      if (rewriter) any = true;
      rewriters.push(rewriter);
    }
    return any ? rewriters : null;
  }

  private rewriteCommandComplete(message: Uint8Array): Uint8Array | null {
    const tag = readCString(message, 5).value;
    if (tag !== 'DO') return null;
    const replacement = this.pendingTags.shift();
    return replacement ? frame('C', [cString(replacement)]) : null;
  }
}

/** A ParameterStatus reporting PGlite's server_version (or _num) as Materialize's (sql/server-version.ts); null otherwise. */
function rewriteParameterStatus(message: Uint8Array): Uint8Array | null {
  const name = readCString(message, 5);
  const claimed = name.value === 'server_version' ? MATERIALIZE_SERVER_VERSION : name.value === 'server_version_num' ? MATERIALIZE_SERVER_VERSION_NUM : null;
  if (claimed === null || readCString(message, name.next).value === claimed) return null;
  return frame('S', [cString(name.value), cString(claimed)]);
}

/** A DataRow with the columns that have a rewriter in Materialize's format; null if unchanged. */
function rewriteDataRow(message: Uint8Array, rewriters: ReadonlyArray<ValueRewriter | null>): Uint8Array | null {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const count = view.getInt16(5);
  const values: Array<Uint8Array | null> = [];
  let offset = 7;
  let changed = false;
  for (let column = 0; column < count; column++) {
    const length = view.getInt32(offset);
    offset += 4;
    if (length < 0) {
      values.push(null);
      continue;
    }
    const value = message.subarray(offset, offset + length);
    offset += length;
    const rewriter = rewriters[column];
    if (rewriter) {
      // A rewriter hands back the same bytes when nothing differs: the row is then sent as it came.
      const rewritten = rewriter(value);
      if (rewritten !== value) changed = true;
      values.push(rewritten);
    } else values.push(value);
  }
  if (!changed) return null;
  const size = 4 + 2 + values.reduce((sum, value) => sum + 4 + (value?.length ?? 0), 0);
  const out = new Uint8Array(1 + size);
  const outView = new DataView(out.buffer);
  out[0] = 0x44;
  outView.setInt32(1, size);
  outView.setInt16(5, count);
  let at = 7;
  for (const value of values) {
    outView.setInt32(at, value === null ? -1 : value.length);
    at += 4;
    if (value) {
      out.set(value, at);
      at += value.length;
    }
  }
  return out;
}

/**
 * An ErrorResponse as Materialize would send it, or null when it is fine as it is: PostgreSQL's
 * wording for a missing name becomes Materialize's (`unknown catalog item 'x'`…), and while
 * rewriting a translated statement, CONTEXT ('W') lines about the translation and positions ('P')
 * into translated text are dropped.
 */
function rewriteError(message: Uint8Array, translated: boolean): Uint8Array | null {
  const parsed: Array<{ code: number; value: string }> = [];
  let offset = 5;
  while (offset < message.length && message[offset] !== 0) {
    const code = message[offset]!;
    const { value, next } = readCString(message, offset + 1);
    parsed.push({ code, value });
    offset = next;
  }
  let changed = false;
  const aboutTranslation = translated && parsed.some((field) => field.code === 0x57 /* W */ && /inline_code_block|mz_local\./.test(field.value));
  const fields: Uint8Array[] = [];
  for (const field of parsed) {
    if (aboutTranslation && (field.code === 0x57 /* W */ || field.code === 0x50 /* P */)) {
      changed = true;
      continue;
    }
    let value = field.value;
    if (field.code === 0x4d /* M */) {
      const worded = materializeErrorText(value);
      if (worded !== null) {
        value = worded;
        changed = true;
      }
    }
    const encoded = cString(value);
    const part = new Uint8Array(encoded.length + 1);
    part[0] = field.code;
    part.set(encoded, 1);
    fields.push(part);
  }
  if (!changed) return null;
  fields.push(new Uint8Array([0]));
  return frame('E', fields);
}
