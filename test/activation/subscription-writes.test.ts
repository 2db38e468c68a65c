/**
 * The subscription hub recomputes a subscribed query only after writes to tables its plan scans
 * (scripts/local/subscribe/subscription-hub.ts, written-relations.ts): an activation worker's
 * checkpoint INSERTs must not make it recompute the activation's own subscription.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionQueue } from '../../scripts/local/engine/session-queue.ts';
import { SubscriptionHub, type Batch } from '../../scripts/local/subscribe/subscription-hub.ts';
import { writtenRelations } from '../../scripts/local/subscribe/written-relations.ts';

describe('writtenRelations', () => {
  it('names the tables a plain INSERT, UPDATE, DELETE or TRUNCATE writes, and nothing else', () => {
    expect(writtenRelations('INSERT INTO "segment_materialize_activations"."changes" (a) VALUES ($1)\n/*mz_local:client_write*/')).toEqual(['changes']);
    expect(writtenRelations('UPDATE ONLY s.T SET a = 1')).toEqual(['t']);
    expect(writtenRelations('delete from x.y where true;')).toEqual(['y']);
    expect(writtenRelations('TRUNCATE TABLE a, b.c')).toEqual(['a', 'c']);
    expect(writtenRelations('insert into "A b" select 1')).toEqual(['A b']);
    for (const unknown of ['TRUNCATE a CASCADE', 'WITH x AS (DELETE FROM a RETURNING *) SELECT 1', 'INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)', 'CREATE TABLE x (a int)', 'MERGE INTO a USING b ON true WHEN MATCHED THEN DELETE', 'COPY a FROM STDIN']) {
      expect(writtenRelations(unknown), unknown).toBeNull();
    }
  });
});

describe('SubscriptionHub and what was written', () => {
  let db: PGlite;
  let hub: SubscriptionHub;
  const computed: string[] = [];

  beforeAll(async () => {
    db = new PGlite();
    await db.exec(`CREATE SCHEMA mz_local; CREATE SCHEMA mz_catalog;
      CREATE TABLE people (id text, plan text); CREATE TABLE checkpoint (id text);
      CREATE VIEW audience AS SELECT id, plan FROM people WHERE plan <> 'none';`);
    // The session queue, reduced to what the hub asks of it: run a job against the database.
    const queue = {
      runLocal: (run: (database: PGlite) => Promise<unknown>, _maxWaitMs: number, options: { reads?: string } = {}) => {
        if (options.reads) computed.push(options.reads);
        return run(db);
      },
    } as unknown as SessionQueue;
    hub = new SubscriptionHub(queue);
  });

  afterAll(async () => {
    hub.close();
    await db.close();
  });

  it('recomputes after writes to what the query scans, not after writes elsewhere', async () => {
    const batches: Batch[] = [];
    const subscription = await hub.subscribe('SELECT * FROM audience', (batch) => batches.push(batch));
    try {
      const setup = computed.length;
      await db.exec(`INSERT INTO checkpoint VALUES ('c1')`);
      hub.notifyWrite(['checkpoint']);
      await hub.settled();
      expect(computed.length).toBe(setup); // not even a round

      await db.exec(`INSERT INTO people VALUES ('u1', 'pro')`);
      hub.notifyWrite(['people']);
      await hub.settled();
      expect(computed.length).toBe(setup + 1);
      expect(batches.map((batch) => batch.updates)).toEqual([[{ values: ['u1', 'pro'], diff: 1 }]]);

      // A write that names nothing recomputes everything.
      await db.exec(`INSERT INTO checkpoint VALUES ('c2')`);
      hub.notifyWrite(null);
      await hub.settled();
      expect(computed.length).toBe(setup + 2);

      // A user's trigger may write anything: every write recomputes while one exists.
      await db.exec(`CREATE FUNCTION copy_over() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO people VALUES (NEW.id, 'copied'); RETURN NULL; END $$;
        CREATE TRIGGER copy_over AFTER INSERT ON checkpoint FOR EACH ROW EXECUTE FUNCTION copy_over();`);
      hub.noteCatalogChange();
      await db.exec(`INSERT INTO checkpoint VALUES ('c3')`);
      hub.notifyWrite(['checkpoint']);
      await hub.settled();
      expect(computed.length).toBe(setup + 3);
      expect(batches.at(-1)!.updates).toEqual([{ values: ['c3', 'copied'], diff: 1 }]);
    } finally {
      subscription.unsubscribe();
    }
  });
});
