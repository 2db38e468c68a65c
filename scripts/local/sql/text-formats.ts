/**
 * Values in Materialize's text format where it differs from PostgreSQL's (DESIGN.md, "Text formats"):
 *
 * - jsonb: compact (no spaces), object keys sorted bytewise (PostgreSQL sorts shorter keys first),
 *   numbers as Materialize's numeric prints them (`1.0` → `1`, `2.50` → `2.5`).
 * - map (hstore here): `{a=>1,b=>"two words"}` — braces, keys sorted bytewise, an element quoted
 *   only when it must be (empty, blank, special characters, or the word NULL), NULL bare.
 *
 * Both take PostgreSQL's output text and never reparse numbers into doubles, so nothing is lost.
 */

/** PostgreSQL's jsonb output → Materialize's. */
export function materializeJsonText(text: string): string {
  const parser = new JsonTextParser(text);
  const value = parser.value();
  return serialize(value);
}

type JsonNode = { kind: 'scalar'; text: string } | { kind: 'array'; items: JsonNode[] } | { kind: 'object'; entries: Array<[string, JsonNode]> };

class JsonTextParser {
  private index = 0;
  constructor(private readonly text: string) {}

  value(): JsonNode {
    this.space();
    const char = this.text[this.index];
    if (char === '{') {
      this.index++;
      const entries: Array<[string, JsonNode]> = [];
      this.space();
      if (this.text[this.index] === '}') {
        this.index++;
        return { kind: 'object', entries };
      }
      for (;;) {
        this.space();
        const key = this.string();
        this.space();
        this.index++; // ':'
        entries.push([key, this.value()]);
        this.space();
        if (this.text[this.index++] === '}') return { kind: 'object', entries };
      }
    }
    if (char === '[') {
      this.index++;
      const items: JsonNode[] = [];
      this.space();
      if (this.text[this.index] === ']') {
        this.index++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(this.value());
        this.space();
        if (this.text[this.index++] === ']') return { kind: 'array', items };
      }
    }
    if (char === '"') return { kind: 'scalar', text: this.string() };
    const start = this.index;
    while (this.index < this.text.length && !',]} \n\t\r'.includes(this.text[this.index]!)) this.index++;
    const token = this.text.slice(start, this.index);
    return { kind: 'scalar', text: /^-?\d/.test(token) ? normalizeNumber(token) : token };
  }

  /** A string token, quotes and escapes kept as they are (both sides escape alike). */
  private string(): string {
    const start = this.index;
    this.index++;
    while (this.index < this.text.length) {
      const char = this.text[this.index];
      if (char === '\\') this.index += 2;
      else if (char === '"') {
        this.index++;
        break;
      } else this.index++;
    }
    return this.text.slice(start, this.index);
  }

  private space(): void {
    while (this.index < this.text.length && ' \n\t\r'.includes(this.text[this.index]!)) this.index++;
  }
}

/** `1.0` → `1`, `-2.50` → `-2.5`, `0.000` → `0`; integers and exponents as they are. */
export function normalizeNumber(token: string): string {
  if (!token.includes('.') || /[eE]/.test(token)) return token;
  const trimmed = token.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}

function serialize(node: JsonNode): string {
  switch (node.kind) {
    case 'scalar':
      return node.text;
    case 'array':
      return `[${node.items.map(serialize).join(',')}]`;
    case 'object': {
      const entries = [...node.entries].sort(([a], [b]) => compareBytewise(a, b));
      return `{${entries.map(([key, value]) => `${key}:${serialize(value)}`).join(',')}}`;
    }
  }
}

/** Order of the UTF-8 bytes: code points compared in order (UTF-16 units would misplace astral ones). */
export function compareBytewise(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.codePointAt(index)!;
    const right = b.codePointAt(index)!;
    if (left !== right) return left - right;
    if (left > 0xffff) index++;
  }
  return a.length - b.length;
}

/** hstore's output (`"a"=>"1", "b"=>NULL`) → Materialize's map text (`{a=>1,b=>NULL}`). */
export function materializeMapText(text: string): string {
  const pairs: Array<[string, string | null]> = [];
  let index = 0;
  const quoted = (): string => {
    let value = '';
    index++; // opening quote
    while (index < text.length && text[index] !== '"') {
      if (text[index] === '\\') index++;
      value += text[index++];
    }
    index++; // closing quote
    return value;
  };
  while (index < text.length) {
    while (text[index] === ' ' || text[index] === ',') index++;
    if (index >= text.length) break;
    const key = quoted();
    index += 2; // =>
    if (text.startsWith('NULL', index)) {
      pairs.push([key, null]);
      index += 4;
    } else {
      pairs.push([key, quoted()]);
    }
  }
  pairs.sort(([a], [b]) => compareBytewise(a, b));
  return `{${pairs.map(([key, value]) => `${mapElement(key)}=>${value === null ? 'NULL' : mapElement(value)}`).join(',')}}`;
}

/** Quoted only when needed, as Materialize's map and list output does. */
function mapElement(text: string): string {
  const needsQuotes = text === '' || /[\s{}",\\=>]/.test(text) || text.toUpperCase() === 'NULL';
  return needsQuotes ? `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"` : text;
}
