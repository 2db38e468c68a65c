/**
 * dbt-style node selection: `name`, `+name` (with ancestors), `name+` (with descendants),
 * `2+name` / `name+1` (bounded depth), `tag:x`, `path:models/marts`, `kind:source` (`kind:unit` and
 * `kind:data`: unit tests, data tests), globs with `*`,
 * space-separated unions, `a,b` intersections, and `--exclude` with the same syntax.
 * An index follows the model it belongs to, and a data test follows the models it reads (dbt's
 * "eager" indirect selection): selecting a model brings its tests, excluding it drops them.
 */
import { ProjectError, closestName } from './errors.ts';
import { ancestors, descendants } from './graph.ts';
import { escapeRegExp } from '../shared/regexp.ts';

export interface SelectableNode {
  readonly name: string;
  readonly kind: string;
  /** Project-relative file path. */
  readonly path: string;
  readonly tags: readonly string[];
  /** For index nodes: the model they index. */
  readonly parent?: string;
  /**
   * For test nodes: what kind of test (`unit` for EXECUTE UNIT TEST, data tests otherwise) and,
   * for a unit test, the model it tests.
   */
  readonly test?: { readonly kind: string; readonly model?: string | undefined };
}

export interface SelectionGraph {
  readonly nodes: ReadonlyMap<string, SelectableNode>;
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

const TERM = /^(?:(\d*)\+)?(?:([a-z_]+):)?([^+]+?)(?:\+(\d*))?$/;
const METHODS = ['name', 'tag', 'path', 'kind'] as const;

/** The names selected by `select` (everything when empty) minus those matched by `exclude`. */
export function selectNodes(graph: SelectionGraph, select: readonly string[] = [], exclude: readonly string[] = []): Set<string> {
  const selected = select.length ? union(graph, select, '--select') : new Set(graph.nodes.keys());
  const excluded = exclude.length ? union(graph, exclude, '--exclude') : new Set<string>();
  for (const name of excluded) selected.delete(name);
  return selected;
}

function union(graph: SelectionGraph, selectors: readonly string[], flag: string): Set<string> {
  const result = new Set<string>();
  for (const selector of selectors) {
    for (const term of selector.split(/\s+/).filter(Boolean)) {
      const parts = term.split(',').map((part) => matchTerm(graph, part, flag));
      const [first, ...rest] = parts;
      for (const name of first!) if (rest.every((part) => part.has(name))) result.add(name);
    }
  }
  // Indexes follow their model, so selecting a view brings its indexes and excluding it drops them;
  // data tests follow any model they read; a unit test follows the model it tests (as in dbt: its
  // mocks stand in for the models it names, which it does not read).
  for (const node of graph.nodes.values()) {
    if (node.parent && result.has(node.parent)) result.add(node.name);
    else if (node.kind === 'test' && node.test?.kind === 'unit') {
      if (node.test.model !== undefined && result.has(node.test.model)) result.add(node.name);
    } else if (node.kind === 'test' && (graph.dependencies.get(node.name) ?? []).some((dependency) => result.has(dependency))) result.add(node.name);
  }
  return result;
}

function matchTerm(graph: SelectionGraph, term: string, flag: string): Set<string> {
  const parsed = TERM.exec(term);
  if (!parsed) throw new ProjectError(`${flag} '${term}' is not a selector`, undefined, 'use name, +name, name+, tag:x, path:models/dir or kind:view');
  const [, upDepth, rawMethod, value, downDepth] = parsed;
  const method = (rawMethod ?? 'name') as (typeof METHODS)[number];
  if (!METHODS.includes(method)) {
    throw new ProjectError(`${flag} '${term}': unknown selector method '${rawMethod}:'`, undefined, `methods: ${METHODS.map((m) => `${m}:`).join(', ')}`);
  }
  const matched = matchMethod(graph, method, value!);
  if (matched.size === 0) {
    const names = method === 'tag' ? [...new Set([...graph.nodes.values()].flatMap((node) => node.tags))] : [...graph.nodes.keys()];
    const suggestion = method === 'name' || method === 'tag' ? closestName(value!, names) : undefined;
    throw new ProjectError(
      `${flag} '${term}' matches no model${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      undefined,
      method === 'path' ? 'give a folder or file under models/, e.g. path:models/marts' : 'check the spelling; models:graph lists every model',
    );
  }
  const result = new Set(matched);
  if (upDepth !== undefined) for (const name of ancestors(graph.dependencies, matched, depthLimit(upDepth))) result.add(name);
  if (downDepth !== undefined) for (const name of descendants(graph.dependents, matched, depthLimit(downDepth))) result.add(name);
  return result;
}

function depthLimit(text: string): number {
  return text === '' ? Infinity : Number(text);
}

function matchMethod(graph: SelectionGraph, method: (typeof METHODS)[number], value: string): Set<string> {
  const result = new Set<string>();
  if (method === 'name' && !value.includes('*')) {
    if (graph.nodes.has(value)) result.add(value);
    return result;
  }
  const pattern = method === 'name' || method === 'tag' ? globPattern(value) : undefined;
  const pathPrefix = method === 'path' ? normalizePath(value) : '';
  for (const node of graph.nodes.values()) {
    if (node.parent && method !== 'name' && method !== 'kind') continue; // indexes follow their model
    const hit =
      method === 'name'
        ? pattern!.test(node.name)
        : method === 'tag'
          ? node.tags.some((tag) => pattern!.test(tag))
          : method === 'kind'
            ? node.kind === value || (node.kind === 'test' && (value === 'unit' ? node.test?.kind === 'unit' : value === 'data' && node.test?.kind !== 'unit'))
            : node.path === pathPrefix || node.path.startsWith(`${pathPrefix}/`);
    if (hit) result.add(node.name);
  }
  return result;
}

function normalizePath(value: string): string {
  const clean = value.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  return clean.startsWith('models/') || clean === 'models' ? clean : `models/${clean}`;
}

function globPattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => escapeRegExp(part)).join('.*')}$`);
}
