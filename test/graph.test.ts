import { describe, expect, it } from 'vitest';
import { ancestors, descendants, invertDependencies, orderGraph } from '../scripts/runner/graph.ts';

function graph(edges: Record<string, string[]>) {
  return new Map(Object.entries(edges));
}

describe('orderGraph', () => {
  it('orders dependencies first, by depth then name, whatever the input order', () => {
    const edges = { mart: ['stg_b', 'stg_a'], stg_a: ['src'], stg_b: ['src'], src: ['cluster', 'secret'], cluster: [], secret: [] };
    const reversed = Object.fromEntries(Object.entries(edges).reverse());
    const first = orderGraph({ dependencies: graph(edges) });
    const second = orderGraph({ dependencies: graph(reversed) });
    expect(first.ok && first.graph.order).toEqual(['cluster', 'secret', 'src', 'stg_a', 'stg_b', 'mart']);
    expect(second.ok && second.graph.order).toEqual(first.ok && first.graph.order);
    expect(first.ok && Object.fromEntries(first.graph.depth)).toEqual({ cluster: 0, secret: 0, src: 1, stg_a: 2, stg_b: 2, mart: 3 });
  });

  it('uses the longest path for depth', () => {
    const result = orderGraph({ dependencies: graph({ a: [], b: ['a'], c: ['b'], d: ['a', 'c'] }) });
    expect(result.ok && result.graph.depth.get('d')).toBe(3);
  });

  it('handles chains far deeper than the call stack', () => {
    const edges: Record<string, string[]> = { m0: [] };
    for (let index = 1; index < 50_000; index++) edges[`m${index}`] = [`m${index - 1}`];
    const result = orderGraph({ dependencies: graph(edges) });
    expect(result.ok && result.graph.order.at(-1)).toBe('m49999');
  });

  it('reports every cycle, each as a path starting at its smallest name', () => {
    const result = orderGraph({
      dependencies: graph({ a: ['c'], b: ['a'], c: ['b'], ok: [], x: ['y'], y: ['x'], self: ['self'], after: ['a', 'ok'] }),
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.cycles).toEqual([['a', 'c', 'b', 'a'], ['self', 'self'], ['x', 'y', 'x']]);
  });

  it('reports cycles in deep graphs without overflowing', () => {
    const edges: Record<string, string[]> = { m0: ['m19999'] };
    for (let index = 1; index < 20_000; index++) edges[`m${index}`] = [`m${index - 1}`];
    const result = orderGraph({ dependencies: graph(edges) });
    expect(!result.ok && result.cycles[0]!.length).toBe(20_001);
  });
});

describe('ancestors and descendants', () => {
  const dependencies = graph({ a: [], b: ['a'], c: ['b'], d: ['c'], e: ['a'] });
  const dependents = invertDependencies(dependencies);

  it('walks the whole closure or a bounded number of steps', () => {
    expect([...ancestors(dependencies, ['d'])].sort()).toEqual(['a', 'b', 'c']);
    expect([...ancestors(dependencies, ['d'], 1)]).toEqual(['c']);
    expect([...descendants(dependents, ['a'])].sort()).toEqual(['b', 'c', 'd', 'e']);
    expect([...descendants(dependents, ['a'], 2)].sort()).toEqual(['b', 'c', 'e']);
  });
});
