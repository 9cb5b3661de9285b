import type { Schedule, Slot } from '@medplum/fhirtypes';
import type { Writer } from '../store/store.js';
import { BOOKING_RESTRICTION } from './vocabulary.js';

/**
 * Whether a client may book a slot: the slot's booking-restriction extension, or else its schedule's,
 * lists the member kinds (`memberKind`, a client kind such as gp-practice) and/or the organisations
 * (`organization`, an ODS code identifier) that may. No restriction: any member. Administrators and
 * calls with authentication off always may. GP Connect lets practices restrict bookable slots the same way.
 */
export function mayBook(caller: Writer | undefined, slot: Slot, schedule: Schedule | undefined): boolean {
  if (!caller || caller.kind === 'admin') return true;
  const restriction = [slot, schedule].map((r) => r?.extension?.find((e) => e.url === BOOKING_RESTRICTION)).find((e) => e);
  if (!restriction) return true;
  return (restriction.extension ?? []).some(
    (part) => (part.url === 'memberKind' && part.valueCode === caller.kind) || (part.url === 'organization' && part.valueIdentifier?.value === caller.org),
  );
}
