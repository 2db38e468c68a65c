/**
 * Deployer: one open connection to a target, the deployed state it holds, and `deploy(project)`:
 * plan against that state, then apply. `models:deploy` uses it once; watch mode keeps it open and
 * redeploys on every edit against the state it keeps in memory (no state read per edit).
 */
import type { CompiledProject } from '../compile.ts';
import { ProjectError, throwIfAny } from '../errors.ts';
import { PROJECT_FILE } from '../project-config.ts';
import { existingObjects } from './deploy-catalog.ts';
import { DeployLease } from './deploy-lease.ts';
import { executePlan, foreignDependentRefusals, type ActionResult, type ExecuteResult } from './deploy-execute.ts';
import { runBlueGreen, type BlueGreenOptions, type BlueGreenReport } from './blue-green/blue-green-run.ts';
import { deployPlan, missingFromCatalog, type DeployPlan } from './deploy-plan.ts';
import { fingerprint, matchesFingerprint, secretValue } from './deploy-secrets.ts';
import { StateStore, type DeployedState } from './deploy-state.ts';
import { openSession, SessionPool, type SqlSession } from './sql-session.ts';
import { connectTarget, type TargetConnection } from './target-connection.ts';

export interface DeployRequest {
  readonly project: CompiledProject;
  /** Node names to deploy; everything when undefined. */
  readonly selected?: ReadonlySet<string>;
  readonly fullRefresh?: ReadonlySet<string>;
  readonly dryRun?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly onResult?: (result: ActionResult) => void;
}

export interface DeployReport {
  readonly plan: DeployPlan;
  readonly results: readonly ActionResult[];
  readonly ddlStatements: number;
  readonly ms: number;
  /** Secrets whose value could not be checked (variable unset; the deployed value was kept). */
  readonly uncheckedSecrets: readonly string[];
  /** Queries validated in a scratch schema before any DROP. */
  readonly validated: number;
  /** Validation failed, so nothing was applied. */
  readonly rejected: boolean;
}

interface PreparedDeploy {
  readonly started: number;
  readonly state: DeployedState;
  readonly plan: DeployPlan;
  readonly secretValues: ReadonlyMap<string, string>;
  readonly secretFingerprints: ReadonlyMap<string, string>;
  readonly uncheckedSecrets: string[];
}

export interface DeployerOptions {
  readonly threads?: number;
  readonly log?: (line: string) => void;
  /** Use this connection instead of the target's (tests, and `dev`, which runs its own server). */
  readonly connection?: TargetConnection;
  /** How long a deploy waits for another one's lease on the target (default 60 s). */
  readonly leaseWaitMs?: number;
  readonly leaseTtlMs?: number;
}

export class Deployer {
  /** The deployed state, once read: kept current by every deploy through this deployer. */
  private state: DeployedState | undefined;
  /** Secrets whose value was checked against the recorded fingerprint in this process. */
  private readonly checkedSecrets = new Set<string>();

  private constructor(
    readonly connection: TargetConnection,
    private readonly pool: SessionPool,
    private readonly store: StateStore,
    private readonly lease: DeployLease,
    private readonly options: DeployerOptions,
  ) {}

  static async open(project: CompiledProject, options: DeployerOptions = {}): Promise<Deployer> {
    const connection = options.connection ?? (await connectTarget(project.target, options.log ? { log: options.log } : {}));
    try {
      const threads = Math.max(1, options.threads ?? 4);
      const pool = new SessionPool(() => openSession(connection.config, project.target.cluster), threads);
      const primary = await pool.primary().catch((error: unknown) => {
        throw connectionError(project.target.name, connection.description, error);
      });
      return new Deployer(connection, pool, new StateStore(primary, project.name), new DeployLease(primary, project.name), options);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  get description(): string {
    return this.connection.description;
  }

  /** The deployer's first session, for reads beside deploys (models:test, watch's tests). */
  async session(): Promise<SqlSession> {
    return this.pool.primary();
  }

  /** The state as this deployer knows it (read on first use). */
  async deployedState(): Promise<DeployedState> {
    // A deploy from elsewhere (models:deploy beside a running watch) makes the kept state stale.
    if (this.state && (await this.store.changedElsewhere())) this.state = undefined;
    this.state ??= await this.store.load();
    return this.state;
  }

  async deploy(request: DeployRequest): Promise<DeployReport> {
    if (request.dryRun) return this.deployLeased(request);
    return this.withLease(request.project, () => this.deployLeased(request));
  }

  /**
   * A blue/green deploy (see blue-green/blue-green-run.ts): the changed schemas rebuilt beside the
   * live ones, waited on, and swapped in atomically. Also resumes or aborts a staged one.
   */
  async deployBlueGreen(request: DeployRequest, options: BlueGreenOptions): Promise<BlueGreenReport> {
    const run = async () => {
      // Aborting needs no plan: it must work whatever state the project is in (refusals included).
      const prepared = options.mode === 'abort' ? await this.nothingToApply() : await this.prepare(request);
      const session = await this.pool.primary();
      try {
        return await runBlueGreen(
          {
            project: request.project,
            plan: prepared.plan,
            state: prepared.state,
            session,
            store: this.store,
            applyInPlace: async (plan) => {
              // What is swapped is checked by blue/green itself; what is dropped in place, here.
              throwIfAny(await foreignDependentRefusals(session, plan, prepared.state, request.project));
              return (await this.apply(request, prepared, plan)).results;
            },
            ...(this.options.log ? { log: this.options.log } : {}),
          },
          options,
        );
      } finally {
        // Blue/green records state on its own: read it afresh next time.
        this.invalidate();
      }
    };
    if (request.dryRun) return run();
    return this.withLease(request.project, run);
  }

  /** One deploy at a time per target; the state is read after the lease is ours. */
  private async withLease<T>(project: CompiledProject, work: () => Promise<T>): Promise<T> {
    const release = await this.lease.acquire({
      target: project.target.name,
      ...(this.options.leaseWaitMs !== undefined ? { waitMs: this.options.leaseWaitMs } : {}),
      ...(this.options.leaseTtlMs !== undefined ? { ttlMs: this.options.leaseTtlMs } : {}),
      onWait: (holder) => this.options.log?.(`waiting for another deploy to finish (${holder.holder}, since ${holder.acquiredAt})…`),
    });
    try {
      return await work();
    } finally {
      await release().catch(() => {});
    }
  }

  private async deployLeased(request: DeployRequest): Promise<DeployReport> {
    const prepared = await this.prepare(request);
    const { plan, uncheckedSecrets, started } = prepared;
    // Before any DDL (and in a dry run too): objects that are not the project's but read what the
    // plan drops would make that DROP fail part-way through.
    throwIfAny(await foreignDependentRefusals(await this.pool.primary(), plan, prepared.state, request.project));
    if (request.dryRun) return { plan, results: [], ddlStatements: 0, ms: performance.now() - started, uncheckedSecrets, validated: 0, rejected: false };
    const executed = await this.apply(request, prepared, plan);
    return { plan, results: executed.results, ddlStatements: executed.ddlStatements, ms: performance.now() - started, uncheckedSecrets, validated: executed.validated, rejected: executed.rejected };
  }

  /** The state, the plan against it, and the values of the secrets it creates or converges. */
  private async prepare(request: DeployRequest): Promise<PreparedDeploy> {
    const started = performance.now();
    const { project } = request;
    const env = request.env ?? process.env;
    const state = await this.deployedState();
    const considered = (name: string) => !request.selected || request.selected.has(name);

    // Secrets: has a deployed value changed? Checked once per process (watch edits skip it).
    const changedSecretValues = new Set<string>();
    const uncheckedSecrets: string[] = [];
    for (const node of project.nodes.values()) {
      if (node.kind !== 'secret' || !considered(node.name) || this.checkedSecrets.has(node.name)) continue;
      const deployed = state.get(node.name);
      if (!deployed || deployed.kind !== 'secret') continue;
      let value: string;
      try {
        value = secretValue(project, node.name, env);
      } catch {
        uncheckedSecrets.push(node.name);
        continue;
      }
      if (!(await matchesFingerprint(value, deployed.secretFingerprint))) changedSecretValues.add(node.name);
      else this.checkedSecrets.add(node.name);
    }

    // The catalog, read on every deploy (one query): the state may have missed objects (a deploy
    // stopped between DDL and record, hand-made ones), and objects may be gone that the state
    // still records (dropped by hand, or by a CASCADE) — both converge to the project.
    const existing = await existingObjects(await this.pool.primary());
    const plan = deployPlan({
      project,
      state,
      ...(request.selected ? { selected: request.selected } : {}),
      ...(request.fullRefresh ? { fullRefresh: request.fullRefresh } : {}),
      changedSecretValues,
      existing,
      missing: missingFromCatalog(state, existing),
    });
    throwIfAny(plan.refusals);

    const secretValues = new Map<string, string>();
    const secretFingerprints = new Map<string, string>();
    const valueErrors: ProjectError[] = [];
    for (const level of plan.createLevels) {
      for (const action of level) {
        if (action.kind !== 'secret') continue;
        try {
          const value = secretValue(project, action.model, env);
          secretValues.set(action.model, value);
          if (!request.dryRun) secretFingerprints.set(action.model, await fingerprint(value));
        } catch (error) {
          if (error instanceof ProjectError) valueErrors.push(error);
          else throw error;
        }
      }
    }
    throwIfAny(valueErrors);
    return { started, state, plan, secretValues, secretFingerprints, uncheckedSecrets };
  }

  private async nothingToApply(): Promise<PreparedDeploy> {
    const plan: DeployPlan = { actions: [], dropOrder: [], createLevels: [], adopted: [], forgotten: [], notes: [], refusals: [] };
    return { started: performance.now(), state: await this.deployedState(), plan, secretValues: new Map(), secretFingerprints: new Map(), uncheckedSecrets: [] };
  }

  /** Applies `plan` (the prepared one, or part of it) and keeps the state it leaves. */
  private async apply(request: DeployRequest, prepared: PreparedDeploy, plan: DeployPlan): Promise<ExecuteResult> {
    let executed: ExecuteResult;
    try {
      executed = await executePlan({
        root: request.project.root,
        plan,
        pool: this.pool,
        store: this.store,
        state: this.state ?? prepared.state,
        secretValues: prepared.secretValues,
        secretFingerprints: prepared.secretFingerprints,
        ...(request.onResult ? { onResult: request.onResult } : {}),
      });
    } catch (error) {
      // The connection or the state table failed mid-way: read the state afresh next time.
      this.invalidate();
      throw error;
    }
    this.state = executed.state;
    for (const name of prepared.secretFingerprints.keys()) {
      if (executed.state.get(name)?.secretFingerprint === prepared.secretFingerprints.get(name)) this.checkedSecrets.add(name);
    }
    return executed;
  }

  /** Forgets the in-memory state, so the next deploy reads it again (after a failure, say). */
  invalidate(): void {
    this.state = undefined;
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.connection.close();
  }
}

/**
 * A failure to reach the target, told as what to check: the target, where it points, the reason
 * in words, and the setting that usually fixes it. Never a stack trace.
 */
export function connectionError(target: string, where: string, error: unknown): ProjectError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  let fix: string;
  if (code === 'ECONNREFUSED') fix = 'nothing accepts connections there: check host and port (for a local target, is the server running?)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') fix = 'the host name does not resolve: check the host setting (or its environment variable)';
  else if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') fix = 'no answer: check the network, a VPN or a firewall between here and the host';
  else if (/does not support SSL/i.test(message)) fix = 'the server does not speak TLS: set sslmode: disable for it (only ever on a private network)';
  else if (/certificate|self[- ]signed|UNABLE_TO_VERIFY|CERT_/i.test(`${message} ${code ?? ''}`)) fix = "the server's certificate is not trusted here: sslmode: require encrypts without verifying it, or trust its CA (NODE_EXTRA_CA_CERTS)";
  else if (code === '28P01' || code === '28000') fix = 'the server refused the credentials: check user and the password environment variable';
  else if (code === '3D000') fix = 'no such database: check the database setting';
  else fix = 'check the target in project.yml and that the server is up';
  return new ProjectError(`cannot connect to target ${target} (${where}): ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, { file: PROJECT_FILE }, fix);
}
