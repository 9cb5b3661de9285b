import type { Logger } from '../logger.js';
import type { Db, Queryable } from '../store/db.js';
import { maintainAuditPartitions } from './partitions.js';
import type { AuditRecord } from './record.js';
import { PendingCreates } from '../store/pending-creates.js';
import { auditInsert, auditRowOf, insertAuditRows, type AuditRow } from './trail-row.js';

export interface AuditWriterOptions {
  /** The database the audit trail is in: the server is its only writer. */
  db: Db;
  log: Logger;
  /**
   * This server's FHIR base (BASE_URL), read at each record: its host is the server agent's network
   * address (BALP: 1..1). A function, as a server listening on a port chosen at start learns it late.
   */
  baseUrl?: () => string;
  maxBatch?: number;
  /**
   * Batches committing at once (default 1); further records gather meanwhile, into bigger batches.
   * One at a time: at 16 connections a batch then carries about 6 reads' events instead of 3, and
   * an audited read costs 12% less CPU (API and PostgreSQL; BENCHMARKS.md, session 6).
   */
  maxConcurrent?: number;
  /**
   * How long a record may wait for others before its batch goes (default 0: the rest of its turn of
   * the event loop, no timer). For records nobody waits on, such as notification attempts: a batch
   * every few milliseconds under a stream of them is a statement, a round trip and its CPU each
   * time, for rows no one reads sooner.
   */
  gatherMs?: number;
  /** AUDIT_RETENTION_MONTHS: whole months older than this are dropped (PostgreSQL); absent = keep everything. */
  retentionMonths?: number;
}

interface Pending {
  row: AuditRow;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Writes the audit trail durably with group commit: records arriving together go in as one
 * multi-row insert (one statement, so one transaction), and each record's promise settles when it
 * has committed (or failed).
 * So every request can wait for its audit to be durable without paying a transaction of its own.
 * A record waits for the end of its turn of the event loop, then goes while fewer than
 * `maxConcurrent` batches are committing, and otherwise waits for one of them to end, with those
 * arriving meanwhile: no timer holds a request whose batch could already be committing, and
 * batches grow with the load.
 * One narrow row per event (trail-row.ts): no history, change-log or search index rows.
 */
export class AuditWriter {
  private readonly db: Db;
  private readonly log: Logger;
  private readonly baseUrl?: () => string;
  /** The host of the last base URL seen: parsed once, not at every record. */
  private address?: { base: string; host: string };
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly gatherMs: number;
  /** Cancels the wait under way for more records, if any. */
  private gathering?: () => void;
  private readonly retentionMonths?: number;
  private queue: Pending[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  /** The UTC month whose partitions are known to exist, and the maintenance under way. */
  private month?: number;
  private maintaining?: Promise<void>;

  constructor(options: AuditWriterOptions) {
    this.db = options.db;
    this.log = options.log;
    this.baseUrl = options.baseUrl;
    this.maxBatch = options.maxBatch ?? 200;
    this.maxConcurrent = options.maxConcurrent ?? 1;
    this.gatherMs = options.gatherMs ?? 0;
    this.retentionMonths = options.retentionMonths;
  }

  private serverAddress(): string | undefined {
    const base = this.baseUrl?.();
    if (!base) return undefined;
    if (this.address?.base !== base) this.address = { base, host: new URL(base).host };
    return this.address.host;
  }

  /** Resolves once the record is committed; rejects if its batch failed. */
  record(rec: AuditRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The audit writer is closed'));
    const row = auditRowOf(rec, new Date(), this.serverAddress());
    if (this.month !== monthOf(row.recorded)) return this.partitionsFor(row.recorded).then(() => this.enqueue(row));
    return this.enqueue(row);
  }

  private enqueue(row: AuditRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.pump();
    });
  }

  /**
   * Writes the record in the caller's open transaction: it commits (or not) with the write it
   * records. With creates the transaction holds back, it waits to go in their statement
   * (PendingCreates.holdWith), so a failure to write it fails the transaction when that is sent.
   */
  async recordWithin(tx: Queryable, rec: AuditRecord): Promise<void> {
    const row = auditRowOf(rec, new Date(), this.serverAddress());
    await this.partitionsFor(row.recorded);
    // Nothing held back (an update, a delete): the audit's own prepared statement.
    if (tx instanceof PendingCreates && tx.holding) tx.holdWith((bind) => auditInsert(bind, [row]));
    else await insertAuditRows(tx, [row]);
  }

  /**
   * This month's partition before its first event (and retention, once a month). A failure is
   * logged, not fatal: the events then go to the default partition, still on the record.
   */
  partitionsFor(now: Date): Promise<void> {
    const month = monthOf(now);
    if (this.month === month) return Promise.resolve();
    this.maintaining ??= maintainAuditPartitions(this.db, now, this.retentionMonths)
      .then(
        ({ created, dropped }) => {
          this.month = month;
          if (created.length || dropped.length) this.log.info({ created, dropped }, 'audit trail partitions');
        },
        (err: unknown) => this.log.error({ err }, 'could not prepare the audit trail partitions; events go to the default partition'),
      )
      .finally(() => {
        this.maintaining = undefined;
      });
    return this.maintaining;
  }

  /** Writes what is queued and waits for every batch under way. */
  async close(): Promise<void> {
    this.closed = true;
    // Records waiting for their partition are queued once it is there.
    await this.maintaining;
    while (this.queue.length || this.inFlight.size) {
      this.pump(true);
      await Promise.all(this.inFlight);
    }
  }

  /**
   * Starts the batches it may. A record waits for the rest of its turn of the event loop (or the
   * gathering time): the reads answered together in one turn then share a statement and a commit,
   * where the first of them used to go alone. `now`: the wait is over (or the writer closes).
   */
  private pump(now = false): void {
    if (!now && this.queue.length < this.maxBatch) {
      if (this.gathering) return;
      if (this.gatherMs > 0) {
        const timer = setTimeout(() => this.pump(true), this.gatherMs);
        this.gathering = () => clearTimeout(timer);
      } else {
        const turn = setImmediate(() => this.pump(true));
        this.gathering = () => clearImmediate(turn);
      }
      return;
    }
    this.stopGathering();
    while (this.queue.length && this.inFlight.size < this.maxConcurrent) {
      const batch = this.queue.splice(0, this.maxBatch);
      const writing = this.write(batch).finally(() => {
        this.inFlight.delete(writing);
        // What gathered while this batch committed has waited long enough.
        if (this.queue.length) this.pump(true);
      });
      this.inFlight.add(writing);
    }
  }

  private stopGathering(): void {
    this.gathering?.();
    this.gathering = undefined;
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      // One INSERT is atomic on its own: no BEGIN and COMMIT round trips.
      await insertAuditRows(this.db, batch.map((p) => p.row));
    } catch (err) {
      this.log.error({ err, records: batch.length }, 'audit events could not be written');
      const failure = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(failure);
      return;
    }
    for (const p of batch) p.resolve();
  }
}

function monthOf(t: Date): number {
  return t.getUTCFullYear() * 12 + t.getUTCMonth();
}
