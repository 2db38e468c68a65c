/**
 * The page's state outside components: the graph (nodes by name, each replaced as a whole when it
 * changes, so memoised components re-render only for their own node), row counts and the request
 * log. Components subscribe with useStore and read a slice.
 */
import { useEffect, useState } from 'preact/hooks';
import type { GraphNode, GraphSnapshot, RequestRecord, TargetSummary } from './api.ts';

export interface ConsoleState {
  project: string | null;
  note?: string;
  nodes: Map<string, GraphNode>;
  /** Bumped when nodes come or go or edges change (the layout is redone only then). */
  graphVersion: number;
  counts: Map<string, number | null>;
  requests: RequestRecord[];
  targets: TargetSummary[];
  connected: boolean;
}

type Listener = () => void;

export class Store {
  state: ConsoleState = { project: null, nodes: new Map(), graphVersion: 0, counts: new Map(), requests: [], targets: [], connected: false };
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  update(patch: Partial<ConsoleState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  setGraph(snapshot: GraphSnapshot): void {
    const nodes = new Map(snapshot.nodes.map((node) => [node.name, node]));
    this.update({
      project: snapshot.project,
      ...(snapshot.note ? { note: snapshot.note } : { note: undefined }),
      nodes,
      graphVersion: this.state.graphVersion + 1,
      counts: new Map(Object.entries(snapshot.counts)),
    });
  }

  setNodes(changed: GraphNode[]): void {
    const nodes = new Map(this.state.nodes);
    for (const node of changed) if (nodes.has(node.name)) nodes.set(node.name, node);
    this.update({ nodes });
  }

  setCounts(changed: Record<string, number | null>): void {
    const counts = new Map(this.state.counts);
    for (const [name, count] of Object.entries(changed)) counts.set(name, count);
    this.update({ counts });
  }

  addRequests(records: RequestRecord[], targets: TargetSummary[]): void {
    const requests = [...records.slice().reverse(), ...this.state.requests].slice(0, 100);
    this.update({ requests, targets });
  }
}

export const store = new Store();

/** The slice `select` picks, re-rendering when it changes (by identity). */
export function useStore<T>(select: (state: ConsoleState) => T): T {
  const [value, setValue] = useState(() => select(store.state));
  useEffect(() => {
    const check = () => setValue(() => select(store.state));
    check();
    return store.subscribe(check);
  }, []);
  return value;
}
