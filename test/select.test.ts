import { describe, expect, it } from 'vitest';
import { invertDependencies } from '../scripts/runner/graph.ts';
import { selectNodes, type SelectableNode } from '../scripts/runner/select.ts';

const nodeList: SelectableNode[] = [
  { name: 'secret', kind: 'secret', path: 'models/sources/secret.sql', tags: ['sources'] },
  { name: 'src', kind: 'source', path: 'models/sources/src.sql', tags: ['sources'] },
  { name: 'stg_events', kind: 'materialized_view', path: 'models/staging/stg_events.sql', tags: ['staging'] },
  { name: 'stg_pages', kind: 'view', path: 'models/staging/stg_pages.sql', tags: ['staging', 'web'] },
  { name: 'pages_by_url', kind: 'materialized_view', path: 'models/marts/web/pages_by_url.sql', tags: ['marts', 'web'] },
  { name: 'pages_by_url_url_idx', kind: 'index', path: 'models/marts/web/pages_by_url.sql', tags: ['marts', 'web'], parent: 'pages_by_url' },
  { name: 'dau', kind: 'materialized_view', path: 'models/marts/dau.sql', tags: ['marts'] },
];
const dependencies = new Map<string, string[]>([
  ['secret', []],
  ['src', ['secret']],
  ['stg_events', ['src']],
  ['stg_pages', ['stg_events']],
  ['pages_by_url', ['stg_pages']],
  ['pages_by_url_url_idx', ['pages_by_url']],
  ['dau', ['stg_events']],
]);
const graph = { nodes: new Map(nodeList.map((node) => [node.name, node])), dependencies, dependents: invertDependencies(dependencies) };

const select = (selectors: string[], exclude: string[] = []) => [...selectNodes(graph, selectors, exclude)].sort();

describe('selection', () => {
  it('selects everything by default', () => {
    expect(select([])).toHaveLength(nodeList.length);
  });

  it('selects a model with its index', () => {
    expect(select(['pages_by_url'])).toEqual(['pages_by_url', 'pages_by_url_url_idx']);
  });

  it('adds ancestors with +name and descendants with name+', () => {
    expect(select(['+stg_pages'])).toEqual(['secret', 'src', 'stg_events', 'stg_pages']);
    expect(select(['stg_pages+'])).toEqual(['pages_by_url', 'pages_by_url_url_idx', 'stg_pages']);
    expect(select(['1+stg_pages+1'])).toEqual(['pages_by_url', 'pages_by_url_url_idx', 'stg_events', 'stg_pages']);
  });

  it('selects by tag, path, kind and glob', () => {
    expect(select(['tag:web'])).toEqual(['pages_by_url', 'pages_by_url_url_idx', 'stg_pages']);
    expect(select(['path:models/marts'])).toEqual(['dau', 'pages_by_url', 'pages_by_url_url_idx']);
    expect(select(['path:marts/web'])).toEqual(['pages_by_url', 'pages_by_url_url_idx']);
    expect(select(['path:models/staging/stg_pages.sql'])).toEqual(['stg_pages']);
    expect(select(['kind:source'])).toEqual(['src']);
    expect(select(['stg_*'])).toEqual(['stg_events', 'stg_pages']);
  });

  it('unions space-separated selectors and intersects comma-joined ones', () => {
    expect(select(['src dau'])).toEqual(['dau', 'src']);
    expect(select(['src', 'dau'])).toEqual(['dau', 'src']);
    expect(select(['tag:marts,tag:web'])).toEqual(['pages_by_url', 'pages_by_url_url_idx']);
  });

  it('excludes with the same syntax, indexes following their model', () => {
    expect(select(['tag:marts'], ['pages_by_url'])).toEqual(['dau']);
    expect(select([], ['+stg_events'])).toEqual(['dau', 'pages_by_url', 'pages_by_url_url_idx', 'stg_pages']);
  });

  it('rejects a selector that matches nothing, with a suggestion', () => {
    expect(() => select(['stg_page'])).toThrowError("--select 'stg_page' matches no model (did you mean 'stg_pages'?)");
    expect(() => select(['tag:mart'])).toThrowError("--select 'tag:mart' matches no model (did you mean 'marts'?)");
    expect(() => select(['color:red'])).toThrowError("unknown selector method 'color:'");
    expect(() => select([], ['nope'])).toThrowError("--exclude 'nope' matches no model");
  });
});
