import type { Logger } from '../logger.js';
import { insertNewResources } from '../store/bulk-insert.js';
import type { Db, Queryable } from '../store/db.js';
import type { ResourceIndexer } from '../store/store.js';
import { auditEventOf } from './audit-event.js';
import type { AuditRecord } from './record.js';

export interface AuditWriterOptions {
  /** The database and search index the events go to: the server is the only writer of AuditEvents. */
  db: Db;
  indexer: ResourceIndexer;
  log: Logger;
  /** This server's address, as the server agent's network address. */
  serverAddress?: string;
  /** How long the first record of a batch waits for company. */
  windowMs?: number;
  maxBatch?: number;
  /** Batches committing at once; further records gather meanwhile, into bigger batches. */
  maxConcurrent?: number;
}

interface Pending {
  event: ReturnType<typeof auditEventOf>;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Writes AuditEvents durably with group commit: records arriving together are created in one
 * transaction, and each record's promise settles when that transaction has committed (or failed).
 * So every request can wait for its audit to be durable without paying a transaction of its own.
 */
export class AuditWriter {
  private readonly db: Db;
  private readonly indexer: ResourceIndexer;
  private readonly log: Logger;
  private readonly serverAddress?: string;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(options: AuditWriterOptions) {
    this.db = options.db;
    this.indexer = options.indexer;
    this.log = options.log;
    this.serverAddress = options.serverAddress;
    this.windowMs = options.windowMs ?? 3;
    this.maxBatch = options.maxBatch ?? 200;
    this.maxConcurrent = options.maxConcurrent ?? 2;
  }

  /** Resolves once the record's AuditEvent is committed; rejects if its batch failed. */
  record(rec: AuditRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The audit writer is closed'));
    const event = auditEventOf(rec, new Date(), this.serverAddress);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.pump();
      else this.timer ??= setTimeout(() => this.pump(), this.windowMs);
    });
  }

  /** Writes the record's AuditEvent in the caller's open transaction: it commits (or not) with the write it records. */
  async recordWithin(tx: Queryable, rec: AuditRecord): Promise<void> {
    await insertNewResources(tx, this.indexer, [auditEventOf(rec, new Date(), this.serverAddress)]);
  }

  /** Writes what is queued and waits for every batch under way. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length || this.inFlight.size) {
      this.pump();
      await Promise.all(this.inFlight);
    }
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length && this.inFlight.size < this.maxConcurrent) {
      const batch = this.queue.splice(0, this.maxBatch);
      const writing = this.write(batch).finally(() => {
        this.inFlight.delete(writing);
        // What gathered while this batch committed has waited long enough.
        if (this.queue.length) this.pump();
      });
      this.inFlight.add(writing);
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      await this.db.transaction((tx) => insertNewResources(tx, this.indexer, batch.map((p) => p.event)));
    } catch (err) {
      this.log.error({ err, records: batch.length }, 'audit events could not be written');
      const failure = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(failure);
      return;
    }
    for (const p of batch) p.resolve();
  }
}
