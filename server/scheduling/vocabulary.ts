import type { Appointment, Extension, Reference, Resource } from '@medplum/fhirtypes';
import { parseRelative } from '../fhir/reference.js';

// The names scheduling writes and reads: our extensions (StructureDefinitions in profiles/source),
// the tag naming the client that holds or booked an appointment, and which statuses occupy slots.

const SD = 'https://fhir.neighbourhood-hub.example/StructureDefinition';

/** On a Slot or its Schedule: who may book it (member kinds and/or ODS codes); absent = any member. */
export const BOOKING_RESTRICTION = `${SD}/booking-restriction`;
/** On a pending Appointment: when its hold lapses (valueInstant). */
export const HOLD_EXPIRES = `${SD}/hold-expires`;
/** On an Appointment: true when overlapping the patient's other appointments is intended. */
export const OVERLAP_INTENDED = `${SD}/overlap-intended`;
/** On a proposed Appointment from $find: the patient's appointment on the same day at the same site. */
export const SAME_DAY_SAME_SITE = `${SD}/same-day-same-site`;
/** On a Schedule: recurring weekly availability the hub turns into Slots. */
export const RECURRING_AVAILABILITY = `${SD}/recurring-availability`;

/** meta.tag system naming the client that held or booked an appointment through $hold / $book. */
export const BOOKING_CLIENT = 'https://fhir.neighbourhood-hub.example/CodeSystem/booking-client';
/** meta.tag marking Slots the hub generated from recurring availability (only those it may remove). */
export const GENERATED_SLOT = { system: 'https://fhir.neighbourhood-hub.example/CodeSystem/slot-origin', code: 'recurring-availability' };

/** Appointment statuses that keep their slots (https://hl7.org/fhir/R4/valueset-appointmentstatus.html). */
export const OCCUPYING: ReadonlySet<string> = new Set(['pending', 'booked', 'arrived', 'checked-in', 'fulfilled']);

export const DEFAULT_HOLD_MINUTES = 5;
export const MAX_HOLD_MINUTES = 30;

export function extension(resource: { extension?: Extension[] }, url: string): Extension | undefined {
  return resource.extension?.find((e) => e.url === url);
}

/**
 * The id of a reference to a resource of `type` on this server: a relative one, as writes store them
 * and the operations take their inputs (rest/local-references.ts). An absolute reference is to
 * another server, whatever its path says.
 */
export function localId(reference: Reference | string | undefined, type: string): string | undefined {
  const text = typeof reference === 'string' ? reference : reference?.reference;
  const ref = text ? parseRelative(text) : undefined;
  return ref?.resourceType === type ? ref.id : undefined;
}

export function slotIdsOf(appointment: Appointment): string[] {
  return (appointment.slot ?? []).map((s) => localId(s, 'Slot') ?? '');
}

export function patientIdsOf(appointment: Appointment): string[] {
  const ids = (appointment.participant ?? []).map((p) => localId(p.actor, 'Patient')).filter((id): id is string => !!id);
  return [...new Set(ids)].sort();
}

export function bookingClientOf(resource: Resource): string | undefined {
  return resource.meta?.tag?.find((t) => t.system === BOOKING_CLIENT)?.code;
}
