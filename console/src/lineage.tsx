/**
 * The project's graph, left to right, each node with its kind, deploy status and row count. Nodes
 * are memoised on their own version and count: a deploy touching one model re-renders one box.
 * Keyboard: Tab/arrows move between nodes (arrows follow columns), Enter opens one, / filters.
 */
import { memo } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { GraphNode } from './api.ts';
import { edgePath, layoutGraph, NODE_HEIGHT, NODE_WIDTH, type Layout, type Placed } from './layout.ts';
import { store, useStore } from './store.ts';
import { formatCount, kindLabel, nodeStateLabel, shortKindLabel, statusLabel } from './format.ts';

export function Lineage(props: { selected: string | null; onOpen: (name: string) => void }) {
  const nodes = useStore((state) => state.nodes);
  const graphVersion = useStore((state) => state.graphVersion);
  const counts = useStore((state) => state.counts);
  const note = useStore((state) => state.note);
  const [filter, setFilter] = useState('');
  const filterInput = useRef<HTMLInputElement>(null);
  // The layout depends on the graph's shape only, not on statuses or counts.
  const layout = useMemo(() => layoutGraph([...store.state.nodes.values()]), [graphVersion]);
  const matches = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? new Set([...nodes.keys()].filter((name) => name.toLowerCase().includes(needle))) : null;
  }, [filter, graphVersion]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === '/' && !isTyping(event)) {
        event.preventDefault();
        filterInput.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const summary = useMemo(() => {
    const byStatus = new Map<string, number>();
    let tests = 0;
    for (const node of nodes.values()) {
      if (node.kind === 'test' && node.status === 'not_deployed') tests++;
      else byStatus.set(node.status, (byStatus.get(node.status) ?? 0) + 1);
    }
    const parts = [...byStatus].map(([status, count]) => `${count} ${statusLabel(status as GraphNode['status'])}`);
    return [...parts, ...(tests > 0 ? [`${tests} test${tests === 1 ? '' : 's'} run by models:test`] : [])].join(' · ');
  }, [nodes]);

  if (nodes.size === 0) {
    return <section class="empty" data-testid="lineage-empty">{note ?? 'No models yet.'}</section>;
  }
  return (
    <section class="lineage" aria-label="Lineage">
      <div class="toolbar">
        <input
          ref={filterInput}
          class="filter"
          type="search"
          placeholder="Filter models (/)"
          aria-label="Filter models"
          value={filter}
          onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
          onKeyDown={(event) => {
            // Enter opens the first match and Escape clears the filter; both hand the keys back
            // to the page's shortcuts.
            const input = event.currentTarget as HTMLInputElement;
            if (event.key === 'Enter' && matches && matches.size > 0) {
              props.onOpen(bestMatch([...matches], filter.trim().toLowerCase()));
              setFilter('');
              input.blur();
            }
            if (event.key === 'Escape') {
              event.stopPropagation();
              setFilter('');
              input.blur();
            }
          }}
        />
        <span class="muted" data-testid="lineage-summary">
          {nodes.size} nodes · {summary}
        </span>
      </div>
      <div class="canvas" onKeyDown={(event) => moveFocus(event, layout)}>
        <svg width={layout.width} height={layout.height} role="list" aria-label="Models">
          <Edges layout={layout} graphVersion={graphVersion} />
          {[...nodes.values()].map((node) => {
            const placed = layout.positions.get(node.name);
            if (!placed) return null;
            return (
              <NodeBox
                key={node.name}
                node={node}
                placed={placed}
                count={counts.get(node.name)}
                selected={props.selected === node.name}
                dimmed={matches !== null && !matches.has(node.name)}
                onOpen={props.onOpen}
              />
            );
          })}
        </svg>
      </div>
    </section>
  );
}

const INFRASTRUCTURE_KINDS = new Set(['cluster', 'secret', 'connection']);

const Edges = memo(
  function Edges(props: { layout: Layout; graphVersion: number }) {
    const paths: preact.JSX.Element[] = [];
    for (const node of store.state.nodes.values()) {
      const to = props.layout.positions.get(node.name);
      if (!to) continue;
      for (const dependency of node.dependsOn) {
        const from = props.layout.positions.get(dependency);
        // Edges from clusters, secrets and connections are drawn faint: they are where things
        // run and what they use, not the flow of data.
        const infrastructure = INFRASTRUCTURE_KINDS.has(store.state.nodes.get(dependency)?.kind ?? '');
        if (from) paths.push(<path key={`${dependency}>${node.name}`} class={infrastructure ? 'edge infra' : 'edge'} d={edgePath(from, to)} />);
      }
    }
    return <g aria-hidden="true">{paths}</g>;
  },
  (before, after) => before.graphVersion === after.graphVersion && before.layout === after.layout,
);

interface NodeBoxProps {
  node: GraphNode;
  placed: Placed;
  count: number | null | undefined;
  selected: boolean;
  dimmed: boolean;
  onOpen: (name: string) => void;
}

const NodeBox = memo(
  function NodeBox({ node, placed, count, selected, dimmed, onOpen }: NodeBoxProps) {
    const test = node.test;
    const state = nodeStateLabel(node);
    const right = count === undefined ? '' : count === null ? '—' : `${formatCount(count)} rows`;
    const label = `${node.name}, ${kindLabel(node.kind)}, ${state}${node.location ? ` at ${node.location}` : ''}${right ? `, ${right}` : ''}`;
    return (
      <g
        class={`node status-${node.status} kind-${node.kind}${selected ? ' selected' : ''}${dimmed ? ' dimmed' : ''}${test ? ` test-${test.status}` : ''}`}
        transform={`translate(${placed.x},${placed.y})`}
        tabIndex={0}
        role="listitem"
        aria-label={label}
        data-node={node.name}
        data-status={node.status}
        data-column={placed.column}
        data-row={placed.row}
        onClick={() => onOpen(node.name)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            onOpen(node.name);
          }
        }}
      >
        <title>{node.error ? `${node.location ?? node.path}: ${node.error}` : `${node.path} — ${statusLabel(node.status)}`}</title>
        <rect class="box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={7} />
        <rect class="bar" width={5} height={NODE_HEIGHT} rx={2} />
        <text class="name" x={14} y={19}>
          {truncate(node.name, 25)}
        </text>
        <text class="meta" x={14} y={36}>
          <tspan class="kind">{shortKindLabel(node.kind)}</tspan>
          <tspan class="status" dx={8}>
            {state}
          </tspan>
        </text>
        <text class="count" x={NODE_WIDTH - 10} y={36} text-anchor="end" data-count={count ?? ''}>
          {right}
        </text>
      </g>
    );
  },
  (before, after) =>
    before.node.version === after.node.version &&
    before.node === after.node &&
    before.count === after.count &&
    before.selected === after.selected &&
    before.dimmed === after.dimmed &&
    before.placed.x === after.placed.x &&
    before.placed.y === after.placed.y,
);

/** The name a filter most likely means: exact, then prefix, then shortest containing it. */
function bestMatch(names: string[], needle: string): string {
  const rank = (name: string) => (name.toLowerCase() === needle ? 0 : name.toLowerCase().startsWith(needle) ? 1 : 2);
  return names.sort((a, b) => rank(a) - rank(b) || a.length - b.length || a.localeCompare(b))[0]!;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** Arrow keys: up/down within a column, left/right to the nearest row of the next column. */
function moveFocus(event: KeyboardEvent, layout: Layout): void {
  const current = (document.activeElement as Element | null)?.closest('[data-node]');
  if (!current || !['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(event.key)) return;
  const column = Number(current.getAttribute('data-column'));
  const row = Number(current.getAttribute('data-row'));
  let target: string | undefined;
  if (event.key === 'ArrowUp') target = layout.columns[column]?.[row - 1];
  if (event.key === 'ArrowDown') target = layout.columns[column]?.[row + 1];
  if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
    const next = layout.columns[column + (event.key === 'ArrowLeft' ? -1 : 1)];
    if (next && next.length > 0) target = next[Math.min(row, next.length - 1)];
  }
  if (!target) return;
  event.preventDefault();
  const element = document.querySelector<SVGGElement>(`[data-node="${CSS.escape(target)}"]`);
  element?.focus();
  element?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

export function isTyping(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  return !!target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
}
