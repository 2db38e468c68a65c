/**
 * The databases a test worker's in-memory servers run on, kept between servers: a server stopped
 * gives its database back, which is reset (database-reset.ts) and lent to the next server the
 * worker starts, in the same file or a later one (files share the worker's modules, isolate:
 * false). Opening one costs ~0.9 s of CPU and was ~75 times a run; a reset costs a small part of that.
 *
 * A database is lent again only when its reset has made it match, by fingerprint, the state it
 * opened in. One whose reset left a difference (said on stderr, with what differs), failed, or
 * whose thread ended is closed, and the next server gets a newly opened one.
 *
 * While lent, a database is reached through a loan that refuses calls once given back: work a
 * stopped server left running (a timer, a late refresh) fails as it would on a closed database
 * instead of reaching the next server's.
 */
import type { LocalDatabase } from '../../scripts/local/engine/engine.ts';
import { WorkerDatabase } from '../../scripts/local/engine/worker-database.ts';
import { compiledPGliteModule } from '../../scripts/local/engine/compiled-pglite.ts';
import type { LentDatabase } from '../../scripts/local/local-server.ts';
import { resetToFresh, snapshotFresh, type FreshState } from './database-reset.ts';

/** Shared buffers of every test database: they hold little data, and PGlite writes over all of them when it opens. */
export const TEST_SHARED_BUFFERS = '16MB';

/** Databases kept idle at most: more than the servers a file holds at once is memory for nothing. */
const MAX_IDLE = 2;

interface PooledDatabase {
  readonly db: WorkerDatabase;
  readonly fresh: FreshState;
  /** The borrower's, while lent. */
  lostListener: ((reason: Error) => void) | null;
  /** Its thread ended, or a borrower closed it: never lent again. */
  unusable: boolean;
}

const idle: PooledDatabase[] = [];

/** How the pool served this worker (test/local/database-pool.test.ts reads it). */
export const poolCounts = { opened: 0, lent: 0, reset: 0, closed: 0 };

/** A database for one test server: an idle one reset already, else one opened now. */
export async function borrowDatabase(): Promise<LentDatabase> {
  let pooled = idle.pop();
  // One whose thread ended while it waited is closed, not lent.
  while (pooled?.unusable) {
    poolCounts.closed += 1;
    await pooled.db.close().catch(() => {});
    pooled = idle.pop();
  }
  pooled ??= await openPooled();
  poolCounts.lent += 1;
  return lend(pooled);
}

async function openPooled(): Promise<PooledDatabase> {
  const wasmModule = await compiledPGliteModule();
  const holder: { pooled?: PooledDatabase } = {};
  const db = await WorkerDatabase.open({
    sharedBuffers: TEST_SHARED_BUFFERS,
    ...(wasmModule ? { wasmModule } : {}),
    onLost: (reason) => {
      if (!holder.pooled) return;
      holder.pooled.unusable = true;
      holder.pooled.lostListener?.(reason);
    },
  });
  poolCounts.opened += 1;
  try {
    holder.pooled = { db, fresh: await snapshotFresh(db), lostListener: null, unusable: false };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return holder.pooled;
}

function lend(pooled: PooledDatabase): LentDatabase {
  let givenBack = false;
  const refused = () => Promise.reject(new Error('the local server has stopped: its database was given back to the test pool'));
  const db: LocalDatabase = {
    query: (sql, params, options) => (givenBack ? refused() : pooled.db.query(sql, params, options)),
    exec: (sql) => (givenBack ? refused() : pooled.db.exec(sql)),
    execProtocolRawStream: (message, options) => (givenBack ? refused() : pooled.db.execProtocolRawStream(message, options)),
    isInTransaction: () => !givenBack && pooled.db.isInTransaction(),
    // Closed by its borrower (nothing in the server does; a test may): it is not lent again.
    close: async () => {
      if (givenBack) return refused();
      pooled.unusable = true;
      await pooled.db.close();
    },
  };
  return {
    db,
    onLost: (listener) => {
      pooled.lostListener = listener;
    },
    giveBack: async () => {
      if (givenBack) return;
      givenBack = true;
      pooled.lostListener = null;
      await takeBack(pooled);
    },
  };
}

/** Resets a database given back and keeps it idle, or closes it when the reset cannot be trusted. */
async function takeBack(pooled: PooledDatabase): Promise<void> {
  if (!pooled.unusable && idle.length < MAX_IDLE) {
    try {
      const differing = await resetToFresh(pooled.db, pooled.fresh);
      if (differing.length === 0) {
        poolCounts.reset += 1;
        // Checked again: another server's database may have come back during the reset.
        if (idle.length < MAX_IDLE && !pooled.unusable) {
          idle.push(pooled);
          return;
        }
      } else {
        process.stderr.write(`test database pool: a reset left ${differing.join(', ')} unlike a fresh database; closing it (the next server opens a new one)\n`);
      }
    } catch (error) {
      process.stderr.write(`test database pool: a reset failed (${(error as Error).message}); closing the database (the next server opens a new one)\n`);
    }
  }
  poolCounts.closed += 1;
  await pooled.db.close().catch(() => {});
}
