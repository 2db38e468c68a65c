/**
 * What a blue/green deploy has done so far, recorded in the target beside the deployed state, so
 * that a deploy stopped at any step (Ctrl-C, a crash, kill -9, a lost connection) resumes or is
 * aborted from what the target shows: `staging` (written before the first staging statement, so
 * staging objects left by a stop are known to be ours), `staged` (the new version is built beside
 * the live one), `kept-old` (promoted with --keep-old: the old version waits under the staging
 * names), `done`.
 *
 * Append-only like the state log (Materialize restricts UPDATE and DELETE): the newest row wins.
 */
import type { DeployedModel } from '../deploy-state.ts';
import { createStateTable, STATE_SCHEMA } from '../deploy-state.ts';
import type { SqlSession } from '../sql-session.ts';

const TABLE = `"${STATE_SCHEMA}"."blue_green_deploys"`;

export interface StagedDeploy {
  readonly schemas: readonly string[];
  readonly clusters: readonly string[];
  /** Id of each staging schema at staging time: after the swap the live schema has this id. */
  readonly stagingSchemaIds: Readonly<Record<string, string>>;
  /** Ids of the live objects when staging began: a promote refuses if production changed since. */
  readonly liveFingerprint: string;
  /** What the state records once promoted: every staged model, and the removed ones. */
  readonly records: readonly DeployedModel[];
  readonly removed: readonly { readonly name: string; readonly kind: DeployedModel['kind']; readonly schema: string }[];
  readonly stagedAt: string;
}

export type MarkerPhase = 'staging' | 'staged' | 'kept-old' | 'done';

export interface Marker {
  readonly phase: MarkerPhase;
  readonly deploy: StagedDeploy;
}

export class BlueGreenMarker {
  private ensured = false;
  private sequence = 0;

  constructor(
    private readonly session: SqlSession,
    private readonly project: string,
  ) {}

  async load(): Promise<Marker | undefined> {
    const exists = await this.session.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM mz_catalog.mz_tables t JOIN mz_catalog.mz_schemas s ON s.id = t.schema_id WHERE s.name = $1 AND t.name = 'blue_green_deploys') AS found`,
      [STATE_SCHEMA],
    );
    if (!exists.rows[0]?.found) return undefined;
    const rows = await this.session.query<{ phase: MarkerPhase; payload: string }>(
      `SELECT phase, payload FROM ${TABLE} WHERE project = $1 ORDER BY ${TABLE}.sequence DESC LIMIT 1`,
      [this.project],
    );
    const row = rows.rows[0];
    if (!row || row.phase === 'done') return undefined;
    return { phase: row.phase, deploy: JSON.parse(row.payload) as StagedDeploy };
  }

  async record(phase: MarkerPhase, deploy: StagedDeploy): Promise<void> {
    if (!this.ensured) {
      await createStateTable(
        this.session,
        `CREATE TABLE IF NOT EXISTS ${TABLE} (project text NOT NULL, sequence bigint NOT NULL, phase text NOT NULL, payload text NOT NULL, recorded_at timestamptz NOT NULL)`,
      );
      this.ensured = true;
    }
    // A sequence from the clock (deploys of one project take turns under the lease), kept
    // increasing within this process.
    this.sequence = Math.max(Date.now(), this.sequence + 1);
    await this.session.query(`INSERT INTO ${TABLE} (project, sequence, phase, payload, recorded_at) VALUES ($1, $2, $3, $4, now())`, [
      this.project,
      String(this.sequence),
      phase,
      JSON.stringify(deploy),
    ]);
  }
}
