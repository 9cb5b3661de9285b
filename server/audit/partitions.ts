import type { Db } from '../store/db.js';

// Any constant works; it only has to be the same in every process that maintains the partitions.
const PARTITION_LOCK = 4_817_220_350;
const MONTHLY = /^audit_event_y(\d{4})m(\d{2})$/;

/** `audit_event_y2026m12`: the partition of one UTC month. */
function partitionName(year: number, month: number): string {
  return `audit_event_y${year}m${String(month + 1).padStart(2, '0')}`;
}

/**
 * Monthly partitions of the audit trail on PostgreSQL: this month's and the next exist before any
 * event of them is written, and with `retentionMonths` whole months older than that are dropped
 * (never row by row). Events in the default partition (moved from the resources table by migration
 * 110, or written while their month's partition could not be made) are moved into their months'
 * partitions, so retention reaches them too. Run at start and when the first event of a new month
 * arrives; several processes may run it at once. On PGlite the default partition is the whole table:
 * nothing to do.
 */
export async function maintainAuditPartitions(db: Db, now: Date, retentionMonths?: number): Promise<{ created: string[]; dropped: string[] }> {
  if (db.kind === 'pglite') return { created: [], dropped: [] };
  const created: string[] = [];
  const dropped: string[] = [];
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
    const existing = new Set((await tx.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_event'::regclass`)).map((r) => r.name));
    // The default partition is empty but for such strays: the scan is of nothing, usually.
    const stranded = await tx.query<{ month: Date }>(`SELECT DISTINCT date_trunc('month', recorded, 'UTC') AS month FROM audit_event_default`);
    const months = [0, 1].map((ahead) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
    for (const { month } of stranded) months.push(new Date(month).getTime());
    for (const start of new Set(months)) {
      const from = new Date(start);
      const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
      const name = partitionName(from.getUTCFullYear(), from.getUTCMonth());
      if (existing.has(name)) continue;
      const range = `FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`;
      if (!stranded.some(({ month }) => new Date(month).getTime() === start)) {
        await tx.query(`CREATE TABLE ${name} PARTITION OF audit_event FOR VALUES ${range}`);
      } else {
        // A month cannot be created while the default partition holds rows of it: take them over first.
        await tx.query(`CREATE TABLE ${name} (LIKE audit_event)`);
        await tx.query(`WITH moved AS (DELETE FROM audit_event_default WHERE recorded >= $1 AND recorded < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [from, to]);
        await tx.query(`ALTER TABLE audit_event ATTACH PARTITION ${name} FOR VALUES ${range}`);
      }
      existing.add(name);
      created.push(name);
    }
    if (!retentionMonths) return;
    // A month goes once every event in it is older than the retention period.
    const cutoff = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - retentionMonths, now.getUTCDate(), now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds());
    for (const name of existing) {
      const m = MONTHLY.exec(name);
      if (!m || Date.UTC(Number(m[1]), Number(m[2]), 1) > cutoff) continue;
      await tx.query(`DROP TABLE ${name}`);
      dropped.push(name);
    }
  });
  return { created, dropped };
}
