import type { Resource, Slot } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { ExtractedIndexRows, ResourceIndexer } from '../store/store.js';

// The slot_availability projection (migration 120): each current Slot's schedule, start, end and
// status in one narrow row, so $find walks free slots without the search index tables or the
// Slot's JSON (server/scheduling/slot-query.ts). Written by the indexer, which the store calls in
// every write's transaction (update, create, a batch of creates, delete), so it commits and rolls
// back with the Slot.

interface AvailabilityRow {
  slotId: string;
  scheduleId: string;
  start: string | null;
  end: string | null;
  status: string | null;
}

/** The Slot's schedule as the search index resolves it (a local Schedule), else no row. */
type ScheduleOf = (slot: Resource) => string | undefined;

/** Indexes as `inner` does, and keeps slot_availability in step with each Slot write. */
export function withSlotAvailability(inner: ResourceIndexer, scheduleOf: ScheduleOf): ResourceIndexer {
  // A new Slot's row waits with its index rows until the store writes the batch they belong to.
  const waiting = new WeakMap<ExtractedIndexRows, AvailabilityRow>();
  const rowOf = (resource: Resource): AvailabilityRow | undefined => {
    if (resource.resourceType !== 'Slot') return undefined;
    const slot = resource as Slot & { id: string };
    const scheduleId = scheduleOf(slot);
    return scheduleId ? { slotId: slot.id, scheduleId, start: slot.start ?? null, end: slot.end ?? null, status: slot.status ?? null } : undefined;
  };
  const replace = async (tx: Queryable, resource: Resource): Promise<void> => {
    if (resource.resourceType !== 'Slot') return;
    const row = rowOf(resource);
    if (!row) {
      await tx.query('DELETE FROM slot_availability WHERE slot_id = $1', [resource.id]);
      return;
    }
    await tx.query(
      `INSERT INTO slot_availability (slot_id, schedule_id, start, "end", status) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (slot_id) DO UPDATE SET schedule_id = EXCLUDED.schedule_id, start = EXCLUDED.start, "end" = EXCLUDED."end", status = EXCLUDED.status`,
      [row.slotId, row.scheduleId, row.start, row.end, row.status],
    );
  };
  return {
    async index(tx, resource, alongside) {
      await inner.index(tx, resource, alongside);
      await replace(tx, resource);
    },
    async indexRows(tx, resource) {
      await inner.indexRows(tx, resource);
      await replace(tx, resource);
    },
    async firstVersionRows(tx, resource) {
      const rows = await inner.firstVersionRows(tx, resource);
      const row = rowOf(resource);
      if (row) waiting.set(rows, row);
      return rows;
    },
    writeFirstVersionRows(tx, rows, alongside) {
      const created = rows.flatMap((r) => waiting.get(r) ?? []);
      if (!created.length) return inner.writeFirstVersionRows(tx, rows, alongside);
      // In the same statement as the Slots' own rows.
      return inner.writeFirstVersionRows(tx, rows, (bind) => [
        ...(alongside?.(bind) ?? []),
        `slot_availability_created AS (INSERT INTO slot_availability (slot_id, schedule_id, start, "end", status) SELECT * FROM unnest(${bind(created.map((c) => c.slotId))}::text[], ${bind(created.map((c) => c.scheduleId))}::text[], ${bind(created.map((c) => c.start))}::timestamptz[], ${bind(created.map((c) => c.end))}::timestamptz[], ${bind(created.map((c) => c.status))}::text[]))`,
      ]);
    },
    async remove(tx, resourceType, id, alongside) {
      await inner.remove(tx, resourceType, id, alongside);
      if (resourceType === 'Slot') await tx.query('DELETE FROM slot_availability WHERE slot_id = $1', [id]);
    },
  };
}
