import type { Appointment } from '@medplum/fhirtypes';
import type { Store } from '../store/store.js';
import { lockRows, read, releaseAll } from './claims.js';
import { HOLD_EXPIRES } from './vocabulary.js';

// A hold ($hold, or any pending Appointment with slots) lapses at its expiry: its slots are free
// again and the pending Appointment is cancelled, saying why. Checked lazily wherever slots are
// claimed or offered, and swept by a repeatable job in the scheduling worker, so a dead worker
// delays nothing a client can see.

export const HOLD_EXPIRED_REASON = 'The hold on this appointment expired before it was booked';

/** Cancels one lapsed hold and frees its slots, in the caller's transaction. */
export async function expireHold(tx: Store, appointmentId: string): Promise<void> {
  await lockRows(tx.sql, 'Appointment', [appointmentId]);
  const held = await tx.sql.query('SELECT 1 FROM slot_claim WHERE appointment_id = $1 AND state = $2 AND expires_at <= now()', [appointmentId, 'held']);
  if (!held.length) return;
  await releaseAll(tx, appointmentId);
  const appointment = await read<Appointment>(tx, 'Appointment', appointmentId);
  if (appointment?.status !== 'pending') return;
  await tx.update({
    ...appointment,
    id: appointmentId,
    status: 'cancelled',
    cancelationReason: { text: HOLD_EXPIRED_REASON },
    extension: appointment.extension?.filter((e) => e.url !== HOLD_EXPIRES),
  });
}

/** Expires every lapsed hold, each in its own transaction; returns how many. */
export async function expireDueHolds(store: Store, limit = 200): Promise<number> {
  const due = await store.sql.query<{ appointment_id: string }>(
    `SELECT DISTINCT appointment_id FROM slot_claim WHERE state = 'held' AND expires_at <= now() LIMIT $1`,
    [limit],
    { prepared: true }, // runs before every $find, $hold and $book
  );
  for (const { appointment_id } of due) await store.transaction((tx) => expireHold(tx, appointment_id));
  return due.length;
}

/** Proposals $find answered more than a day ago are no longer worth holding on to. */
export async function forgetOldProposals(store: Store): Promise<void> {
  await store.sql.query(`DELETE FROM appointment_proposal WHERE created_at < now() - interval '1 day'`);
}
