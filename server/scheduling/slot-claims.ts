import type { Appointment, Schedule, Slot } from '@medplum/fhirtypes';
import type { WriteRule } from '../../profiles/write-guard.js';
import { FhirError, NamingError, forbidden, invalid, issue, outcome, unprocessable } from '../errors.js';
import type { SearchEngine } from '../search/search.js';
import type { Store, Writer } from '../store/store.js';
import { mayBook } from './booking-restriction.js';
import { checkAdjacent } from './adjacent-slots.js';
import { claimsOfAppointment, claimsOfSlots, lockAndRead, lockRows, lockSlots, read, release } from './claims.js';
import { expireHold } from './hold-expiry.js';
import { availabilityProblems } from './recurring-availability.js';
import { DEFAULT_HOLD_MINUTES, HOLD_EXPIRES, MAX_HOLD_MINUTES, OCCUPYING, OVERLAP_INTENDED, extension, localId, patientIdsOf, slotIdsOf } from './vocabulary.js';

// The one booking path. Every write of an Appointment or Slot passes here, inside its transaction,
// whatever carried it: POST/PUT/PATCH, a transaction entry, a BaRS message, $hold or $book.
// Rows are locked in one fixed order (the appointment, its patients, then its slots by id) so
// concurrent bookings wait for each other instead of deadlocking; slot_claim's primary key is the
// last word: one claim per slot.

/** The booking rules, and (on Schedules) a recurring availability the worker can turn into slots or a 422. */
export function bookingRules(search: SearchEngine): WriteRule {
  return {
    types: ['Appointment', 'Slot', 'Schedule'],
    beforeWrite: async (tx, type, id, next, creating, writer) => {
      if (type === 'Appointment') return appointmentWritten(tx, search, id, next as Appointment | undefined, creating, writer);
      if (type === 'Slot') return slotWritten(tx, id, next as Slot | undefined);
      const problems = next ? availabilityProblems(next as Schedule) : [];
      if (problems.length) throw invalid(422, problems.map((p) => issue('invalid', p.message, p.expression)));
    },
  };
}

async function appointmentWritten(tx: Store, search: SearchEngine, id: string, next: Appointment | undefined, creating: boolean, writer: Writer | undefined): Promise<void> {
  // A create's id has no row yet, and so no claims.
  const before = creating ? undefined : await lockAndRead<Appointment>(tx, 'Appointment', id);
  const occupying = !!next && OCCUPYING.has(next.status);
  const wanted = occupying ? slotIdsOf(next) : [];
  const patients = occupying ? patientIdsOf(next) : [];
  const held = creating ? [] : await claimsOfAppointment(tx.sql, id);
  // The patients' rows serialise the double-booking check: an appointment that makes none (no time,
  // the same time as before, or an overlap said to be intended) takes no lock on them.
  const checksOverlap = occupying && !!next.start && !!next.end && changedTime(before, next) && extension(next, OVERLAP_INTENDED)?.valueBoolean !== true;
  if (!wanted.length && !held.length && !(checksOverlap && patients.length)) return;

  // A patient created in this transaction is seen by no other until it commits: none can book it meanwhile.
  if (checksOverlap) await lockRows(tx.sql, 'Patient', patients.filter((p) => !tx.writtenHere?.isNew('Patient', p)));
  const slotIds = [...new Set([...wanted, ...held.map((c) => c.slot_id)])].filter(Boolean).sort();
  const slots = await lockSlots(tx.sql, slotIds);
  const claims = new Map((await claimsOfSlots(tx.sql, slotIds)).map((c) => [c.slot_id, c]));

  if (occupying) {
    const schedules = new Map<string, Schedule | undefined>();
    for (const [i, slotId] of wanted.entries()) {
      const at = `Appointment.slot[${i}]`;
      const slot = slots.get(slotId);
      if (!slot) throw unprocessable(`${next.slot?.[i].reference ?? 'The slot reference'} is not a Slot on this server`, at);
      const scheduleId = localId(slot.schedule, 'Schedule') ?? '';
      if (!schedules.has(scheduleId)) schedules.set(scheduleId, await read<Schedule>(tx, 'Schedule', scheduleId));
      if (!mayBook(writer, slot, schedules.get(scheduleId))) throw forbidden(`Slot/${slotId} may not be booked by this organisation (its booking restriction does not admit it)`);
      const claim = claims.get(slotId);
      if (claim && claim.appointment_id !== id) {
        if (claim.state === 'held' && claim.expires_at && claim.expires_at.getTime() <= Date.now()) {
          await expireHold(tx, claim.appointment_id);
          claims.delete(slotId);
        } else {
          const why = `Slot/${slotId} (${slot.start} to ${slot.end}) is already ${claim.state === 'held' ? 'held' : 'booked'} for another appointment`;
          throw takenFor(claim.appointment_id, `${why} (Appointment/${claim.appointment_id})`, why, at);
        }
      } else if (!claim && slot.status !== 'free') {
        throw taken(`Slot/${slotId} (${slot.start} to ${slot.end}) is ${slot.status}, not free`, at);
      }
    }
    checkAdjacent(wanted.map((s) => slots.get(s) as Slot));
    if (checksOverlap && patients.length) await refuseDoubleBooking(tx, search, id, next, patients);
  }

  // Claims this appointment gives up (cancelled, or slots dropped): the slots are free again.
  const released = held.filter((c) => !wanted.includes(c.slot_id));
  await release(tx, released.map((c) => c.slot_id), slots);
  if (!occupying || !wanted.length) return;
  const state = next.status === 'pending' ? 'held' : 'booked';
  const expires = state === 'held' ? holdExpiry(next) : null;
  const clientId = writer?.clientId ?? null;
  await tx.sql.query(
    `INSERT INTO slot_claim (slot_id, appointment_id, state, client_id, expires_at)
     SELECT s, $2, $3, $4, $5 FROM unnest($1::text[]) AS s
     ON CONFLICT (slot_id) DO UPDATE SET state = EXCLUDED.state, expires_at = EXCLUDED.expires_at, client_id = COALESCE(slot_claim.client_id, EXCLUDED.client_id)
     WHERE slot_claim.appointment_id = EXCLUDED.appointment_id`,
    [wanted, id, state, clientId, expires],
  );
  const slotStatus = state === 'held' ? 'busy-tentative' : 'busy';
  for (const slotId of wanted) {
    const slot = slots.get(slotId) as Slot;
    if (slot.status !== slotStatus) await tx.update({ ...slot, id: slotId, status: slotStatus });
  }
}

/** A Slot changed by hand: it may not become free (or go) while an appointment holds or has booked it. */
async function slotWritten(tx: Store, id: string, next: Slot | undefined): Promise<void> {
  if (next && next.status !== 'free') return;
  await lockRows(tx.sql, 'Slot', [id]);
  const [claim] = await claimsOfSlots(tx.sql, [id]);
  if (!claim) return;
  if (claim.state === 'held' && claim.expires_at && claim.expires_at.getTime() <= Date.now()) {
    await expireHold(tx, claim.appointment_id);
    return;
  }
  throw takenFor(
    claim.appointment_id,
    `Slot/${id} is ${claim.state} for Appointment/${claim.appointment_id}: cancel the appointment to free the slot`,
    `Slot/${id} is ${claim.state} for an appointment: cancel the appointment to free the slot`,
    next ? 'Slot.status' : undefined,
  );
}

/** A patient's other appointments that overlap this one (booked or pending) refuse it, naming the first. */
async function refuseDoubleBooking(tx: Store, search: SearchEngine, id: string, next: Appointment, patients: string[]): Promise<void> {
  if (!next.start || !next.end) return;
  const start = Date.parse(next.start);
  const end = Date.parse(next.end);
  // Appointment's date parameter is its start: look back a day for long appointments already running.
  const from = new Date(start - 24 * 3600_000).toISOString();
  for (const patient of patients) {
    const criteria = new URLSearchParams([
      ['patient', `Patient/${patient}`],
      ['status', [...OCCUPYING].join(',')],
      ['date', `lt${next.end}`],
      ['date', `ge${from}`],
    ]);
    for (const other of await appointmentsMatching(tx, search, criteria, patient, id)) {
      if (!other.start || !other.end) continue;
      if (Date.parse(other.start) < end && Date.parse(other.end) > start) {
        const overlap = `from ${other.start} to ${other.end}, which overlaps; set the extension ${OVERLAP_INTENDED} (valueBoolean true) if both are intended`;
        throw takenFor(other.id as string, `Patient/${patient} already has Appointment/${other.id} ${overlap}`, `Patient/${patient} already has an appointment ${overlap}`, 'Appointment.start');
      }
    }
  }
}

/**
 * The patient's appointments matching the criteria, other than this one. Those of a patient created
 * in this transaction can only have been written in it too: taken from what it wrote, without a
 * statement (the in-memory match agrees with the search's SQL).
 */
async function appointmentsMatching(tx: Store, search: SearchEngine, criteria: URLSearchParams, patient: string, id: string): Promise<Appointment[]> {
  const here = tx.writtenHere;
  if (here?.isNew('Patient', patient)) {
    return (here.referringTo('Appointment', `Patient/${patient}`) as Appointment[]).filter((a) => a.id !== id && search.matches(a, criteria)).slice(0, DOUBLE_BOOKING_CANDIDATES);
  }
  const found: Appointment[] = [];
  for (const otherId of await search.matchIds(tx.sql, 'Appointment', criteria, DOUBLE_BOOKING_CANDIDATES)) {
    const other = otherId === id ? undefined : await read<Appointment>(tx, 'Appointment', otherId);
    if (other) found.push(other);
  }
  return found;
}

/** The patient's overlapping appointments looked at: enough for any real diary. */
const DOUBLE_BOOKING_CANDIDATES = 200;

function holdExpiry(next: Appointment): Date {
  const asked = Date.parse(extension(next, HOLD_EXPIRES)?.valueInstant ?? '');
  const now = Date.now();
  const latest = now + MAX_HOLD_MINUTES * 60_000;
  return new Date(Number.isNaN(asked) ? now + DEFAULT_HOLD_MINUTES * 60_000 : Math.min(asked, latest));
}

/** Only a change of time or a first booking is checked for overlap: a later edit of an intended overlap stays allowed. */
function changedTime(before: Appointment | undefined, next: Appointment): boolean {
  return !before || !OCCUPYING.has(before.status) || before.start !== next.start || before.end !== next.end;
}

function taken(diagnostics: string, expression?: string): FhirError {
  return new FhirError(409, outcome(issue('conflict', diagnostics, expression, 'fatal')));
}

/** 409 naming the appointment that holds what was asked for, to the clients that may read it (the access layer decides; README, scheduling). */
function takenFor(appointmentId: string, naming: string, withheld: string, expression?: string): NamingError {
  const fatal = (diagnostics: string) => outcome(issue('conflict', diagnostics, expression, 'fatal'));
  return new NamingError(409, fatal(naming), { resourceType: 'Appointment', id: appointmentId }, fatal(withheld));
}

