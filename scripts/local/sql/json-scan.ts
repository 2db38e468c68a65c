/**
 * A JSON validator that reads a webhook body the way Materialize does — serde_json's stream of
 * values (src/environmentd/src/http/webhook.rs) — and answers in serde_json's words, so a 400 from
 * the local server reads like one from Materialize: `expected value at line 1 column 9`,
 * `recursion limit exceeded at line 1 column 128`, `lone leading surrogate in hex escape …`.
 *
 * It also keeps PGlite safe: its JSON parser recurses without a usable stack check under
 * WebAssembly, and a body nested ~10,000 levels deep corrupted the engine (the next request hung
 * the whole server). serde_json stops at 128 levels, so nothing deeper ever reaches the engine.
 *
 * One pass, no recursion, no allocation per value beyond the spans it returns.
 */

/** serde_json's default recursion limit: entering the 128th nested array/object is an error. */
export const JSON_MAX_NESTING = 128;

export class JsonScanError extends Error {
  constructor(
    message: string,
    /** Where the body stops being JSON: bytes from its start. */
    readonly byteOffset: number,
  ) {
    super(message);
  }
}

export interface JsonValueSpan {
  readonly start: number;
  readonly end: number;
  /** Elements of a top-level array (for JSON ARRAY expansion); -1 when the value is not an array. */
  readonly arrayElements: number;
}

const enum Char {
  Tab = 9,
  Newline = 10,
  Return = 13,
  Space = 32,
  Quote = 34,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  UpperE = 69,
  OpenBracket = 91,
  Backslash = 92,
  CloseBracket = 93,
  LowerE = 101,
  LowerF = 102,
  LowerN = 110,
  LowerT = 116,
  OpenBrace = 123,
  CloseBrace = 125,
}

/** Every top-level value of `text` (whitespace-separated), or a JsonScanError in serde_json's words. */
export function scanJsonStream(text: string, maxNesting = JSON_MAX_NESTING): JsonValueSpan[] {
  const scanner = new Scanner(text, maxNesting);
  const spans: JsonValueSpan[] = [];
  scanner.skipWhitespace();
  while (scanner.index < text.length) {
    spans.push(scanner.topLevelValue());
    const afterValue = scanner.index;
    scanner.skipWhitespace();
    // serde's stream needs whitespace (or a self-delimiting value) between values: `1 2` and
    // `{}{}` are two values, `12` is one and `truex` is an error.
    if (scanner.index < text.length && scanner.index === afterValue && !selfDelimiting(text.charCodeAt(afterValue - 1))) {
      scanner.fail('trailing characters', scanner.index);
    }
  }
  return spans;
}

/** A run of string characters that need no look: not a quote, a backslash or a control character. */
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;
/** A complete JSON number (RFC 8259); anything else is read step by step for serde's error. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function isDigit(char: number): boolean {
  return char >= Char.Zero && char <= Char.Nine;
}

function selfDelimiting(lastChar: number): boolean {
  return lastChar === Char.CloseBrace || lastChar === Char.CloseBracket || lastChar === Char.Quote;
}

class Scanner {
  index = 0;

  constructor(
    private readonly text: string,
    private readonly maxNesting: number,
  ) {}

  skipWhitespace(): void {
    const text = this.text;
    let index = this.index;
    while (index < text.length) {
      const char = text.charCodeAt(index);
      if (char !== Char.Space && char !== Char.Newline && char !== Char.Tab && char !== Char.Return) break;
      index++;
    }
    this.index = index;
  }

  /** One top-level value; containers are walked with an explicit stack of their kinds. */
  topLevelValue(): JsonValueSpan {
    const text = this.text;
    const start = this.index;
    const isArray = text.charCodeAt(start) === Char.OpenBracket;
    let arrayElements = isArray ? 0 : -1;
    // true = object, false = array
    const open: boolean[] = [];
    // Expecting a value (after `[`, `,` or `:`), or what may follow a finished value. serde_json
    // names the end of the text after `[` or `{` for the container, after `,` or `:` a value.
    let afterSeparator = false;
    for (;;) {
      this.skipWhitespace();
      if (this.index >= text.length) {
        this.fail(open.length === 0 || afterSeparator ? 'EOF while parsing a value' : open[open.length - 1] ? 'EOF while parsing an object' : 'EOF while parsing a list', text.length);
      }
      afterSeparator = true;
      const char = text.charCodeAt(this.index);
      if (char === Char.OpenBracket || char === Char.OpenBrace) {
        if (open.length + 1 >= this.maxNesting) this.fail('recursion limit exceeded', this.index);
        const isObject = char === Char.OpenBrace;
        open.push(isObject);
        this.index++;
        this.skipWhitespace();
        const next = text.charCodeAt(this.index);
        if (isObject ? next === Char.CloseBrace : next === Char.CloseBracket) {
          this.index++;
          open.pop();
        } else {
          if (isObject) this.key(false);
          afterSeparator = isObject;
          if (isArray && open.length === 1) arrayElements++;
          continue;
        }
      } else {
        this.scalar();
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (open.length === 0) return { start, end: this.index, arrayElements };
        this.skipWhitespace();
        if (this.index >= text.length) this.fail(open[open.length - 1] ? 'EOF while parsing an object' : 'EOF while parsing a list', text.length);
        const after = text.charCodeAt(this.index);
        const inObject = open[open.length - 1]!;
        if (after === Char.Comma) {
          this.index++;
          this.skipWhitespace();
          const next = text.charCodeAt(this.index);
          if (next === (inObject ? Char.CloseBrace : Char.CloseBracket)) this.fail('trailing comma', this.index);
          if (inObject) this.key(true);
          if (isArray && open.length === 1) arrayElements++;
          break;
        }
        if (after === (inObject ? Char.CloseBrace : Char.CloseBracket)) {
          this.index++;
          open.pop();
          continue;
        }
        this.fail(inObject ? 'expected `,` or `}`' : 'expected `,` or `]`', this.index);
      }
    }
  }

  /** `"key" :` — positioned on the key (after `{`, or after `,`, where serde_json expects a value). */
  private key(afterComma: boolean): void {
    this.skipWhitespace();
    if (this.index >= this.text.length) this.fail(afterComma ? 'EOF while parsing a value' : 'EOF while parsing an object', this.text.length);
    if (this.text.charCodeAt(this.index) !== Char.Quote) this.fail('key must be a string', this.index);
    this.string();
    this.skipWhitespace();
    if (this.index >= this.text.length) this.fail('EOF while parsing an object', this.text.length);
    if (this.text.charCodeAt(this.index) !== Char.Colon) this.fail('expected `:`', this.index);
    this.index++;
  }

  private scalar(): void {
    const text = this.text;
    const char = text.charCodeAt(this.index);
    if (char === Char.Quote) return this.string();
    if (char === Char.Minus || (char >= Char.Zero && char <= Char.Nine)) return this.number();
    const literal = char === Char.LowerT ? 'true' : char === Char.LowerF ? 'false' : char === Char.LowerN ? 'null' : null;
    if (literal === null) this.fail('expected value', this.index);
    if (text.startsWith(literal, this.index)) {
      this.index += literal.length;
      return;
    }
    // serde: a partial literal is "expected ident" where it stops matching (EOF: a value).
    let at = this.index + 1;
    while (at < text.length && at - this.index < literal.length && text.charCodeAt(at) === literal.charCodeAt(at - this.index)) at++;
    this.fail(at >= text.length ? 'EOF while parsing a value' : 'expected ident', at);
  }

  private string(): void {
    const text = this.text;
    let index = this.index + 1;
    for (;;) {
      // Runs of plain characters in one native step: a third of a body's scan went here, char by char.
      PLAIN_STRING_RUN.lastIndex = index;
      PLAIN_STRING_RUN.test(text);
      index = PLAIN_STRING_RUN.lastIndex;
      if (index >= text.length) this.fail('EOF while parsing a string', text.length);
      const char = text.charCodeAt(index);
      if (char === Char.Quote) break;
      if (char < 0x20) this.fail('control character (\\u0000-\\u001F) found while parsing a string', index);
      if (char === Char.Backslash) {
        index++;
        if (index >= text.length) this.fail('EOF while parsing a string', text.length);
        const escape = text[index]!;
        if (escape === 'u') {
          index = this.unicodeEscape(index);
          continue;
        }
        if (!'"\\/bfnrt'.includes(escape)) this.fail('invalid escape', index);
      }
      index++;
    }
    this.index = index + 1;
  }

  /** At the `u` of `\uXXXX`; returns the index after the escape (and its low surrogate, if any). */
  private unicodeEscape(at: number): number {
    const code = this.hex4(at + 1);
    if (code === 0) {
      // PostgreSQL's jsonb (the local engine) cannot hold NUL; Materialize's text cannot either.
      this.fail('unsupported Unicode escape sequence: \\u0000 cannot be stored', at + 4);
    }
    if (code >= 0xdc00 && code <= 0xdfff) this.fail('lone leading surrogate in hex escape', at + 4);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (this.text.charCodeAt(at + 5) !== Char.Backslash || this.text[at + 6] !== 'u') this.fail('unexpected end of hex escape', Math.min(at + 5, this.text.length));
      const low = this.hex4(at + 7);
      if (low < 0xdc00 || low > 0xdfff) this.fail('lone leading surrogate in hex escape', at + 10);
      return at + 11;
    }
    return at + 5;
  }

  private hex4(at: number): number {
    if (at + 4 > this.text.length) this.fail('EOF while parsing a string', this.text.length);
    let code = 0;
    for (let offset = 0; offset < 4; offset++) {
      const digit = parseInt(this.text[at + offset]!, 16);
      if (Number.isNaN(digit)) this.fail('invalid escape', at + offset);
      code = code * 16 + digit;
    }
    return code;
  }

  private number(): void {
    // The whole grammar in one native step; what follows it decides whether that was all of it.
    NUMBER.lastIndex = this.index;
    if (NUMBER.test(this.text)) {
      const next = this.text.charCodeAt(NUMBER.lastIndex);
      if (!(next >= Char.Zero && next <= Char.Nine) && next !== Char.Dot && next !== Char.LowerE && next !== Char.UpperE) {
        this.index = NUMBER.lastIndex;
        return;
      }
    }
    this.numberOrError();
  }

  /** A number read step by step, failing where serde_json does. */
  private numberOrError(): void {
    const text = this.text;
    let index = this.index;
    if (text.charCodeAt(index) === Char.Minus) index++;
    if (index >= text.length) this.fail('EOF while parsing a value', text.length);
    if (!isDigit(text.charCodeAt(index))) this.fail('invalid number', index);
    if (text.charCodeAt(index) === Char.Zero) {
      index++;
      if (isDigit(text.charCodeAt(index))) this.fail('invalid number', index);
    } else {
      while (isDigit(text.charCodeAt(index))) index++;
    }
    if (text.charCodeAt(index) === Char.Dot) {
      index++;
      if (!isDigit(text.charCodeAt(index))) this.fail(index >= text.length ? 'EOF while parsing a value' : 'invalid number', index);
      while (isDigit(text.charCodeAt(index))) index++;
    }
    const exponent = text.charCodeAt(index);
    if (exponent === Char.LowerE || exponent === Char.UpperE) {
      index++;
      const sign = text.charCodeAt(index);
      if (sign === Char.Plus || sign === Char.Minus) index++;
      if (!isDigit(text.charCodeAt(index))) this.fail(index >= text.length ? 'EOF while parsing a value' : 'invalid number', index);
      while (isDigit(text.charCodeAt(index))) index++;
    }
    this.index = index;
  }

  /** serde_json's "<what> at line L column C": 1-based, columns in bytes of UTF-8. */
  fail(what: string, at: number): never {
    const before = this.text.slice(0, at);
    const lineStart = before.lastIndexOf('\n') + 1;
    const line = before.length - before.replaceAll('\n', '').length + 1;
    const column = Buffer.byteLength(before.slice(lineStart)) + (at < this.text.length ? 1 : 0);
    throw new JsonScanError(`${what} at line ${line} column ${column}`, Buffer.byteLength(before));
  }
}
