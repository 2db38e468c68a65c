/**
 * A session per wire connection on PGlite's one session: each connection's settings (everything a
 * client can SET/RESET/SHOW — search_path, TimeZone, DateStyle, statement_timeout, Materialize's
 * variables kept as custom mz.* settings, …) are its own, as on a real server.
 *
 * The session queue (session-queue.ts) runs one user's work at a time and only switches users
 * outside transactions. Before a connection's message runs, `enter(id)` brings the session's
 * settings to that connection's; before the server's own work (webhook appends, kept-view
 * refreshes and catch-ups, subscriptions) to the server's defaults (`serverDatabase` does it on
 * first use), but for those only a client's statements read (CLIENT_ONLY). Only the settings that
 * differ are changed, in one statement; when every connection keeps the defaults a switch costs
 * nothing at all.
 *
 * What a connection set is read back from the session (pg_settings' session-sourced settings and
 * the custom ones by current_setting) when the session leaves that connection after a message
 * that may have changed a setting (SET, RESET, set_config, DISCARD): outside a transaction, so a
 * SET LOCAL, or a SET in a transaction rolled back, has already ended by then.
 *
 * A connection's prepared statements, portals and cursors are kept apart by name
 * (connection-names.ts).
 */
import type { LocalDatabase } from '../engine/engine.ts';

/** The owner of the server's own work (wire handler ids start at 1). */
export const SERVER_SESSION = 0;
/** Nobody known: the session's settings must be read before they are relied on. */
const UNKNOWN = -1;

/**
 * Transaction-scoped settings: they reset at every transaction's start, and set_config cannot set
 * them once a statement has taken its snapshot. Never switched.
 */
const NOT_SWITCHED = ['transaction_isolation', 'transaction_read_only', 'transaction_deferrable'];

/**
 * Settings pg_settings does not list, read by current_setting: Materialize's variables kept as
 * custom settings by the statement translation (sql/), and the role PGlite sets at its start.
 */
export const READ_BY_NAME = ['role', 'mz.cluster', 'mz.max_result_size', 'mz.cluster_replica', 'mz.database', 'mz.transaction_isolation'];

/**
 * Settings only a client's own statements read (the cluster its CREATEs go to, the name it gave
 * itself): the server's own work never does, so entering the server's session leaves them as the
 * connection before had them. A deploy's connections SET cluster, and each of their statements
 * paid a switch to the server's value for its catch-up and one back (~2,100 a run of
 * test/deploy/deploy.test.ts, ~9% of its database time).
 */
const CLIENT_ONLY = new Set(['mz.cluster', 'mz.cluster_replica', 'application_name']);

/**
 * A message that may change a setting: SET, RESET, set_config, DISCARD (and SET LOCAL, whose end
 * at COMMIT or ROLLBACK is read along with it). A false alarm (UPDATE … SET) costs one read.
 */
const MAY_CHANGE_SETTINGS = /\b(?:set|reset|discard)\b|set_config/i;
/** A custom setting's name set in SQL: SET [SESSION|LOCAL] a.b, set_config('a.b', …). */
const CUSTOM_NAME = /\bset\s+(?:session\s+|local\s+)?("?)([a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*)\1|set_config\s*\(\s*'([^']+\.[^']+)'/gi;

const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'
const utf8 = new TextDecoder();

/** Settings that differ from the server's defaults: name → value. */
type Overrides = Map<string, string>;

export interface SessionStatesOptions {
  /** Called when applying a connection's settings failed for one of them (it keeps the server's value). */
  log?: (line: string) => void;
}

export class SessionStates {
  /** The server's own value of every setting (read at start). */
  private defaults = new Map<string, string>();
  /** Custom (placeholder) settings to track: PostgreSQL lists none of them in pg_settings. */
  private customs = new Set<string>(READ_BY_NAME);
  private connections = new Map<number, Overrides>();
  /** Whose settings the session has now, and how they differ from the defaults. */
  private liveOwner = UNKNOWN;
  private live: Overrides = new Map();
  /** The live owner ran a message that may have changed a setting since they were last read. */
  private stale = true;
  private switching: Promise<void> | null = null;
  private started = false;

  /** The database as the server's own work sees it: the server's settings are in place first. */
  readonly serverDatabase: LocalDatabase;

  constructor(
    private readonly db: LocalDatabase,
    private readonly options: SessionStatesOptions = {},
  ) {
    const enter = () => this.enter(SERVER_SESSION);
    this.serverDatabase = {
      query: (sql, params, options) => {
        const entering = enter();
        return entering ? entering.then(() => db.query(sql, params, options)) : db.query(sql, params, options);
      },
      exec: (sql) => {
        const entering = enter();
        return entering ? entering.then(() => db.exec(sql)) : db.exec(sql);
      },
      execProtocolRawStream: (message, options) => {
        const entering = enter();
        return entering ? entering.then(() => db.execProtocolRawStream(message, options)) : db.execProtocolRawStream(message, options);
      },
      isInTransaction: () => db.isInTransaction(),
      close: () => db.close(),
    };
  }

  /** Reads the server's settings (call before the first connection's message runs). */
  async start(): Promise<void> {
    const { rows } = await this.db.query<{ name: string; setting: string | null }>(`SELECT name, setting FROM pg_settings`);
    for (const row of rows) if (row.setting !== null) this.defaults.set(row.name, row.setting);
    const customs = await this.db.query<{ name: string; setting: string | null }>(`SELECT name, current_setting(name, true) AS setting FROM unnest($1::text[]) AS name`, [[...this.customs]]);
    for (const row of customs.rows) this.defaults.set(row.name, row.setting ?? '');
    this.live = new Map();
    this.liveOwner = SERVER_SESSION;
    this.stale = false;
    this.started = true;
  }

  /** The role the server's session runs as (RESET ALL must keep it). */
  get role(): string | null {
    return this.defaults.get('role') || null;
  }

  /** A new connection: the server's settings, until it sets its own. */
  open(id: number): void {
    this.connections.set(id, new Map());
  }

  /** A connection went away: if the session still has its settings, they are read before use. */
  close(id: number): void {
    this.connections.delete(id);
    if (this.liveOwner === id) {
      this.liveOwner = UNKNOWN;
      this.stale = true;
    }
  }

  /**
   * The message (as sent to the database) that connection `id` is about to run: if it may change
   * a setting, the session's settings are read back before another user's work runs.
   */
  noteMessage(id: number, message: Uint8Array): void {
    if (message[0] !== QUERY && message[0] !== PARSE) return;
    const text = utf8.decode(message.subarray(5));
    if (!MAY_CHANGE_SETTINGS.test(text)) return;
    if (this.liveOwner === id) this.stale = true;
    for (const match of text.matchAll(CUSTOM_NAME)) {
      const name = (match[2] ?? match[3])!.toLowerCase();
      if (!this.customs.has(name)) {
        this.customs.add(name);
        this.defaults.set(name, '');
      }
    }
  }

  /**
   * Brings the session's settings to `owner`'s (a connection's id, or SERVER_SESSION); null when
   * they are in place already (nothing to wait for). Call only outside transactions, or for the
   * connection that owns the open transaction.
   */
  enter(owner: number): Promise<void> | null {
    if (!this.started) return null;
    if (this.switching) return this.switching.then(() => this.enter(owner) ?? undefined);
    if (owner === this.liveOwner && !this.stale) return null;
    if (owner === this.liveOwner && owner !== SERVER_SESSION && this.connections.has(owner)) {
      // Its own settings may have changed: read them when the session leaves it.
      return null;
    }
    if (!this.stale) {
      this.switchTo(owner);
      return null;
    }
    this.switching = (async () => {
      this.live = await this.readLive();
      this.stale = false;
      if (this.connections.has(this.liveOwner)) this.connections.set(this.liveOwner, new Map(this.live));
      this.switchTo(owner);
    })().finally(() => {
      this.switching = null;
    });
    return this.switching;
  }

  /**
   * Changes what differs. Not waited for: the database runs calls in the order they come, so the
   * statement sent next runs after it (a round trip saved per switch).
   */
  private switchTo(owner: number): void {
    const target =
      owner === SERVER_SESSION
        ? new Map([...this.live].filter(([name]) => CLIENT_ONLY.has(name)))
        : (this.connections.get(owner) ?? new Map<string, string>());
    const changes: Array<[string, string]> = [];
    for (const name of new Set([...this.live.keys(), ...target.keys()])) {
      const want = target.get(name) ?? this.defaults.get(name) ?? '';
      const have = this.live.get(name) ?? this.defaults.get(name) ?? '';
      if (want !== have) changes.push([name, want]);
    }
    if (changes.length > 0) void this.apply(changes);
    this.live = new Map(target);
    this.liveOwner = owner;
  }

  /** One statement for every change; if it fails, one at a time, keeping what cannot be set. */
  private async apply(changes: Array<[string, string]>): Promise<void> {
    const call = ([name, value]: [string, string]) => `set_config(${literal(name)}, ${literal(value)}, false)`;
    try {
      // exec: the database thread reads statement_timeout and max_result_size again after it.
      await this.db.exec(`SELECT ${changes.map(call).join(', ')}`);
    } catch {
      for (const change of changes) {
        try {
          await this.db.exec(`SELECT ${call(change)}`);
        } catch (error) {
          this.options.log?.(`could not switch the setting ${change[0]} to ${JSON.stringify(change[1])} for a connection: ${(error as Error).message}`);
        }
      }
    }
  }

  /** The session's settings that differ from the server's. */
  private async readLive(): Promise<Overrides> {
    const customs = [...this.customs];
    const { rows } = await this.db.query<{ name: string; setting: string | null }>(
      `SELECT name, setting FROM pg_settings WHERE source = 'session' AND NOT (name = ANY($1::text[]))
       UNION ALL SELECT name, current_setting(name, true) FROM unnest($2::text[]) AS name`,
      [NOT_SWITCHED, customs],
    );
    const overrides: Overrides = new Map();
    for (const row of rows) {
      const value = row.setting ?? '';
      if (value !== (this.defaults.get(row.name) ?? '')) overrides.set(row.name, value);
    }
    return overrides;
  }
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
