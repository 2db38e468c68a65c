/**
 * Watch mode: file changes → incremental recompile → plan against the deployed state kept in
 * memory → redeploy the changed models and their descendants.
 *
 * One cycle runs at a time. Saves that arrive during a cycle are collected and start the next
 * cycle as soon as it ends: never lost, never run twice at once. A broken edit reports its error
 * and leaves the deployed objects as they were; the compiler keeps the failed file pending, so the
 * fix (or any later save) compiles and deploys it.
 *
 * Symbolic links follow the compiler's rule (project-files.ts scanTemplates): followed, every real
 * folder watched once, under the path the compiler reads it as. A second way to a folder (a loop
 * such as models/a/loop -> .., or two links to one folder) is not watched, and an event reached
 * through one is read as the compiler's path, so a loop neither recurses nor makes every save a
 * "model name used by two files". A folder appearing or vanishing (a link made, removed or left
 * dangling) compiles the whole project again, so nothing is dropped that the compiler would keep.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { ProjectCompiler, type CompiledNode, type CompiledProject, type CompileOptions } from '../compile.ts';
import { asProjectErrors, ProjectError, ProjectErrors } from '../errors.ts';
import { MACROS_DIR, MODELS_DIR, scanTemplates, TESTS_DIR } from '../project-files.ts';
import { PROJECT_FILE } from '../project-config.ts';
import { selectNodes } from '../select.ts';
import type { ActionResult } from '../deploy/deploy-execute.ts';
import type { Deployer, DeployReport } from '../deploy/deployer.ts';
import { isUnitTest, runTests, testNodes, type TestResult } from '../tests/test-runner.ts';
import { openUnitTestServer, UnitTestRunner, type UnitTestServer } from '../tests/unit-test-run.ts';

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
  /** From the cycle's start to its unit tests' outcome (they run beside the deploy). */
  readonly unitTestsMs?: number;
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
  /**
   * The outcome of a cycle's unit tests, as soon as it is known: they run beside the deploy (they
   * read mocks, never the deployed objects), and are reported with the cycle after it.
   */
  readonly onUnitTests?: (results: readonly TestResult[]) => void;
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
  /** Every folder the compiler reads: real path → the project-relative path it reads it as. */
  private folders = new Map<string, string>();
  /** The project-relative paths of `folders`. */
  private readFolders = new Set<string>();
  /** Real paths of other folders seen (undefined: none), until the next scan. */
  private readonly realPaths = new Map<string, string | undefined>();
  /** Folders not watched as a second way to a read one: watched once they are the compiler's path. */
  private readonly repeatedFolders = new Set<string>();
  /** A folder appeared or vanished: the next cycle compiles everything. */
  private structureChanged = false;
  /** Unit tests run on the local server (the target's, or one in memory), opened on first use. */
  private unit: Promise<{ runner: UnitTestRunner; server: UnitTestServer }> | undefined;

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
    this.scanFolders();
    // One watched root, filtered to models/, macros/ and project.yml: chokidar 4 given several
    // paths reports 'ready' before it watches all of them, and an edit made then is missed.
    this.watcher = watch(this.root, {
      ignoreInitial: true,
      // Editors that save by rename emit unlink+add; chokidar folds those into one change.
      atomic: true,
      // As the compiler reads them; ignored() below keeps each real folder to one path.
      followSymlinks: true,
      ignored: (file: string, stats?: { isDirectory(): boolean }) => {
        const relative = path.relative(this.root, file);
        if (relative === '') return false;
        const parts = relative.split(path.sep);
        const top = parts[0];
        if (!(top === MODELS_DIR || top === MACROS_DIR || top === TESTS_DIR || relative === PROJECT_FILE)) return true;
        if (parts.length === 1) return false;
        return this.isRepeatedFolder((stats?.isDirectory() ? parts : parts.slice(0, -1)).join('/'));
      },
    });
    this.watcher.on('all', (event, file) => {
      const relative = path.relative(this.root, file).split(path.sep).join('/');
      if (event === 'addDir' || event === 'unlinkDir') {
        if (relative !== '' && relative !== PROJECT_FILE) this.folderChanged(relative);
        return;
      }
      const read = this.readPath(relative);
      this.enqueue(read);
      this.recheckLater(file, read);
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

  /** A folder (or a link to one) appeared or vanished: scan again, and compile everything next. */
  private folderChanged(relative: string): void {
    if (this.closed) return;
    this.structureChanged = true;
    this.pending.add(relative);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.drain(), this.options.debounceMs ?? 10);
  }

  /** The folders the compiler reads, by real path; folders that just became one are watched. */
  private scanFolders(): void {
    const folders = new Map<string, string>();
    for (const dir of [MODELS_DIR, MACROS_DIR, TESTS_DIR]) {
      try {
        for (const [real, relative] of scanTemplates(this.root, dir).folders) folders.set(real, relative);
      } catch {
        // A file the compiler refuses (x.SQL): the compile reports it.
      }
    }
    this.folders = folders;
    this.readFolders = new Set(folders.values());
    this.realPaths.clear();
    for (const folder of this.repeatedFolders) {
      if (!this.readFolders.has(folder)) continue;
      this.repeatedFolders.delete(folder);
      this.watcher?.add(path.join(this.root, folder));
    }
  }

  /** Whether `folder` (project-relative) is a second way to a folder read under another path. */
  private isRepeatedFolder(folder: string): boolean {
    if (this.readFolders.has(folder)) return false;
    const readAs = this.readAs(folder);
    if (readAs === undefined || readAs === folder) return false;
    this.repeatedFolders.add(folder);
    return true;
  }

  /** The path the compiler reads `folder` as, when it reads it. */
  private readAs(folder: string): string | undefined {
    if (this.readFolders.has(folder)) return folder;
    if (!this.realPaths.has(folder)) {
      let real: string | undefined;
      try {
        real = realpathSync(path.join(this.root, folder));
      } catch {
        real = undefined;
      }
      this.realPaths.set(folder, real);
    }
    const real = this.realPaths.get(folder);
    return real === undefined ? undefined : this.folders.get(real);
  }

  /** A file's path as the compiler reads it (the same file reached another way maps to it). */
  private readPath(relative: string): string {
    const slash = relative.lastIndexOf('/');
    if (slash === -1) return relative;
    const readAs = this.readAs(relative.slice(0, slash));
    return readAs === undefined ? relative : `${readAs}/${relative.slice(slash + 1)}`;
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
    const unit = await this.unit?.catch(() => undefined);
    await unit?.runner.close();
    await unit?.server.close();
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
      // A folder appeared or vanished, or a deleted file's folder is gone (a link left dangling,
      // say): compile everything, as models:deploy would, rather than drop the files one by one.
      const whole = this.structureChanged || changed.some((file) => file !== PROJECT_FILE && !existsSync(path.join(this.root, file)) && !existsSync(path.dirname(path.join(this.root, file))));
      this.structureChanged = false;
      if (whole && changed.length) this.scanFolders();
      // recompile compiles everything when there is no last result (first cycle, or after a failed full compile).
      project = whole ? this.compiler.compile() : this.compiler.recompile(changed);
    } catch (error) {
      return this.finish({ changed, compileMs: performance.now() - started, errors: compileErrors(error), totalMs: performance.now() - started });
    }
    const compileMs = performance.now() - started;
    let unitRun: Promise<{ results: TestResult[]; ms: number } | undefined> = Promise.resolve(undefined);
    try {
      const selected = this.options.select || this.options.exclude ? selectNodes(project, this.options.select, this.options.exclude) : undefined;
      // Unit tests need nothing deployed: they start now and run beside the deploy.
      if (this.options.runTests) {
        unitRun = this.runTouchedUnitTests(project, selected, changed.length === 0, started);
        unitRun.catch(() => undefined); // awaited below; this keeps a failure from being unhandled meanwhile
      }
      const report = await this.deployer.deploy({ project, ...(selected ? { selected } : {}), ...(this.options.onResult ? { onResult: this.options.onResult } : {}) });
      const deployed = { changed, compileMs, report, project, ...(selected ? { selected } : {}) };
      if (!this.options.runTests) return this.finish({ ...deployed, totalMs: performance.now() - started });
      const testsStarted = performance.now();
      const data = report.rejected ? [] : await this.runTouchedTests(project, selected, report, changed.length === 0);
      const unit = await unitRun;
      if (report.rejected && !unit) return this.finish({ ...deployed, totalMs: performance.now() - started });
      const tests = [...data, ...(unit?.results ?? [])];
      return this.finish({ ...deployed, tests, testsMs: performance.now() - testsStarted, ...(unit ? { unitTestsMs: unit.ms } : {}), totalMs: performance.now() - started });
    } catch (error) {
      await unitRun.catch(() => undefined);
      if (error instanceof ProjectError || error instanceof ProjectErrors) {
        return this.finish({ changed, compileMs, errors: compileErrors(error), totalMs: performance.now() - started });
      }
      return this.finish({ changed, compileMs, error: error instanceof Error ? error : new Error(String(error)), totalMs: performance.now() - started });
    }
  }

  /** Data tests reading a model this deploy created or replaced, and data tests that are new or edited. */
  private async runTouchedTests(project: CompiledProject, selected: ReadonlySet<string> | undefined, report: DeployReport, everything: boolean): Promise<TestResult[]> {
    const done = new Set(report.results.filter((result) => result.status === 'done' && result.action !== 'drop').map((result) => result.model));
    const all = testNodes(project, selected).filter((test) => !isUnitTest(test));
    const touched = all.filter((test) => everything || this.testChecksums.get(test.name) !== test.checksum || done.has(test.name) || test.dependsOn.some((dependency) => done.has(dependency)));
    for (const test of all) this.testChecksums.set(test.name, test.checksum);
    if (touched.length === 0) return [];
    return runTests(await this.deployer.session(), project, touched, { state: await this.deployer.deployedState(), sampleSize: 3 });
  }

  /**
   * Unit tests whose test, view under test or mocked models (or anything those are built from)
   * compile differently — the saved view's tests, and the tests of views whose mocks it feeds.
   * Undefined when none is touched.
   */
  private async runTouchedUnitTests(project: CompiledProject, selected: ReadonlySet<string> | undefined, everything: boolean, started: number): Promise<{ results: TestResult[]; ms: number } | undefined> {
    const all = testNodes(project, selected).filter(isUnitTest);
    const touched = all.filter((test) => everything || this.testChecksums.get(test.name) !== unitTestKey(project, test));
    for (const test of all) this.testChecksums.set(test.name, unitTestKey(project, test));
    if (touched.length === 0) return undefined;
    const runner = await this.unitRunner(project);
    const results = await runTests(undefined, project, touched, { unit: runner });
    const ms = performance.now() - started;
    this.options.onUnitTests?.(results);
    return { results, ms };
  }

  private async unitRunner(project: CompiledProject): Promise<UnitTestRunner> {
    this.unit ??= openUnitTestServer(project, project.target.type === 'local' ? this.deployer.connection.config : undefined).then((server) => ({ server, runner: new UnitTestRunner(server.config) }));
    return (await this.unit).runner;
  }

  private finish(cycle: WatchCycle): WatchCycle {
    this.options.onCycle?.(cycle);
    return cycle;
  }
}

const RECHECK_AFTER_MS = 80;

/**
 * What a unit test's outcome depends on: its own text, the compiled view and mocked models, and
 * what those are built from (a mock's real columns are described from its ancestors).
 */
function unitTestKey(project: CompiledProject, test: CompiledNode): string {
  const parts = [test.checksum];
  const seen = new Set<string>();
  const stack = [...test.dependsOn];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    parts.push(`${name}=${project.nodes.get(name)?.checksum ?? ''}`);
    stack.push(...(project.dependencies.get(name) ?? []));
  }
  return parts.sort().join(':');
}

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
