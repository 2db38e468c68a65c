/**
 * Watch mode: file changes → incremental recompile → plan against the deployed state kept in
 * memory → redeploy the changed models and their descendants.
 *
 * One cycle runs at a time. Saves that arrive during a cycle are collected and start the next
 * cycle as soon as it ends: never lost, never run twice at once. A broken edit reports its error
 * and leaves the deployed objects as they were; the compiler keeps the failed file pending, so the
 * fix (or any later save) compiles and deploys it.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { ProjectCompiler, type CompiledProject, type CompileOptions } from '../compile.ts';
import { asProjectErrors, ProjectError, ProjectErrors } from '../errors.ts';
import { MACROS_DIR, MODELS_DIR, TESTS_DIR } from '../project-files.ts';
import { PROJECT_FILE } from '../project-config.ts';
import { selectNodes } from '../select.ts';
import type { ActionResult } from '../deploy/deploy-execute.ts';
import type { Deployer, DeployReport } from '../deploy/deployer.ts';
import { runTests, testNodes, type TestResult } from '../tests/test-runner.ts';

export interface WatchCycle {
  /** Project-relative paths that triggered the cycle (empty for the first deploy). */
  readonly changed: readonly string[];
  readonly compileMs: number;
  /** Set when the cycle deployed (possibly with failed models). */
  readonly report?: DeployReport;
  /** Compile errors or a deploy that could not run (refusals, lost connection). */
  readonly errors?: readonly ProjectError[];
  readonly error?: Error;
  /** Data tests run after the deploy (those reading what it changed; all of them on the first). */
  readonly tests?: readonly TestResult[];
  /** Time spent running them (included in totalMs). */
  readonly testsMs?: number;
  /** The project this cycle deployed. */
  readonly project?: CompiledProject;
  /** The selection it deployed (undefined: everything). */
  readonly selected?: ReadonlySet<string>;
  readonly totalMs: number;
}

export interface WatcherOptions extends CompileOptions {
  /** A compiler that may have compiled the project already (the command did, to open the target). */
  readonly compiler?: ProjectCompiler;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** Milliseconds to wait for more events after one arrives (editors write in bursts). */
  readonly debounceMs?: number;
  readonly onCycleStart?: (changed: readonly string[]) => void;
  readonly onResult?: (result: ActionResult) => void;
  readonly onCycle?: (cycle: WatchCycle) => void;
  /** Run the data tests touching what each deploy changed, and report them with the cycle. */
  readonly runTests?: boolean;
}

export class ProjectWatcher {
  private readonly compiler: ProjectCompiler;
  private watcher: FSWatcher | undefined;
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly rechecks = new Set<NodeJS.Timeout>();
  /** Checksums of the tests as last run, so an edited test runs again even when nothing else changed. */
  private readonly testChecksums = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly deployer: Deployer,
    private readonly options: WatcherOptions = {},
  ) {
    this.compiler = options.compiler ?? new ProjectCompiler(root, options);
  }

  /** Compiles and deploys everything once, then watches. Resolves when the watcher is ready. */
  async start(): Promise<WatchCycle> {
    const first = await this.cycle([]);
    // One watched root, filtered to models/, macros/ and project.yml: chokidar 4 given several
    // paths reports 'ready' before it watches all of them, and an edit made then is missed.
    this.watcher = watch(this.root, {
      ignoreInitial: true,
      // Editors that save by rename emit unlink+add; chokidar folds those into one change.
      atomic: true,
      ignored: (file: string) => {
        const relative = path.relative(this.root, file);
        if (relative === '') return false;
        const top = relative.split(path.sep)[0];
        return !(top === MODELS_DIR || top === MACROS_DIR || top === TESTS_DIR || relative === PROJECT_FILE);
      },
    });
    this.watcher.on('all', (event, file) => {
      if (event === 'addDir' || event === 'unlinkDir') return;
      const relative = path.relative(this.root, file).split(path.sep).join('/');
      this.enqueue(relative);
      this.recheckLater(file, relative);
    });
    this.watcher.on('error', (error) => this.options.onCycle?.({ changed: [], compileMs: 0, error: error instanceof Error ? error : new Error(String(error)), totalMs: 0 }));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
    return first;
  }

  /** Queues a changed path (what the file watcher calls; tests and tools may call it too). */
  enqueue(file: string): void {
    if (this.closed) return;
    if (file !== PROJECT_FILE && !file.endsWith('.sql')) return;
    this.pending.add(file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.drain(), this.options.debounceMs ?? 10);
  }

  /**
   * chokidar passes on at most one change event per file in a ~50 ms window, so a second save
   * right after a first would go unnoticed. Look at the file again once that window has passed and
   * queue it if it changed since the event.
   */
  private recheckLater(file: string, relative: string): void {
    const seen = fileVersion(file);
    const timer = setTimeout(() => {
      this.rechecks.delete(timer);
      if (this.closed) return;
      if (fileVersion(file) !== seen) {
        this.enqueue(relative);
        this.recheckLater(file, relative);
      }
    }, RECHECK_AFTER_MS);
    this.rechecks.add(timer);
  }

  /** Resolves once every queued change has been compiled and deployed. */
  async idle(): Promise<void> {
    while (this.running || this.pending.size || this.rechecks.size) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, (this.options.debounceMs ?? 10) + 1));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const timer of this.rechecks) clearTimeout(timer);
    await this.watcher?.close();
    await this.running;
  }

  private drain(): void {
    if (this.running || this.pending.size === 0 || this.closed) return;
    const changed = [...this.pending];
    this.pending.clear();
    this.running = this.cycle(changed)
      .then(() => undefined)
      .finally(() => {
        this.running = undefined;
        // Saves that arrived during the cycle start the next one.
        if (this.pending.size) this.drain();
      });
  }

  private async cycle(changed: readonly string[]): Promise<WatchCycle> {
    const started = performance.now();
    this.options.onCycleStart?.(changed);
    let project: CompiledProject;
    try {
      // recompile compiles everything when there is no last result (first cycle, or after a failed full compile).
      project = this.compiler.recompile(changed);
    } catch (error) {
      return this.finish({ changed, compileMs: performance.now() - started, errors: compileErrors(error), totalMs: performance.now() - started });
    }
    const compileMs = performance.now() - started;
    try {
      const selected = this.options.select || this.options.exclude ? selectNodes(project, this.options.select, this.options.exclude) : undefined;
      const report = await this.deployer.deploy({ project, ...(selected ? { selected } : {}), ...(this.options.onResult ? { onResult: this.options.onResult } : {}) });
      const deployed = { changed, compileMs, report, project, ...(selected ? { selected } : {}) };
      if (!this.options.runTests || report.rejected) return this.finish({ ...deployed, totalMs: performance.now() - started });
      const testsStarted = performance.now();
      const tests = await this.runTouchedTests(project, selected, report, changed.length === 0);
      return this.finish({ ...deployed, tests, testsMs: performance.now() - testsStarted, totalMs: performance.now() - started });
    } catch (error) {
      if (error instanceof ProjectError || error instanceof ProjectErrors) {
        return this.finish({ changed, compileMs, errors: compileErrors(error), totalMs: performance.now() - started });
      }
      return this.finish({ changed, compileMs, error: error instanceof Error ? error : new Error(String(error)), totalMs: performance.now() - started });
    }
  }

  /** Tests reading a model this deploy created or replaced, and tests that are new or edited. */
  private async runTouchedTests(project: CompiledProject, selected: ReadonlySet<string> | undefined, report: DeployReport, everything: boolean): Promise<TestResult[]> {
    const done = new Set(report.results.filter((result) => result.status === 'done' && result.action !== 'drop').map((result) => result.model));
    const all = testNodes(project, selected);
    const touched = all.filter((test) => everything || done.has(test.name) || test.dependsOn.some((dependency) => done.has(dependency)) || this.testChecksums.get(test.name) !== test.checksum);
    for (const test of all) this.testChecksums.set(test.name, test.checksum);
    if (touched.length === 0) return [];
    return runTests(await this.deployer.session(), project, touched, { state: await this.deployer.deployedState(), sampleSize: 3 });
  }

  private finish(cycle: WatchCycle): WatchCycle {
    this.options.onCycle?.(cycle);
    return cycle;
  }
}

const RECHECK_AFTER_MS = 80;

/** Modification time and size, or 'absent'. */
function fileVersion(file: string): string {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.mtimeNs}:${stat.size}`;
  } catch {
    return 'absent';
  }
}

function compileErrors(error: unknown): ProjectError[] {
  try {
    return asProjectErrors(error);
  } catch {
    return [new ProjectError(error instanceof Error ? error.message : String(error))];
  }
}
