/**
 * The database seam: the same parameterised SQL runs on PostgreSQL (pg) and on PGlite (embedded).
 * Nothing above the store sees which one it is.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]>;
}

export interface QueryOptions {
  /**
   * The statement runs often with other values and planning it costs more than running it (a read by
   * id, a write's rows, an exact-match search, scheduling's $find): PostgreSQL keeps it prepared on
   * each connection, so it is parsed once there and, once a generic plan is as good, planned once.
   * Only for texts whose plan does not depend on the values (not ranges), and which are few.
   */
  prepared?: boolean;
  /**
   * Nothing follows this statement in its transaction. When nothing went before it either, it is
   * sent alone, without BEGIN and COMMIT: one statement commits atomically by itself, and a create
   * saves two round trips. Outside a transaction, and on PGlite, it changes nothing.
   */
  last?: boolean;
}

export interface Db extends Queryable {
  /** Runs fn in one database transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'postgres' | 'pglite';
  /**
   * Calls onNotify at each NOTIFY on the channel; resolves to the unsubscribe. PGlite only: its one
   * in-process session hears its own notifications. On PostgreSQL a listener holds a connection of
   * its own (workers/relay.ts).
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Connection pool usage (PostgreSQL only). */
  poolStats?(): { total: number; idle: number; waiting: number };
}

export interface DbOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  /** Called for statements slower than slowQueryMs (0 = never). */
  slowQueryMs?: number;
  onSlowQuery?(sql: string, ms: number): void;
}
