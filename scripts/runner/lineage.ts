/**
 * The lineage of a compiled project, as Mermaid (for docs and PRs) and as text (for terminals).
 */
import type { CompiledProject } from './compile.ts';

/** Mermaid node shapes by kind, so a diagram reads without a legend. */
const SHAPES: Record<string, [string, string]> = {
  cluster: ['{{', '}}'],
  secret: ['[/', '/]'],
  connection: ['[\\', '\\]'],
  source: ['[(', ')]'],
  view: ['[', ']'],
  materialized_view: ['[[', ']]'],
  index: ['([', '])'],
  test: ['{', '}'],
};

const CLASSES: Record<string, string> = {
  cluster: 'fill:#eee,stroke:#999',
  secret: 'fill:#fde2e2,stroke:#c55',
  connection: 'fill:#fdf0d5,stroke:#c90',
  source: 'fill:#dbeafe,stroke:#36c',
  view: 'fill:#fff,stroke:#666',
  materialized_view: 'fill:#dcfce7,stroke:#393',
  index: 'fill:#f3e8ff,stroke:#83c',
  test: 'fill:#fef9c3,stroke:#a80',
};

function visibleOrder(project: CompiledProject, selected?: ReadonlySet<string>): readonly string[] {
  return selected ? project.order.filter((name) => selected.has(name)) : project.order;
}

export function renderMermaid(project: CompiledProject, selected?: ReadonlySet<string>): string {
  const names = visibleOrder(project, selected);
  const shown = new Set(names);
  const lines = ['flowchart LR'];
  for (const name of names) {
    const node = project.nodes.get(name)!;
    const [open, close] = SHAPES[node.kind] ?? ['[', ']'];
    lines.push(`  ${name}${open}"${name}<br/><small>${node.kind.replace('_', ' ')}</small>"${close}:::${node.kind}`);
  }
  for (const name of names) {
    for (const dep of project.nodes.get(name)!.dependsOn) {
      if (shown.has(dep)) lines.push(`  ${dep} --> ${name}`);
    }
  }
  const kinds = new Set(names.map((name) => project.nodes.get(name)!.kind));
  for (const kind of kinds) lines.push(`  classDef ${kind} ${CLASSES[kind]}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Nodes grouped by depth (everything in one group can deploy in parallel), each with its kind,
 * its file and what it depends on.
 */
export function renderText(project: CompiledProject, selected?: ReadonlySet<string>): string {
  const names = visibleOrder(project, selected);
  const width = Math.max(4, ...names.map((name) => name.length));
  const kindWidth = Math.max(4, ...names.map((name) => project.nodes.get(name)!.kind.length));
  const lines: string[] = [];
  let currentDepth = -1;
  for (const name of names) {
    const node = project.nodes.get(name)!;
    const depth = project.depth.get(name) ?? 0;
    if (depth !== currentDepth) {
      currentDepth = depth;
      lines.push(`depth ${depth}`);
    }
    const deps = node.dependsOn.length ? `  ← ${node.dependsOn.join(', ')}` : '';
    lines.push(`  ${name.padEnd(width)}  ${node.kind.padEnd(kindWidth)}  ${node.path}${deps}`);
  }
  return `${lines.join('\n')}\n`;
}
