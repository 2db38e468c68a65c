/**
 * Reading a model's front matter into its config.
 *
 * The `yaml` library takes 120–250 µs per small document here, which alone would blow the
 * 10,000-model compile budget (see `npm run bench`). Most front matter is flat `key: word` lines
 * and `[a, b]` lists, so those take a fast path that yields exactly what `yaml` would (checked by
 * test/front-matter.test.ts against the library on a corpus of tricky scalars); anything else —
 * nesting, quotes, block scalars, anchors — goes to the library. Errors always come from the
 * library path, with its positions.
 */
import { z } from 'zod';
import { ModelConfigSchema, type ModelConfigInput } from './model-config.ts';
import { parseYaml, validateYaml, type ParsedYaml } from './yaml-config.ts';

/** A model's front matter: its config, plus data tests (checked on their own, see tests/test-config.ts). */
const FrontMatterSchema = ModelConfigSchema.extend({ tests: z.array(z.unknown()).optional() });

export interface FrontMatter {
  readonly config: ModelConfigInput;
  /** The `tests:` list, positioned, when the model declares tests. */
  readonly tests?: ParsedYaml;
}

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(.*?))?[ \t]*$/;
const PLAIN_WORDS = /^[A-Za-z_][A-Za-z0-9_./ -]*$/;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const FLOW_LIST = /^\[(.*)\]$/;

/** Plain scalars whose YAML 1.2 core-schema meaning is not a string. */
const CORE_SCALARS: Readonly<Record<string, unknown>> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
  null: null,
  Null: null,
  NULL: null,
  '~': null,
};

/**
 * The fast path: an object for documents it fully understands, undefined otherwise. Understood:
 * `key: scalar` and `key: [a, b]` lines, and a key followed by a block list of scalars or of flat
 * mappings (`indexes:` / `  - columns: [id]` / `    name: x`), the shapes front matter uses.
 */
export function parseFlatYaml(text: string): Record<string, unknown> | undefined {
  const result: Record<string, unknown> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = stripCr(lines[index]!);
    if (isBlank(line)) continue;
    const match = KEY_LINE.exec(line);
    if (!match) return undefined;
    const key = match[1]!;
    if (key in result) return undefined; // duplicate keys: let the library report it
    const raw = match[2];
    if (raw === undefined || raw === '') {
      // A nested block follows: only a block list of scalars or flat mappings is taken here.
      const block = parseBlockList(lines, index + 1);
      if (!block) return undefined;
      result[key] = block.items;
      index = block.next - 1;
      continue;
    }
    const value = parseFlatValue(raw);
    if (value === UNSUPPORTED) return undefined;
    result[key] = value;
  }
  return result;
}

const LIST_ITEM = /^( +)- (.*)$/;

/**
 * `  - a` items, or `  - k: v` items whose further keys sit under the first (`    k2: v2`).
 * Undefined for anything else (nested deeper, mixed items, misaligned keys, an empty list).
 */
function parseBlockList(lines: readonly string[], start: number): { items: unknown[]; next: number } | undefined {
  const items: unknown[] = [];
  let indent = -1;
  let index = start;
  let current: Record<string, unknown> | undefined;
  for (; index < lines.length; index++) {
    const line = stripCr(lines[index]!);
    if (isBlank(line)) continue;
    const item = LIST_ITEM.exec(line);
    if (item) {
      if (indent === -1) indent = item[1]!.length;
      else if (item[1]!.length !== indent) return undefined;
      const pair = KEY_LINE.exec(item[2]!);
      if (pair) {
        const value = inlineValue(pair[2]);
        if (value === UNSUPPORTED) return undefined;
        current = { [pair[1]!]: value };
        items.push(current);
      } else {
        if (items.some((existing) => typeof existing === 'object')) return undefined;
        const value = parseFlatValue(item[2]!);
        if (value === UNSUPPORTED || item[2]!.includes(':')) return undefined;
        current = undefined;
        items.push(value);
      }
      continue;
    }
    const leading = line.length - line.trimStart().length;
    if (leading === 0) break; // the next top-level key
    // A further key of the current mapping item, aligned under its first key.
    if (!current || leading !== indent + 2) return undefined;
    const pair = KEY_LINE.exec(line.slice(leading));
    if (!pair || pair[1]! in current) return undefined;
    const value = inlineValue(pair[2]);
    if (value === UNSUPPORTED) return undefined;
    current[pair[1]!] = value;
  }
  if (items.length === 0) return undefined;
  return { items, next: index };
}

/** A `key: value` pair's value on its own line; a nested block (nothing after the colon) is not taken. */
function inlineValue(raw: string | undefined): unknown {
  return raw === undefined || raw === '' ? UNSUPPORTED : parseFlatValue(raw);
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function isBlank(line: string): boolean {
  return line.trim() === '' || /^\s*#/.test(line);
}

const UNSUPPORTED = Symbol('unsupported');

function parseFlatValue(raw: string): unknown {
  const list = FLOW_LIST.exec(raw);
  if (list) {
    const inner = list[1]!.trim();
    if (inner === '') return [];
    const items = inner.split(',').map((item) => item.trim());
    if (items.some((item) => !PLAIN_WORDS.test(item) || item in CORE_SCALARS || / #|  /.test(item))) return UNSUPPORTED;
    return items;
  }
  if (raw in CORE_SCALARS) return CORE_SCALARS[raw];
  if (INTEGER.test(raw)) return raw.length < 16 ? Number(raw) : UNSUPPORTED;
  // ' #' starts a comment; runs of spaces fold differently; leave both to the library.
  if (!PLAIN_WORDS.test(raw) || raw.includes(' #') || raw.includes('  ')) return UNSUPPORTED;
  return raw;
}

/**
 * Parses and validates front matter into a model config. `lineOffset` is the number of file
 * lines before the front matter text (1: the opening `---`).
 */
export function readFrontMatter(file: string, text: string, lineOffset: number): FrontMatter {
  const flat = parseFlatYaml(text);
  if (flat && !('tests' in flat)) {
    const result = ModelConfigSchema.safeParse(flat);
    if (result.success) return { config: result.data };
  }
  // Slow path, and the only one that reports errors: the library knows where every key is.
  const parsed = parseYaml({ file, text, lineOffset });
  const { tests, ...config } = validateYaml(parsed, FrontMatterSchema, { what: 'front matter' });
  if (tests === undefined) return { config };
  return { config, tests: { value: tests, locate: (path) => parsed.locate(['tests', ...path]) } };
}
