/**
 * The project's graph and each node's deploy status, as the console shows them. In `dev` it is fed
 * by watch mode (a save marks the saved models redeploying, each deploy action settles one, a
 * compile error fails the file's models at its line); in `local` it is the project on disk compared
 * with what the target's state table says was deployed, read again after every catalog change.
 */
import { formatLocation, type ProjectError } from '../runner/errors.ts';
import type { CompiledProject } from '../runner/compile.ts';
import type { ManifestKind } from '../runner/model-config.ts';
import type { ActionResult } from '../runner/deploy/deploy-execute.ts';
import type { DeployedState } from '../runner/deploy/deploy-state.ts';
import type { WatchCycle } from '../runner/watch/project-watcher.ts';
import type { TestResult } from '../runner/tests/test-runner.ts';
import type { UnitTestView } from './unit-test-board.ts';

export type DeployStatus = 'deployed' | 'redeploying' | 'failed' | 'not_deployed' | 'changed';

export interface StatusEvent {
  readonly time: number;
  readonly status: DeployStatus;
  /** What happened, e.g. "replace in 12 ms" or the error. */
  readonly detail?: string;
}

export interface BoardNode {
  readonly name: string;
  readonly kind: ManifestKind;
  readonly schema: string;
  readonly path: string;
  readonly dependsOn: readonly string[];
  /** Nodes reading this one. */
  readonly dependents: readonly string[];
  /** Longest path from a node with no dependencies: the lineage's column. */
  readonly depth: number;
  status: DeployStatus;
  /** For a failed node: the error, and where (file:line). */
  error?: string;
  location?: string;
  /** Data tests: the last run's outcome. */
  test?: { status: TestResult['status']; failures: number };
  /** Unit tests: the view under test, and the last outcome with its rows (unit-test-board.ts). */
  unitTestOf?: string;
  unit?: UnitTestView;
  /** Bumped on every change, so clients re-render only what changed. */
  version: number;
  /** Bumped when the object is created or replaced (its columns and rows may differ). */
  deployedVersion: number;
  /** The last status changes, newest last (at most 20). */
  history: StatusEvent[];
}

export interface BoardSnapshot {
  readonly project: string | null;
  /** Why there is no graph, when there is none. */
  readonly note?: string;
  readonly nodes: readonly BoardNode[];
  readonly version: number;
}

/** A change: the nodes that changed, or the whole graph when nodes came or went. */
export type BoardChange = { readonly kind: 'nodes'; readonly nodes: readonly BoardNode[] } | { readonly kind: 'graph' };

const HISTORY_LIMIT = 20;

export class ProjectBoard {
  private nodes = new Map<string, BoardNode>();
  private project: CompiledProject | null = null;
  private note: string | undefined;
  private version = 0;
  private readonly listeners = new Set<(change: BoardChange) => void>();
  /** Nodes changed since the last emit (emits are batched per tick). */
  private readonly dirty = new Set<string>();
  private graphDirty = false;
  private emitScheduled = false;
  /** Unit tests' last outcomes by test name (kept across recompiles, shown on their test nodes). */
  private readonly unitResults = new Map<string, UnitTestView>();

  constructor(private readonly now: () => number = Date.now) {}

  snapshot(): BoardSnapshot {
    return {
      project: this.project?.name ?? null,
      ...(this.note ? { note: this.note } : {}),
      nodes: [...this.nodes.values()],
      version: this.version,
    };
  }

  node(name: string): BoardNode | undefined {
    return this.nodes.get(name);
  }

  /** The compiled project (for a node's template and SQL). */
  get compiled(): CompiledProject | null {
    return this.project;
  }

  listen(listener: (change: BoardChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** No project to show (and why). */
  setNote(note: string): void {
    this.note = note;
    this.project = null;
    this.nodes.clear();
    this.markGraph();
  }

  /**
   * The project as compiled, each node's status from `deployed` (a node recorded with another
   * checksum is `changed`: not deployed as it is on disk). Keeps the status of nodes whose
   * deployed version did not change.
   */
  setProject(project: CompiledProject, deployed: DeployedState | null): void {
    const previous = this.nodes;
    const next = new Map<string, BoardNode>();
    let graphChanged = previous.size !== project.nodes.size || this.project?.name !== project.name;
    for (const name of project.order) {
      const compiled = project.nodes.get(name)!;
      const record = deployed?.get(name);
      const status: DeployStatus = !deployed ? 'not_deployed' : !record ? 'not_deployed' : record.checksum === compiled.checksum ? 'deployed' : 'changed';
      const before = previous.get(name);
      const sameEdges = before && before.dependsOn.join() === compiled.dependsOn.join();
      if (!sameEdges) graphChanged = true;
      const node: BoardNode = {
        name,
        kind: compiled.kind,
        schema: compiled.schema,
        path: compiled.path,
        dependsOn: compiled.dependsOn,
        dependents: project.dependents.get(name) ?? [],
        depth: project.depth.get(name) ?? 0,
        status: before?.status ?? status,
        ...(before?.error ? { error: before.error } : {}),
        ...(before?.location ? { location: before.location } : {}),
        ...(before?.test ? { test: before.test } : {}),
        ...(compiled.test?.kind === 'unit' ? { unitTestOf: compiled.test.model ?? '' } : {}),
        ...(compiled.test?.kind === 'unit' && this.unitResults.has(name) ? { unit: this.unitResults.get(name)! } : {}),
        version: before?.version ?? 0,
        deployedVersion: before?.deployedVersion ?? 0,
        history: before?.history ?? [],
      };
      next.set(name, node);
      // Only a known deployed state overrides what watch mode said (failed stays failed until fixed).
      if (deployed && node.status !== 'failed' && node.status !== 'redeploying' && node.status !== status) this.setStatus(node, status);
    }
    this.nodes = next;
    for (const name of this.unitResults.keys()) if (project.nodes.get(name)?.test?.kind !== 'unit') this.unitResults.delete(name);
    this.project = project;
    this.note = undefined;
    if (graphChanged) this.markGraph();
  }

  /** A save: the models of the saved files are being redeployed. */
  cycleStarted(changedPaths: readonly string[]): void {
    const changed = new Set(changedPaths);
    for (const node of this.nodes.values()) {
      if (changed.has(node.path)) this.setStatus(node, 'redeploying', `saved ${node.path}`);
    }
  }

  /** One deploy action finished. */
  actionFinished(result: ActionResult): void {
    const node = this.nodes.get(result.model);
    if (!node) return;
    if (result.status === 'done') {
      if (result.action === 'drop') return;
      const verb = result.action === 'unchanged' ? 'unchanged' : `${result.action}d`;
      if (result.action !== 'unchanged') node.deployedVersion++;
      this.setStatus(node, 'deployed', `${verb} in ${Math.round(result.ms)} ms`);
    } else if (result.status === 'failed') {
      const failure = result.failure;
      this.setStatus(node, 'failed', failure?.message ?? 'failed', failure?.location ? formatLocation(failure.location) : node.path);
    } else {
      const why = result.blockedBy ? `not deployed: ${result.blockedBy} failed upstream` : `skipped: ${result.skippedBecause ?? 'not needed'}`;
      this.setStatus(node, result.blockedBy ? 'failed' : node.status, why, result.blockedBy ? node.path : undefined);
    }
  }

  /** A watch cycle ended: compile errors fail their files' nodes; the rest settle. */
  cycleFinished(cycle: WatchCycle, deployed: DeployedState | null): void {
    if (cycle.errors) {
      this.compileFailed(cycle.errors);
      return;
    }
    if (cycle.error) {
      for (const node of this.nodes.values()) if (node.status === 'redeploying') this.setStatus(node, 'failed', cycle.error.message, node.path);
      return;
    }
    if (cycle.project) this.setProject(cycle.project, deployed);
    for (const node of this.nodes.values()) {
      if (node.status === 'redeploying') this.setStatus(node, 'deployed', 'unchanged');
    }
    for (const result of cycle.tests ?? []) {
      const node = this.nodes.get(result.name);
      if (!node) continue;
      node.test = { status: result.status, failures: result.failures };
      this.touch(node);
    }
  }

  /** Unit tests' outcomes, as soon as they are known (before the cycle ends). */
  unitTestsRan(views: readonly UnitTestView[]): void {
    for (const view of views) {
      this.unitResults.set(view.name, view);
      const node = this.nodes.get(view.name);
      if (!node) continue;
      node.unit = view;
      node.test = { status: view.outcome === 'pass' ? 'pass' : view.outcome === 'fail' ? 'fail' : 'error', failures: view.missingCount + view.unexpectedCount };
      // Saved with its file, it was marked redeploying; a unit test is never deployed, and has run.
      if (node.status === 'redeploying') this.setStatus(node, 'not_deployed', `unit test: ${view.outcome}`);
      else this.touch(node);
    }
  }

  /** Test outcomes seen between saves (the test monitor). */
  testFailuresChanged(name: string, failures: number, severity: 'warn' | 'error' | undefined): void {
    const node = this.nodes.get(name);
    if (!node) return;
    node.test = { status: failures === 0 ? 'pass' : severity === 'warn' ? 'warn' : 'fail', failures };
    this.touch(node);
  }

  private compileFailed(errors: readonly ProjectError[]): void {
    const byFile = new Map<string, ProjectError>();
    for (const error of errors) if (error.location && !byFile.has(error.location.file)) byFile.set(error.location.file, error);
    for (const node of this.nodes.values()) {
      const error = byFile.get(node.path);
      if (error) {
        this.setStatus(node, 'failed', error.fix ? `${error.message} — fix: ${error.fix}` : error.message, formatLocation(error.location!));
      } else if (node.status === 'redeploying') {
        // Not deployed this time; what was deployed before still is.
        this.setStatus(node, 'deployed', 'unchanged (the project did not compile)');
      }
    }
  }

  private setStatus(node: BoardNode, status: DeployStatus, detail?: string, location?: string): void {
    node.status = status;
    if (status === 'failed') {
      node.error = detail ?? 'failed';
      if (location) node.location = location;
    } else {
      delete node.error;
      delete node.location;
    }
    node.history.push({ time: this.now(), status, ...(detail ? { detail } : {}) });
    if (node.history.length > HISTORY_LIMIT) node.history.splice(0, node.history.length - HISTORY_LIMIT);
    this.touch(node);
  }

  private touch(node: BoardNode): void {
    node.version = ++this.version;
    this.dirty.add(node.name);
    this.scheduleEmit();
  }

  private markGraph(): void {
    this.version++;
    this.graphDirty = true;
    this.scheduleEmit();
  }

  private scheduleEmit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    queueMicrotask(() => {
      this.emitScheduled = false;
      const change: BoardChange = this.graphDirty
        ? { kind: 'graph' }
        : { kind: 'nodes', nodes: [...this.dirty].map((name) => this.nodes.get(name)).filter((node): node is BoardNode => node !== undefined) };
      this.graphDirty = false;
      this.dirty.clear();
      for (const listener of this.listeners) listener(change);
    });
  }
}
