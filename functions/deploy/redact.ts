/**
 * What function:deploy sent that must never be printed (the API token, the shared secret, any
 * setting marked sensitive), and the one routine every printed line goes through. An API's answer
 * can echo what it was sent in another encoding (a JSON body quoted inside an error message, a
 * query string, an HTML error page) and cut short (its own limit, or ours), so each value is
 * looked for in those forms, and a long enough piece of one cut short counts too:
 * - the whole value, in any of its forms;
 * - a prefix of a form at least PARTIAL characters long, anywhere (an echo cut short mid-value);
 * - a prefix of at least EDGE characters at the end of the text or just before a cut mark
 *   (`…`, `...`), a suffix of at least EDGE at the start of the text or just after one.
 * (A suffix elsewhere is left: a random value's never shows up by chance, and one made of words,
 * like a local default `local-development-secret`, would blank every `secret` printed.)
 * Each is replaced with `[redacted]`. Cut text with `truncate`, which redacts before it cuts.
 */

export const REDACTED = '[redacted]';
const PARTIAL = 6;
const EDGE = 4;
const CUT_MARKS = ['…', '...'];

export class Redactor {
  private readonly forms = new Set<string>();
  private longest = 0;

  /** Registers values (empty and undefined ones are skipped). */
  add(...values: ReadonlyArray<string | undefined>): this {
    for (const value of values) {
      if (!value) continue;
      for (const form of encodedForms(value)) {
        this.forms.add(form);
        this.longest = Math.max(this.longest, form.length);
      }
    }
    return this;
  }

  redact(text: string): string {
    return this.render(text, this.spans(text), text.length);
  }

  /** Redacted, then cut to `max` characters (with `…`): a cut never leaves a piece of a value behind. */
  truncate(text: string, max: number): string {
    if (text.length <= max) return this.redact(text);
    // Whatever overlaps the first `max` characters lies within the first max + longest: found whole there.
    const window = text.slice(0, max + this.longest + 1);
    return `${this.render(window, this.spans(window), max)}…`;
  }

  /** Where the values are in `text`: sorted, merged [start, end) spans. */
  private spans(text: string): Array<[number, number]> {
    if (!text || this.forms.size === 0) return [];
    const spans: Array<[number, number]> = [];
    for (const form of this.forms) {
      for (let start = 0; start < text.length; start++) {
        // A prefix of the form starting here (the whole form when it runs its length).
        let length = 0;
        while (length < form.length && start + length < text.length && text[start + length] === form[length]) length++;
        if (length > 0 && (length === form.length || length >= PARTIAL || (length >= EDGE && cutAfter(text, start + length)))) spans.push([start, start + length]);
      }
      for (let end = text.length; end > 0; end--) {
        // A suffix of the form ending here.
        let length = 0;
        while (length < form.length && end - length > 0 && text[end - length - 1] === form[form.length - length - 1]) length++;
        if (length >= EDGE && length < form.length && cutBefore(text, end - length)) spans.push([end - length, end]);
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [start, end] of spans) {
      const last = merged.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    return merged;
  }

  /** `text` up to `limit`, each span (one crossing the limit too) replaced with the marker. */
  private render(text: string, spans: ReadonlyArray<readonly [number, number]>, limit: number): string {
    let out = '';
    let at = 0;
    for (const [start, end] of spans) {
      if (start >= limit) break;
      out += text.slice(at, start) + REDACTED;
      at = end;
    }
    return at >= limit ? out : out + text.slice(at, limit);
  }

  /** A copy of `value` with every string in it redacted (for JSON output: redacting the serialized text could break its quoting). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactDeep(item)) as T;
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.redact(key), this.redactDeep(item)])) as T;
    return value;
  }

  /** Redacts an error's message and stack in place (both are printed), and returns it. */
  redactError<T>(error: T): T {
    if (error instanceof Error) {
      error.message = this.redact(error.message);
      if (error.stack) error.stack = this.redact(error.stack);
    }
    return error;
  }
}

const cutAfter = (text: string, at: number) => at === text.length || CUT_MARKS.some((mark) => text.startsWith(mark, at));
const cutBefore = (text: string, at: number) => at === 0 || CUT_MARKS.some((mark) => text.endsWith(mark, at) && at >= mark.length);

/** The value as it may come back: raw, JSON-escaped (once, twice, with \u escapes), URL-encoded (path and form style), HTML-escaped. */
function encodedForms(value: string): string[] {
  const json = (text: string) => JSON.stringify(text).slice(1, -1);
  // Escapers that write non-ASCII and <, >, &, ' as \u00XX (Go's encoding/json does the first three).
  const unicode = (text: string, upper: boolean) =>
    json(text).replace(/[^\x20-\x7e]|[<>&']/g, (char) => {
      const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    });
  const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
  const url = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const html = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  return [value, json(value), json(json(value)), unicode(value, false), unicode(value, true), url, lowerHex(url), form, lowerHex(form), html, html.replace(/&quot;/g, '&#34;')];
}
