/**
 * YAML parsing and schema validation with positions: project.yml and model front matter are both
 * YAML checked against a zod schema, and both must report errors as file:line:col with the key.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { didYouMean, ProjectError, throwIfAny, type SourceLocation } from './errors.ts';

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  /** Lines of the file before `text` starts (front matter starts after its `---` line). */
  readonly lineOffset?: number;
}

export interface ParsedYaml {
  readonly value: unknown;
  /** Where the key at `path` is written (its key, so "unknown key" points at the key itself). */
  locate(path: readonly PropertyKey[]): SourceLocation;
}

export function parseYaml(source: YamlSource): ParsedYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOffset = source.lineOffset ?? 0;
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: source.file, line: line + lineOffset, column: col };
  };
  const firstError = document.errors[0];
  if (firstError) {
    throw new ProjectError(`invalid YAML: ${firstError.message.split('\n')[0]}`, at(firstError.pos[0]), 'check the indentation and quoting around this line');
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The yaml library refuses documents whose aliases expand exponentially ("billion laughs").
    throw new ProjectError(`invalid YAML: ${(error as Error).message}`, at(document.contents?.range?.[0] ?? 0), 'write the values out instead of nesting aliases (*name) inside each other');
  }
  return {
    value,
    locate: (path) => at(offsetOf(document, path)),
  };
}

function offsetOf(document: Document, path: readonly PropertyKey[]): number {
  let node: unknown = document.contents;
  let offset = document.contents?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) return offset;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray(node.items) && typeof key === 'number') {
      const item: unknown = node.items[key];
      const range = item && typeof item === 'object' && 'range' in item ? (item.range as number[] | undefined) : undefined;
      offset = range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

/** Validates `parsed` against `schema`, turning every issue into a positioned ProjectError. */
export function validateYaml<Schema extends z.ZodType>(
  parsed: ParsedYaml,
  schema: Schema,
  options: { what: string; keyPrefix?: string; fixFor?: (path: readonly PropertyKey[]) => string | undefined },
): z.output<Schema> {
  const result = schema.safeParse(parsed.value ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => {
    const key = formatKey([...(options.keyPrefix ? [options.keyPrefix] : []), ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys[0]!;
      const fullKey = formatKey([...(options.keyPrefix ? [options.keyPrefix] : []), ...issue.path, unknown]);
      const allowed = allowedKeys(schema, issue.path, parsed.value);
      return new ProjectError(
        `unknown key '${fullKey}' in ${options.what}${didYouMean(String(unknown), allowed)}`,
        parsed.locate([...issue.path, unknown]),
        allowed.length ? `allowed keys here: ${allowed.join(', ')}` : 'remove it',
      );
    }
    const fix = options.fixFor?.(issue.path) ?? describeExpectation(issue);
    return new ProjectError(`${key || '(top level)'}: ${describeIssue(issue)} in ${options.what}`, parsed.locate(issue.path), fix);
  });
  throwIfAny(errors);
  throw new Error('unreachable: zod reported failure without issues');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_union':
      return 'has the wrong shape';
    default:
      return issue.message;
  }
}

function describeExpectation(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'invalid_type') return `write ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected} here`;
  if (issue.code === 'invalid_value') return `use one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
  return undefined;
}

export function formatKey(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[');
}

/** The keys a strict object schema accepts at `path`, for "allowed keys" hints. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[], root: unknown): string[] {
  let current: unknown = schema;
  let value: unknown = root;
  for (const part of path) {
    current = unwrap(current, value);
    const def = (current as { def?: SchemaDef }).def;
    if (def?.type === 'object' && def.shape) current = def.shape[String(part)];
    else if (def?.type === 'record') current = def.valueType;
    else if (def?.type === 'array') current = def.element;
    else return [];
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  }
  current = unwrap(current, value);
  const def = (current as { def?: SchemaDef }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  element?: unknown;
  innerType?: unknown;
  options?: unknown[];
  values?: unknown[];
}

/** Looks through optional/default wrappers, and picks the union member that matches `value`. */
function unwrap(schema: unknown, value: unknown): unknown {
  let current = schema;
  for (let guard = 0; guard < 10; guard++) {
    const def = (current as { def?: SchemaDef }).def;
    if (def?.type === 'optional' || def?.type === 'default' || def?.type === 'nullable') {
      current = def.innerType;
      continue;
    }
    if (def?.type === 'union' && def.options) {
      const objects = def.options.filter((option) => (option as { def?: SchemaDef }).def?.type === 'object');
      // Discriminated unions (targets' `type`): the member whose literal matches the value.
      const discriminated = objects.find((option) => {
        const typeField = (option as { def: SchemaDef }).def.shape?.type as { def?: SchemaDef } | undefined;
        const literal = typeField?.def?.values;
        return literal && value !== null && typeof value === 'object' && literal.includes((value as { type?: unknown }).type);
      });
      current = discriminated ?? objects[0] ?? current;
    }
    break;
  }
  return current;
}

/** The part of a parsed document at `path`, positioned in the whole document (to validate it alone). */
export function yamlAt(parsed: ParsedYaml, path: readonly PropertyKey[]): ParsedYaml {
  let value: unknown = parsed.value;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return { value, locate: (inner) => parsed.locate([...path, ...inner]) };
}
