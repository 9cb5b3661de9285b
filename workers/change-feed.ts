import pg from 'pg';
import type { Db } from '../server/store/db.js';

const RECONNECT_MS = 1000;

/** 'commit': a NOTIFY was heard; 'safety-net': nothing heard, but something may have been missed. */
export type ChangeSource = 'commit' | 'safety-net';

/**
 * Tells this process's workers that the change log has grown. Every commit that writes it NOTIFYs
 * `change_log` (migration 010): heard on a connection of its own on PostgreSQL, which reconnects
 * when lost, and by the one in-process session on PGlite. A slow safety-net tick stands in for a
 * notification missed (a listener reconnecting), so an idle server does no work in between.
 */
export class ChangeFeed {
  private readonly handlers: ((source: ChangeSource) => void)[] = [];
  private timer?: NodeJS.Timeout;
  private reconnect?: NodeJS.Timeout;
  private listener?: pg.Client;
  private unlisten?: () => Promise<void>;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly safetyNetMs: number,
    private readonly databaseUrl?: string,
  ) {}

  /** Called at each notification and each safety-net tick. */
  onChange(handler: (source: ChangeSource) => void): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    if (this.databaseUrl) await this.listen(this.databaseUrl);
    else this.unlisten = await this.db.listen?.('change_log', () => this.changed('commit')).catch(() => undefined);
    this.timer = setInterval(() => this.changed('safety-net'), this.safetyNetMs);
  }

  private changed(source: ChangeSource): void {
    if (!this.stopped) for (const handler of this.handlers) handler(source);
  }

  private async listen(url: string): Promise<void> {
    const client = new pg.Client(url);
    this.listener = client;
    const lost = (): void => {
      if (this.listener !== client) return;
      this.listener = undefined;
      void client.end().catch(() => undefined);
      if (!this.stopped) this.reconnect = setTimeout(() => void this.listen(url), RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.changed('commit'));
    try {
      await client.connect();
      await client.query('LISTEN change_log');
    } catch {
      return lost();
    }
    this.changed('safety-net'); // a commit may have come while nobody listened
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnect);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
    await this.unlisten?.().catch(() => undefined);
  }
}
