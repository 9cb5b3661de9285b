import type { Resource, Slot } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { Store } from '../store/store.js';

// The slot_claim table and the row locks around it: who holds or has booked each Slot.

export interface SlotClaim {
  slot_id: string;
  appointment_id: string;
  state: 'held' | 'booked';
  client_id: string | null;
  expires_at: Date | null;
}

/** Frees slots this appointment held or had booked. */
export async function release(tx: Store, slotIds: string[], slots: Map<string, Slot>): Promise<void> {
  if (!slotIds.length) return;
  await tx.sql.query('DELETE FROM slot_claim WHERE slot_id = ANY($1::text[])', [slotIds]);
  for (const slotId of slotIds) {
    const slot = slots.get(slotId);
    if (slot && (slot.status === 'busy' || slot.status === 'busy-tentative')) await tx.update({ ...slot, id: slotId, status: 'free' });
  }
}

/** Frees every slot an appointment claims (hold expiry); the caller has locked the appointment. */
export async function releaseAll(tx: Store, appointmentId: string): Promise<void> {
  const claims = await claimsOfAppointment(tx.sql, appointmentId);
  const ids = claims.map((c) => c.slot_id).sort();
  await release(tx, ids, await lockSlots(tx.sql, ids));
}

export async function lockRows(sql: Queryable, type: string, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await sql.query('SELECT id FROM resources WHERE resource_type = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE', [type, [...ids].sort()]);
}

export async function lockSlots(sql: Queryable, ids: string[]): Promise<Map<string, Slot>> {
  if (!ids.length) return new Map();
  const rows = await sql.query<{ id: string; content: string | null }>(
    `SELECT id, content FROM resources WHERE resource_type = 'Slot' AND id = ANY($1::text[]) AND NOT deleted ORDER BY id FOR UPDATE`,
    [ids],
  );
  return new Map(rows.filter((r) => r.content).map((r) => [r.id, JSON.parse(r.content as string) as Slot]));
}

/** Locks a resource's row (deleted or not) and reads its live version, in one statement. */
export async function lockAndRead<T extends Resource>(tx: Store, type: string, id: string): Promise<T | undefined> {
  const [row] = await tx.sql.query<{ deleted: boolean; content: string | null }>('SELECT deleted, content FROM resources WHERE resource_type = $1 AND id = $2 FOR UPDATE', [type, id]);
  return row && !row.deleted && row.content ? (JSON.parse(row.content) as T) : undefined;
}

export async function read<T extends Resource>(tx: Store, type: string, id: string): Promise<T | undefined> {
  if (!id) return undefined;
  const version = await tx.read(type, id);
  return version && !version.deleted && version.content ? (JSON.parse(version.content) as T) : undefined;
}

export async function claimsOfAppointment(sql: Queryable, appointmentId: string): Promise<SlotClaim[]> {
  return sql.query<SlotClaim>('SELECT * FROM slot_claim WHERE appointment_id = $1 ORDER BY slot_id', [appointmentId]).then(dated);
}

export async function claimsOfSlots(sql: Queryable, slotIds: string[]): Promise<SlotClaim[]> {
  if (!slotIds.length) return [];
  return sql.query<SlotClaim>('SELECT * FROM slot_claim WHERE slot_id = ANY($1::text[])', [slotIds]).then(dated);
}

/** PGlite and pg both return timestamptz as Date; normalise in case a driver hands back text. */
function dated(rows: SlotClaim[]): SlotClaim[] {
  return rows.map((r) => ({ ...r, expires_at: r.expires_at ? new Date(r.expires_at) : null }));
}
