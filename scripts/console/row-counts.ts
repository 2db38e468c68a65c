/**
 * Row counts for the lineage: sources, materialized views and stored tests (what holds data),
 * counted again after writes — at most every `minIntervalMs`, and never more than a fifth of the
 * time (a count of a stale materialized view on the local server recomputes it).
 */
import pg from 'pg';
import { quoteIdentifier } from '../shared/sql-scan.ts';

export interface CountedObject {
  readonly name: string;
  readonly schema: string;
}

export class RowCounter {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private written = true;
  private closed = false;
  private lastMs = 0;
  private readonly counts = new Map<string, number | null>();

  constructor(
    private readonly options: {
      readonly connection: pg.ClientConfig;
      /** What to count now (read on every round: the graph changes). */
      readonly objects: () => readonly CountedObject[];
      readonly onCounts: (counts: ReadonlyMap<string, number | null>) => void;
      readonly minIntervalMs?: number;
    },
  ) {}

  current(): ReadonlyMap<string, number | null> {
    return this.counts;
  }

  /** Something was written or deployed: count again soon. */
  notify(): void {
    this.written = true;
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => {});
    this.client = null;
  }

  private schedule(): void {
    if (this.closed || this.timer || this.running) return;
    const wait = Math.max(this.options.minIntervalMs ?? 500, this.lastMs * 4);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.round();
    }, wait);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (!this.written || this.closed) return;
    this.written = false;
    this.running = true;
    const started = performance.now();
    try {
      const client = await this.connect();
      const changed = new Map<string, number | null>();
      const objects = this.options.objects();
      const wanted = new Set(objects.map((object) => object.name));
      for (const object of objects) {
        if (this.closed) return;
        let count: number | null;
        try {
          const result = await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${quoteIdentifier(object.schema)}.${quoteIdentifier(object.name)}`);
          count = Number(result.rows[0]!.count);
        } catch {
          // Not deployed (yet), or dropped meanwhile.
          count = null;
        }
        if (this.counts.get(object.name) !== count) changed.set(object.name, count);
        this.counts.set(object.name, count);
      }
      for (const name of [...this.counts.keys()]) if (!wanted.has(name)) this.counts.delete(name);
      if (changed.size > 0) this.options.onCounts(changed);
    } catch {
      // The server is stopping or restarting: try again on the next write.
      await this.client?.end().catch(() => {});
      this.client = null;
    } finally {
      this.lastMs = performance.now() - started;
      this.running = false;
      if (this.written) this.schedule();
    }
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ ...this.options.connection, application_name: 'segment-materialize console' });
    client.on('error', () => {
      if (this.client === client) this.client = null;
    });
    await client.connect();
    this.client = client;
    return client;
  }
}
