/**
 * What the runner deployed, recorded in the target itself, so any machine deploying the project
 * sees the same state.
 *
 * The table is an append-only log: each applied change INSERTs one row per model (one statement,
 * atomic on its own), and the current state is each model's newest row. Materialize allows plain
 * INSERTs outside transactions everywhere, while DELETE/UPDATE are restricted (no mixing with reads
 * in a transaction), so appending is what works the same on Materialize and on the local server.
 */
import type { ManifestKind } from '../model-config.ts';
import type { SqlSession } from './sql-session.ts';

export const STATE_SCHEMA = 'segment_materialize';
export const STATE_TABLE = 'deployments';
const QUALIFIED_TABLE = `"${STATE_SCHEMA}"."${STATE_TABLE}"`;

/** One model as it was last deployed. */
export interface DeployedModel {
  readonly name: string;
  readonly kind: ManifestKind;
  readonly schema: string;
  /** Indexes: the model they index. */
  readonly parent: string | null;
  readonly dependsOn: readonly string[];
  /** Checksum of the compiled SQL alone. */
  readonly checksum: string;
  /** Checksum of the compiled SQL together with its upstream state checksums. */
  readonly stateChecksum: string;
  /** Secrets: a salted scrypt fingerprint of the value, to notice a changed value without storing it. */
  readonly secretFingerprint: string | null;
  readonly deployedAt: string;
}

export type DeployedState = Map<string, DeployedModel>;

/** A row to append: a model deployed as `model`, or dropped. */
export type StateChange = { readonly deployed: DeployedModel } | { readonly dropped: { readonly name: string; readonly kind: ManifestKind; readonly schema: string } };

/** Runs a table's `CREATE TABLE IF NOT EXISTS` in the state schema, creating the schema first (both idempotent). */
export async function createStateTable(session: SqlSession, createTable: string): Promise<void> {
  await session.query(`CREATE SCHEMA IF NOT EXISTS "${STATE_SCHEMA}"`);
  await session.query(createTable);
}

export class StateStore {
  private generation = 0n;
  private ensured = false;

  constructor(
    private readonly session: SqlSession,
    readonly project: string,
  ) {}

  /** Creates the state schema and table when missing (both statements are idempotent). */
  async ensure(): Promise<void> {
    if (this.ensured) return;
    await createStateTable(
      this.session,
      `CREATE TABLE IF NOT EXISTS ${QUALIFIED_TABLE} (
  project text NOT NULL,
  model text NOT NULL,
  kind text NOT NULL,
  schema_name text NOT NULL,
  parent text,
  depends_on text NOT NULL,
  checksum text NOT NULL,
  state_checksum text,
  secret_fingerprint text,
  dropped boolean NOT NULL,
  generation bigint NOT NULL,
  deployed_at timestamptz NOT NULL
)`,
    );
    this.ensured = true;
  }

  /**
   * The current state: every model's newest row, without the dropped ones. Returns an empty state
   * when the table does not exist yet (nothing was ever deployed there).
   */
  async load(): Promise<DeployedState> {
    const exists = await this.session.query<{ found: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM mz_catalog.mz_tables t JOIN mz_catalog.mz_schemas s ON s.id = t.schema_id
          WHERE s.name = $1 AND t.name = $2) AS found`,
      [STATE_SCHEMA, STATE_TABLE],
    );
    const state: DeployedState = new Map();
    if (!exists.rows[0]?.found) return state;
    const rows = await this.session.query<StateRow>(
      `SELECT DISTINCT ON (model) model, kind, schema_name, parent, depends_on, checksum, state_checksum,
              secret_fingerprint, dropped, generation::text AS generation_text, deployed_at::text AS deployed_at_text
         FROM ${QUALIFIED_TABLE}
        WHERE project = $1
        -- The bigint column, not its text output (an output name would win in ORDER BY).
        ORDER BY model, ${QUALIFIED_TABLE}.generation DESC`,
      [this.project],
    );
    for (const row of rows.rows) {
      const generation = BigInt(row.generation_text);
      if (generation > this.generation) this.generation = generation;
      if (row.dropped) continue;
      state.set(row.model, {
        name: row.model,
        kind: row.kind as ManifestKind,
        schema: row.schema_name,
        parent: row.parent,
        dependsOn: JSON.parse(row.depends_on) as string[],
        checksum: row.checksum,
        stateChecksum: row.state_checksum ?? '',
        secretFingerprint: row.secret_fingerprint,
        deployedAt: row.deployed_at_text,
      });
    }
    return state;
  }

  /**
   * Whether another deployer recorded something since this store last read or wrote the state
   * (one cheap query): watch mode then reads the state again instead of planning against a stale one.
   */
  async changedElsewhere(): Promise<boolean> {
    if (!this.ensured && this.generation === 0n) return false; // nothing read yet: load() comes next anyway
    const rows = await this.session.query<{ latest: string | null }>(
      `SELECT max(generation)::text AS latest FROM ${QUALIFIED_TABLE} WHERE project = $1`,
      [this.project],
    );
    const latest = rows.rows[0]?.latest;
    return latest !== null && latest !== undefined && BigInt(latest) !== this.generation;
  }

  /**
   * Appends the changes in one INSERT (atomic). Each call is a generation of its own, newer than
   * anything recorded, so a model dropped and then created in one deploy reads as created.
   */
  async record(changes: readonly StateChange[]): Promise<void> {
    if (changes.length === 0) return;
    this.generation += 1n;
    const generation = this.generation;
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const change of changes) {
      const row =
        'deployed' in change
          ? [
              change.deployed.name,
              change.deployed.kind,
              change.deployed.schema,
              change.deployed.parent,
              JSON.stringify(change.deployed.dependsOn),
              change.deployed.checksum,
              change.deployed.stateChecksum,
              change.deployed.secretFingerprint,
              false,
            ]
          : [change.dropped.name, change.dropped.kind, change.dropped.schema, null, '[]', '', null, null, true];
      const base = values.length;
      values.push(...row);
      tuples.push(`($1, ${row.map((_, index) => `$${base + index + 3}`).join(', ')}, $2, now())`);
    }
    await this.session.query(
      `INSERT INTO ${QUALIFIED_TABLE}
         (project, model, kind, schema_name, parent, depends_on, checksum, state_checksum, secret_fingerprint, dropped, generation, deployed_at)
       VALUES ${tuples.join(',\n')}`,
      [this.project, generation.toString(), ...values],
    );
  }
}

interface StateRow {
  model: string;
  kind: string;
  schema_name: string;
  parent: string | null;
  depends_on: string;
  checksum: string;
  state_checksum: string | null;
  secret_fingerprint: string | null;
  dropped: boolean;
  generation_text: string;
  deployed_at_text: string;
}

/** The state record of a node deployed now. */
export function deployedModelOf(
  node: { name: string; kind: ManifestKind; schema: string; parent?: string | undefined; dependsOn: readonly string[]; checksum: string },
  stateChecksum: string,
  secretFingerprint: string | null = null,
): DeployedModel {
  return {
    name: node.name,
    kind: node.kind,
    schema: node.schema,
    parent: node.parent ?? null,
    dependsOn: node.dependsOn,
    checksum: node.checksum,
    stateChecksum,
    secretFingerprint,
    deployedAt: new Date().toISOString(),
  };
}
