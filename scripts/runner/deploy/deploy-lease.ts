/**
 * One deploy at a time per project and target: a lease held in the target itself, beside the
 * state log, so deploys from two terminals, two CI jobs or a watch beside a models:deploy take
 * turns instead of racing (two at once failed with "already exists", nothing lost only by luck).
 *
 * The lease is a row in `segment_materialize.deploy_leases`, taken by one conditional INSERT
 * (`… SELECT … WHERE NOT EXISTS (a live lease)`): a single statement, which the local server runs
 * alone and Materialize serializes with every other write, so two deployers cannot both succeed.
 * It expires unless renewed (every third of its time to live) so a deploy killed with -9 blocks
 * the next one for at most that long — and not at all from the same machine, which can see that
 * the holder's process is gone (its pid and process identity are recorded). A release deletes it.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { processIdentity } from '../../shared/process-identity.ts';
import { ProjectError } from '../errors.ts';
import { createStateTable, STATE_SCHEMA } from './deploy-state.ts';
import type { SqlSession } from './sql-session.ts';

const LEASE_TABLE = `"${STATE_SCHEMA}"."deploy_leases"`;

export interface LeaseOptions {
  /** How long a lease lives without renewal. */
  readonly ttlMs?: number;
  /** How long to wait for another deployer's lease before giving up. */
  readonly waitMs?: number;
  /** Called once when the lease is held by someone else and this deployer starts waiting. */
  readonly onWait?: (holder: LeaseHolder) => void;
  /** Target name, for messages. */
  readonly target: string;
}

export interface LeaseHolder {
  readonly holder: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;
export const DEFAULT_LEASE_WAIT_MS = 60_000;

export class DeployLease {
  private renewal: NodeJS.Timeout | undefined;
  private ensured = false;

  constructor(
    private readonly session: SqlSession,
    private readonly project: string,
  ) {}

  /** What this process calls itself in the lease table (and other deployers' messages). */
  static readonly holderName = `${os.hostname()} pid ${process.pid}`;

  /**
   * Takes the lease, waiting for another holder up to `waitMs`; returns the release function.
   * Throws a ProjectError naming the holder when the wait runs out.
   */
  async acquire(options: LeaseOptions): Promise<() => Promise<void>> {
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const waitMs = options.waitMs ?? DEFAULT_LEASE_WAIT_MS;
    await this.ensure();
    const token = randomUUID();
    const deadline = performance.now() + waitMs;
    let told = false;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      const holder = await this.tryTake(token, ttlMs);
      if (!holder) break;
      if (performance.now() + delay > deadline) {
        throw new ProjectError(
          `another deploy holds the lease on target ${options.target}: ${holder.holder}, since ${holder.acquiredAt} (waited ${Math.round(waitMs / 1000)} s)`,
          undefined,
          `wait for it to finish and deploy again; if that deploy is gone (killed), its lease expires by itself at ${holder.expiresAt}`,
        );
      }
      if (!told) {
        told = true;
        options.onWait?.(holder);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    this.renewal = setInterval(() => {
      this.session.query(`UPDATE ${LEASE_TABLE} SET expires_at = now() + $2::interval WHERE token = $1`, [token, `${ttlMs} milliseconds`]).catch(() => {});
    }, ttlMs / 3);
    this.renewal.unref();
    return async () => {
      clearInterval(this.renewal);
      this.renewal = undefined;
      await this.session.query(`DELETE FROM ${LEASE_TABLE} WHERE token = $1`, [token]);
    };
  }

  /** One attempt: null when the lease is now ours, else who holds it. */
  private async tryTake(token: string, ttlMs: number): Promise<LeaseHolder | null> {
    await this.session.query(`DELETE FROM ${LEASE_TABLE} WHERE project = $1 AND expires_at < now()`, [this.project]);
    await this.session.query(
      `INSERT INTO ${LEASE_TABLE} (project, token, holder, host, pid, process_start, acquired_at, expires_at)
       SELECT $1, $2, $3, $4, $5, $6, now(), now() + $7::interval
        WHERE NOT EXISTS (SELECT 1 FROM ${LEASE_TABLE} WHERE project = $1 AND expires_at >= now())`,
      [this.project, token, DeployLease.holderName, os.hostname(), process.pid, processIdentity(process.pid) ?? '', `${ttlMs} milliseconds`],
    );
    const rows = await this.session.query<{ token: string; holder: string; host: string; pid: number; process_start: string; acquired_at: string; expires_at: string }>(
      `SELECT token, holder, host, pid, process_start, acquired_at::text AS acquired_at, expires_at::text AS expires_at FROM ${LEASE_TABLE} WHERE project = $1`,
      [this.project],
    );
    if (rows.rows.some((row) => row.token === token)) return null;
    const other = rows.rows[0];
    if (other && other.host === os.hostname() && other.process_start !== '' && processIdentity(other.pid) !== other.process_start) {
      // Held by a process of this machine that is gone (killed): take it over at once.
      await this.session.query(`DELETE FROM ${LEASE_TABLE} WHERE token = $1`, [other.token]);
      return this.tryTake(token, ttlMs);
    }
    // The other lease expired and was deleted between our statements: the next attempt takes it.
    if (!other) return { holder: 'a deploy that just finished', acquiredAt: 'a moment ago', expiresAt: 'now' };
    return { holder: other.holder, acquiredAt: other.acquired_at, expiresAt: other.expires_at };
  }

  private async ensure(): Promise<void> {
    if (this.ensured) return;
    await createStateTable(
      this.session,
      `CREATE TABLE IF NOT EXISTS ${LEASE_TABLE} (
  project text NOT NULL,
  token text NOT NULL,
  holder text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  process_start text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
)`,
    );
    this.ensured = true;
  }
}
