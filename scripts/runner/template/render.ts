/**
 * Renders parsed templates with mustache semantics, made strict for SQL:
 * - no HTML escaping, ever (SQL is not HTML);
 * - a name that does not resolve is an error at its file:line:col, never empty text;
 * - an object or list interpolated as text is an error (it would render "[object Object]").
 * Sections, inverted sections, dotted names, `.` and partials behave as in mustache.js.
 */
import { closestName as closest } from '../errors.ts';
import type { LineIndex } from '../line-index.ts';
import type { NameToken, PartialToken, SectionToken, TemplateToken } from './parse.ts';

/** A parsed template and where it came from, for error positions. */
export interface TemplateSource {
  readonly file: string;
  readonly tokens: readonly TemplateToken[];
  readonly lines: LineIndex;
}

export interface RenderOptions {
  /** Looks up a partial (a macro) by name. */
  readonly partial: (name: string) => TemplateSource | undefined;
  /** Names of the available partials, for suggestions. */
  readonly partialNames: () => Iterable<string>;
  /** Called for every resolved name tag, e.g. to record `ref.x` as a dependency. */
  readonly onName?: (path: readonly string[], source: TemplateSource, start: number) => void;
  /** A domain-specific explanation of a missing name (e.g. "unknown model"). */
  readonly explainMissing?: (path: readonly string[]) => { message: string; fix?: string } | undefined;
}

export class TemplateRenderError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

const MAX_PARTIAL_DEPTH = 32;

type ContextStack = unknown[];

export function renderTemplate(source: TemplateSource, view: object, options: RenderOptions): string {
  return renderTokens(source.tokens, [view], source, options, 0);
}

function renderTokens(
  tokens: readonly TemplateToken[],
  stack: ContextStack,
  source: TemplateSource,
  options: RenderOptions,
  depth: number,
): string {
  let output = '';
  for (const token of tokens) {
    switch (token.type) {
      case 'text':
        output += token.text;
        break;
      case 'name':
        output += renderName(token, stack, source, options);
        break;
      case 'section':
        output += renderSection(token, stack, source, options, depth);
        break;
      case 'partial':
        output += renderPartial(token, stack, source, options, depth);
        break;
    }
  }
  return output;
}

function renderName(token: NameToken, stack: ContextStack, source: TemplateSource, options: RenderOptions): string {
  const value = resolve(token, stack, source, options);
  options.onName?.(token.path, source, token.start);
  if (value === null) return '';
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object':
      if (!Array.isArray(value) && hasOwnToString(value)) return String(value);
      throw errorAt(
        source,
        token.start,
        `'{{${token.name}}}' is ${Array.isArray(value) ? 'a list' : 'an object'}, not text`,
        Array.isArray(value)
          ? `iterate it with {{#${token.name}}}…{{/${token.name}}}`
          : `name one of its fields: ${Object.keys(value).slice(0, 5).map((key) => `{{${token.name}.${key}}}`).join(', ')}`,
      );
    default:
      throw errorAt(source, token.start, `'{{${token.name}}}' is a ${typeof value}, not text`);
  }
}

function renderSection(
  token: SectionToken,
  stack: ContextStack,
  source: TemplateSource,
  options: RenderOptions,
  depth: number,
): string {
  const value = resolve(token, stack, source, options);
  const empty = !value || (Array.isArray(value) && value.length === 0);
  if (token.inverted) return empty ? renderTokens(token.children, stack, source, options, depth) : '';
  if (empty) return '';
  if (Array.isArray(value)) {
    let output = '';
    for (const item of value) output += renderTokens(token.children, [...stack, item], source, options, depth);
    return output;
  }
  if (typeof value === 'object' || typeof value === 'string' || typeof value === 'number') {
    return renderTokens(token.children, [...stack, value], source, options, depth);
  }
  return renderTokens(token.children, stack, source, options, depth);
}

function renderPartial(
  token: PartialToken,
  stack: ContextStack,
  source: TemplateSource,
  options: RenderOptions,
  depth: number,
): string {
  const partial = options.partial(token.name);
  if (!partial) {
    const names = [...options.partialNames()];
    const suggestion = closest(token.name, names);
    throw errorAt(
      source,
      token.start,
      `unknown macro '{{> ${token.name}}}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      names.length ? `macros are the files in macros/: ${names.slice(0, 8).join(', ')}` : 'create macros/' + token.name + '.sql',
    );
  }
  if (depth >= MAX_PARTIAL_DEPTH) {
    throw errorAt(source, token.start, `macro '${token.name}' nests more than ${MAX_PARTIAL_DEPTH} deep`, 'a macro includes itself, directly or through another macro');
  }
  let rendered = renderTokens(partial.tokens, stack, partial, options, depth + 1);
  if (!token.standalone && rendered.endsWith('\n')) rendered = rendered.slice(0, rendered.endsWith('\r\n') ? -2 : -1);
  return token.indentation ? indent(rendered, token.indentation, token.indentFirstLine) : rendered;
}

/** mustache.js's partial indentation: every non-empty line, the first only if the tag began its line. */
function indent(text: string, indentation: string, indentFirstLine: boolean): string {
  const indented = text.replace(/\n(?=[^\n])/g, `\n${indentation}`);
  return indentFirstLine && text !== '' && text[0] !== '\n' ? indentation + indented : indented;
}

function resolve(token: NameToken | SectionToken, stack: ContextStack, source: TemplateSource, options: RenderOptions): unknown {
  const path = token.path;
  if (path[0] === '.') return stack[stack.length - 1];

  const head = path[0]!;
  let value: unknown;
  let found = false;
  for (let index = stack.length - 1; index >= 0; index--) {
    const context = stack[index];
    if (context !== null && typeof context === 'object' && head in context) {
      value = (context as Record<string, unknown>)[head];
      found = true;
      break;
    }
  }
  for (let index = 1; found && index < path.length; index++) {
    const key = path[index]!;
    if (value !== null && typeof value === 'object' && key in value) {
      value = (value as Record<string, unknown>)[key];
    } else {
      found = false;
    }
  }
  if (found && value !== undefined) return value;

  const explained = options.explainMissing?.(path);
  if (explained) throw errorAt(source, token.start, explained.message, explained.fix);
  const known = knownNames(stack, path);
  const suggestion = closest(path[path.length - 1]!, known);
  throw errorAt(
    source,
    token.start,
    `'${token.name}' is not defined${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
    `names available here: ${known.slice(0, 10).join(', ') || '(none)'}`,
  );
}

/** The names that exist at the level where `path` stopped resolving. */
function knownNames(stack: ContextStack, path: readonly string[]): string[] {
  const names = new Set<string>();
  for (const context of stack) {
    if (context === null || typeof context !== 'object') continue;
    let value: unknown = context;
    let index = 0;
    for (; index < path.length - 1; index++) {
      if (value === null || typeof value !== 'object' || !(path[index]! in value)) break;
      value = (value as Record<string, unknown>)[path[index]!];
    }
    if (index === path.length - 1 && value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) names.add(key);
    }
  }
  return [...names].sort();
}

function hasOwnToString(value: object): boolean {
  return typeof (value as { toString?: unknown }).toString === 'function' && value.toString !== Object.prototype.toString;
}

function errorAt(source: TemplateSource, offset: number, message: string, fix?: string): TemplateRenderError {
  const { line, column } = source.lines.position(offset);
  return new TemplateRenderError(message, source.file, line, column, fix);
}
