import type { Appointment, Slot } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import { localId } from './vocabulary.js';

/**
 * A longer appointment takes adjacent slots: the slots of each schedule must follow one another with
 * no gap, and the appointment must lie within the time they cover. (Slots of different schedules,
 * a practitioner and a room say, run side by side.)
 */
export function checkAdjacent(appointment: Appointment, slots: Slot[]): void {
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
    const from = Date.parse(own[0].start);
    const to = Date.parse(own[own.length - 1].end);
    const start = appointment.start ? Date.parse(appointment.start) : from;
    const end = appointment.end ? Date.parse(appointment.end) : to;
    if (start < from || end > to) {
      throw unprocessable(`The appointment (${appointment.start} to ${appointment.end}) runs outside its slots of Schedule/${schedule} (${own[0].start} to ${own[own.length - 1].end})`, 'Appointment.start');
    }
  }
}
