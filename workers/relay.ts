import type { Db } from '../server/store/db.js';
import type { Change } from '../subscriptions/subscription-index.js';
import { CHANGES_JOB_OPTIONS, within, type Queues } from './queues.js';

// Any constant; the same in every process, so one relay at a time moves rows and batches stay in seq order.
export const RELAY_LOCK = 5_213_447_019;
const BATCH = 500;
/**
 * How soon rows held back for a waiting batch are looked at again, whoever takes that batch: the
 * matcher of another process finishes it without telling this one.
 */
export const HELD_RECHECK_MS = 25;

interface Row {
  seq: number;
  resource_type: string;
  id: string;
  version_id: number;
  interaction: Change['interaction'];
  changed_at: Date;
}

/**
 * Moves committed change-log rows (the outbox) to the `changes` queue and stamps them relayed.
 * The rows are locked and stamped (FOR UPDATE SKIP LOCKED, under an advisory lock) while the job is added, so
 * several relays never relay a row twice; the job id derives from the seqs, so a relay that dies
 * after adding but before committing re-adds the same id, which BullMQ ignores. While Redis is down
 * the add fails fast, nothing is stamped, and the rows wait: no change is lost. Woken by each commit
 * that writes the change log (change-feed.ts), by the feed's slow safety net, and, while it holds
 * rows back for a waiting batch, by a finished match job and a short re-check.
 */
export class Relay {
  private running = false;
  private again = false;
  private stopped = false;
  /** The last pass left rows for a batch waiting to be matched. */
  private holding = false;
  private recheck?: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
  ) {}

  /**
   * A match job finished. Rows held back for the batch it took may go now; without any, there is
   * nothing to look for: each commit woke a pass of its own, which relayed what it found unless a
   * batch was waiting.
   */
  batchTaken(): void {
    if (this.holding) this.wake();
  }

  /** Runs relay passes until the outbox is empty; coalesces wake-ups that arrive meanwhile. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.relayOnce()) === BATCH);
        } while (this.again && !this.stopped);
      } catch {
        // Redis or the database is away: leave the rows for the next wake-up or the safety net.
      } finally {
        this.running = false;
      }
    })();
  }

  /**
   * One batch; returns how many rows it relayed. Five round trips in sequence when there is work:
   * the probe beside the waiting count, then BEGIN, one statement that takes the advisory lock,
   * locks and stamps the rows and returns them, the add, COMMIT. The stamp is only seen once the
   * job is added: an add that fails rolls it back.
   */
  async relayOnce(): Promise<number> {
    const [pending, waiting] = await Promise.all([
      this.db.query('SELECT 1 FROM change_log WHERE relayed_at IS NULL LIMIT 1', [], { prepared: true }),
      within(3000, this.queues.changes.getWaitingCount()),
    ]);
    // A batch already waits for the matcher: leave the rows, so that when it is taken (a finished
    // match job wakes the relay) they go as one larger batch. Behind a busy matcher, batches grow
    // instead of queueing up, each with its own fixed cost.
    this.holding = pending.length > 0 && waiting > 0;
    if (this.holding) this.recheckSoon();
    if (!pending.length || this.holding) return 0;
    return this.db.transaction(async (tx) => {
      // The lock is an init plan, taken once before any row: without it, no row is read. The rows are
      // then stamped by key (= ANY), with no join for the planner to get wrong.
      const rows = await tx.query<Row>(
        `UPDATE change_log SET relayed_at = now()
         WHERE seq = ANY(ARRAY(
           SELECT seq FROM change_log WHERE relayed_at IS NULL AND (SELECT pg_try_advisory_xact_lock($1))
           ORDER BY seq LIMIT ${BATCH} FOR UPDATE SKIP LOCKED))
         RETURNING seq, resource_type, id, version_id, interaction, changed_at`,
        [RELAY_LOCK],
        { prepared: true },
      );
      if (!rows.length) return 0;
      const changes: Change[] = rows
        .map((r) => ({
          seq: Number(r.seq),
          resourceType: r.resource_type,
          id: r.id,
          versionId: r.version_id,
          interaction: r.interaction,
          changedAt: new Date(r.changed_at).toISOString(),
        }))
        .sort((a, b) => a.seq - b.seq); // RETURNING keeps no order
      const first = changes[0].seq;
      const last = changes[changes.length - 1].seq;
      await within(3000, this.queues.changes.add('changes', { changes }, { ...CHANGES_JOB_OPTIONS, jobId: `changes_${first}_${last}` }));
      return rows.length;
    });
  }

  /** A look again shortly, in case the batch is taken where this process does not hear of it. */
  private recheckSoon(): void {
    if (this.recheck || this.stopped) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      this.wake();
    }, HELD_RECHECK_MS).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.recheck);
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }
}
