/**
 * Starting the console beside a running local server: its assets, the project board, the row
 * counter and the HTTP server, wired to the server's changes. `dev` feeds the board from watch
 * mode (watchHooks); `local` compiles the project on disk and compares it with the deployed state.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LocalServer } from '../local/local-server.ts';
import { LOCAL_DATABASE, LOCAL_USER } from '../local/engine/database-identity.ts';
import { ProjectCompiler, type CompiledProject, type CompileOptions } from '../runner/compile.ts';
import { PROJECT_FILE } from '../runner/project-config.ts';
import { openSession } from '../runner/deploy/sql-session.ts';
import { StateStore, type DeployedState } from '../runner/deploy/deploy-state.ts';
import type { WatchObserver } from '../cli/watch-output.ts';
import { asProjectErrors } from '../runner/errors.ts';
import { loadConsoleAssets } from './console-bundle.ts';
import { ActivationsBoard } from './activations-board.ts';
import { ConsoleServer } from './console-server.ts';
import { ProjectBoard } from './project-board.ts';
import { RowCounter } from './row-counts.ts';
import { runUnitTestsOnce, unitTestViews } from './unit-test-board.ts';
import { urlHost } from '../local/reachable-host.ts';

export interface ConsoleOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** `local`: the project to show, compiled from disk (none when it has no project.yml). */
  readonly projectRoot?: string;
  readonly compileOptions?: CompileOptions;
  /** `dev`: the board is fed through watchHooks instead of compiled here. */
  readonly watched?: { readonly deployedState: () => Promise<DeployedState> };
  readonly log?: (line: string) => void;
}

export interface RunningConsole {
  readonly url: string;
  readonly port: number;
  readonly board: ProjectBoard;
  /** The Activations view's source (dev tells it about the Segment stand-in). */
  readonly activations: ActivationsBoard;
  /** For watch mode (dev): feeds the board. */
  readonly watchHooks: WatchObserver;
  /** Where the front end came from (dist/console, or bundled at start). */
  readonly assetsOrigin: string;
  stop(): Promise<void>;
}

const COUNTED_KINDS = new Set(['source', 'materialized_view']);

export async function startConsole(server: LocalServer, options: ConsoleOptions): Promise<RunningConsole> {
  const assets = await loadConsoleAssets();
  const board = new ProjectBoard();
  const connection = { host: server.host, port: server.pgPort, user: LOCAL_USER, database: LOCAL_DATABASE };
  let consoleServer: ConsoleServer | null = null;
  const counter = new RowCounter({
    connection,
    objects: () =>
      board
        .snapshot()
        .nodes.filter((node) => COUNTED_KINDS.has(node.kind) || (node.kind === 'test' && board.compiled?.nodes.get(node.name)?.test?.storeFailures))
        .filter((node) => node.status !== 'not_deployed')
        .map((node) => ({ name: node.name, schema: node.schema })),
    onCounts: (counts) => consoleServer?.countsChanged(counts),
  });

  const local = options.watched ? null : new LocalProjectView(board, options, connection);
  await local?.load();
  // `local`: the project's unit tests, run once in the background (under dev, the first deploy runs them).
  const unitRun = local && board.compiled ? runUnitTestsOnce(board.compiled, connection, (views) => board.unitTestsRan(views), (error) => options.log?.(`console: unit tests did not run: ${error.message}`)) : Promise.resolve();

  const stopListening = server.onChange((what) => {
    counter.notify();
    if (what === 'catalog') local?.scheduleReload();
  });
  const activations = new ActivationsBoard(connection, () => board.compiled?.root ?? options.projectRoot);
  consoleServer = new ConsoleServer({
    host: server.host,
    port: options.port,
    httpPort: server.httpPort,
    assets,
    board,
    requestLog: server.requestLog,
    counter,
    activations,
    info: {
      mode: options.watched ? 'dev' : 'local',
      pgUrl: server.pgUrl,
      webhookBaseUrl: server.webhookBaseUrl,
      httpPort: server.httpPort,
      pgPort: server.pgPort,
    },
  });
  const port = await consoleServer.start();
  counter.notify();
  const running = consoleServer;
  const watched = options.watched;
  let cycleRunning: Promise<void> = Promise.resolve();
  return {
    url: `http://${urlHost(server.host)}:${port}/`,
    port,
    board,
    activations,
    assetsOrigin: assets.origin,
    watchHooks: {
      onCycleStart: (changed) => board.cycleStarted(changed),
      onResult: (result) => board.actionFinished(result),
      onCycle: (cycle) => {
        // The deployed state is read after the cycle (a few ms), in order with the next cycle.
        cycleRunning = cycleRunning.then(async () => {
          const state = cycle.report && watched ? await watched.deployedState().catch(() => null) : null;
          board.cycleFinished(cycle, state);
          counter.notify();
        });
      },
      onTestFailures: (name, failures, severity) => board.testFailuresChanged(name, failures, severity),
      onUnitTests: (results) => board.unitTestsRan(unitTestViews(results)),
    },
    stop: async () => {
      stopListening();
      local?.close();
      await unitRun;
      await cycleRunning;
      await running.stop();
      await counter.close();
    },
  };
}

/** `npm run local`: the project on disk against what the server's state table says is deployed. */
class LocalProjectView {
  private project: CompiledProject | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly board: ProjectBoard,
    private readonly options: ConsoleOptions,
    private readonly connection: { host: string; port: number; user: string; database: string },
  ) {}

  async load(): Promise<void> {
    const root = this.options.projectRoot;
    if (!root || !existsSync(path.join(root, PROJECT_FILE))) {
      this.board.setNote(`no ${PROJECT_FILE} in ${root ?? 'this directory'}: the lineage shows a project's models (npm run local -- --project-dir <dir>, or npm run dev)`);
      return;
    }
    try {
      this.project = new ProjectCompiler(root, this.options.compileOptions ?? {}).compile();
    } catch (error) {
      const errors = asProjectErrors(error);
      this.board.setNote(`the project does not compile: ${errors.map((failure) => failure.format()).join('; ')}`);
      return;
    }
    await this.reload();
  }

  scheduleReload(): void {
    if (this.closed || !this.project || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reload();
    }, 300);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async reload(): Promise<void> {
    const project = this.project;
    if (!project || this.closed) return;
    let state: DeployedState | null = null;
    try {
      const session = await openSession(this.connection, project.target.cluster);
      try {
        state = await new StateStore(session, project.name).load();
      } finally {
        await session.close();
      }
    } catch (error) {
      this.options.log?.(`console: could not read the deployed state: ${(error as Error).message}`);
    }
    this.board.setProject(project, state);
  }
}
