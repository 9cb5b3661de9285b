import type { Slot } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import { localId } from './vocabulary.js';

/**
 * A longer appointment takes adjacent slots: the slots of each schedule must follow one another with
 * no gap. (Slots of different schedules, a practitioner and a room say, run side by side.) The
 * appointment's own start and end are not held to its slots: NHS BaRS examples differ between them.
 */
export function checkAdjacent(slots: Slot[]): void {
  if (!slots.length) return;
  const bySchedule = new Map<string, Slot[]>();
  for (const slot of slots) {
    const key = localId(slot.schedule, 'Schedule') ?? slot.schedule.reference ?? '';
    bySchedule.set(key, [...(bySchedule.get(key) ?? []), slot]);
  }
  for (const [schedule, own] of bySchedule) {
    own.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    for (let i = 1; i < own.length; i++) {
      if (Date.parse(own[i - 1].end) !== Date.parse(own[i].start)) {
        throw unprocessable(`Slots of Schedule/${schedule} must be adjacent: Slot/${own[i - 1].id} ends at ${own[i - 1].end} but Slot/${own[i].id} starts at ${own[i].start}`, 'Appointment.slot');
      }
    }
  }
}
