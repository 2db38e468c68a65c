/**
 * The dependency graph: deploy order and cycles. Iterative throughout, because generated projects
 * have chains thousands of models deep and recursion would overflow the stack.
 */

export interface GraphInput {
  /** Node name → the names it depends on (all of which are nodes). */
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
}

export interface GraphOrder {
  /** Deploy order: by depth (longest chain of dependencies below a node), then by name. */
  readonly order: readonly string[];
  /** 0 for nodes without dependencies; a node's depth exceeds each of its dependencies'. */
  readonly depth: ReadonlyMap<string, number>;
}

export type GraphResult = { readonly ok: true; readonly graph: GraphOrder } | { readonly ok: false; readonly cycles: readonly string[][] };

/**
 * A stable topological order. Ordering by (depth, name) makes the order independent of file
 * discovery order, and groups nodes that can be deployed in parallel.
 */
export function orderGraph(input: GraphInput): GraphResult {
  const { dependencies } = input;
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [node, deps] of dependencies) {
    remaining.set(node, deps.length);
    for (const dep of deps) {
      let list = dependents.get(dep);
      if (!list) dependents.set(dep, (list = []));
      list.push(node);
    }
  }

  const depth = new Map<string, number>();
  const queue: string[] = [];
  for (const [node, count] of remaining) {
    if (count === 0) {
      queue.push(node);
      depth.set(node, 0);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    const nodeDepth = depth.get(node)!;
    for (const dependent of dependents.get(node) ?? []) {
      if ((depth.get(dependent) ?? -1) < nodeDepth + 1) depth.set(dependent, nodeDepth + 1);
      const left = remaining.get(dependent)! - 1;
      remaining.set(dependent, left);
      if (left === 0) queue.push(dependent);
    }
  }

  if (queue.length < dependencies.size) {
    const stuck = new Set([...dependencies.keys()].filter((node) => remaining.get(node)! > 0));
    return { ok: false, cycles: findCycles(dependencies, stuck) };
  }

  // Bucket by depth, then sort each bucket by name (code-unit order, the same on every machine).
  const buckets: string[][] = [];
  for (const node of queue) (buckets[depth.get(node)!] ??= []).push(node);
  const order: string[] = [];
  for (const bucket of buckets) if (bucket) order.push(...bucket.sort());
  return { ok: true, graph: { order, depth } };
}

/**
 * One concrete cycle per strongly connected component among `candidates` (Tarjan's algorithm,
 * iterative), each as a path `a → b → … → a` starting at its smallest name.
 */
export function findCycles(dependencies: ReadonlyMap<string, readonly string[]>, candidates: ReadonlySet<string>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const start of [...candidates].sort()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    lowLink.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const deps = (dependencies.get(frame.node) ?? []).filter((dep) => candidates.has(dep));
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!;
        if (!index.has(dep)) {
          index.set(dep, counter);
          lowLink.set(dep, counter++);
          stack.push(dep);
          onStack.add(dep);
          work.push({ node: dep, next: 0 });
        } else if (onStack.has(dep)) {
          lowLink.set(frame.node, Math.min(lowLink.get(frame.node)!, index.get(dep)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) lowLink.set(parent.node, Math.min(lowLink.get(parent.node)!, lowLink.get(frame.node)!));
      if (lowLink.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && (dependencies.get(member) ?? []).includes(member);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }

  return components
    .map((component) => cyclePath(dependencies, new Set(component)))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** A shortest cycle through the component's smallest node (breadth-first within the component). */
function cyclePath(dependencies: ReadonlyMap<string, readonly string[]>, component: ReadonlySet<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const dep of [...(dependencies.get(node) ?? [])].sort()) {
      if (!component.has(dep)) continue;
      if (dep === start) {
        const path = [start];
        for (let step: string | undefined = node; step !== undefined && step !== start; step = previous.get(step)) path.splice(1, 0, step);
        path.push(start);
        return path;
      }
      if (!previous.has(dep)) {
        previous.set(dep, node);
        queue.push(dep);
      }
    }
  }
  return [start, start];
}

/** Everything `names` depends on, transitively (not including `names` themselves). */
export function ancestors(dependencies: ReadonlyMap<string, readonly string[]>, names: Iterable<string>, maxDepth = Infinity): Set<string> {
  return walk((node) => dependencies.get(node) ?? [], names, maxDepth);
}

/** Everything that depends on `names`, transitively. */
export function descendants(dependents: ReadonlyMap<string, readonly string[]>, names: Iterable<string>, maxDepth = Infinity): Set<string> {
  return walk((node) => dependents.get(node) ?? [], names, maxDepth);
}

export function invertDependencies(dependencies: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const node of dependencies.keys()) dependents.set(node, []);
  for (const [node, deps] of dependencies) for (const dep of deps) dependents.get(dep)?.push(node);
  return dependents;
}

function walk(next: (node: string) => readonly string[], starts: Iterable<string>, maxDepth: number): Set<string> {
  const seen = new Set<string>();
  let frontier = [...starts];
  for (let level = 0; level < maxDepth && frontier.length; level++) {
    const following: string[] = [];
    for (const node of frontier) {
      for (const neighbour of next(node)) {
        if (!seen.has(neighbour)) {
          seen.add(neighbour);
          following.push(neighbour);
        }
      }
    }
    frontier = following;
  }
  return seen;
}
