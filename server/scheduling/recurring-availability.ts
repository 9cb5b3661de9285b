import { createHash } from 'node:crypto';
import type { Extension, Schedule, Slot } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { Store } from '../store/store.js';
import { londonDay, londonInstant } from './london-time.js';
import { GENERATED_SLOT, RECURRING_AVAILABILITY } from './vocabulary.js';

// Members without a booking system publish weekly opening times on their Schedule (the
// recurring-availability extension); this turns them into free Slots across the planning horizon.
// Idempotent: slot ids are derived from the schedule and start, so a second pass creates nothing.
// It only ever removes slots it generated that are free and unclaimed: held and booked slots stay.

const DEFAULT_HORIZON_DAYS = 28;
const MAX_HORIZON_DAYS = 120;
const DAY_MS = 24 * 3600_000;

interface Opening {
  days: string[];
  from: number;
  to: number;
  minutes: number;
}

/** Regenerates the schedules whose availability changed or whose horizon has moved on; returns slots created and removed. */
export async function rollAvailability(store: Store, now = new Date()): Promise<{ created: number; removed: number }> {
  const today = londonDay(now).date;
  const due = await store.sql.query<{ id: string }>(
    `SELECT r.id FROM resources r LEFT JOIN availability_state a ON a.schedule_id = r.id
     WHERE r.resource_type = 'Schedule' AND NOT r.deleted AND r.content LIKE $1
       AND (a.schedule_id IS NULL OR a.version_id <> r.version_id OR a.generated_through < $2::date)`,
    [`%${RECURRING_AVAILABILITY}%`, today],
  );
  const total = { created: 0, removed: 0 };
  for (const { id } of due) {
    const result = await generateFor(store, id, now);
    total.created += result.created;
    total.removed += result.removed;
  }
  return total;
}

async function generateFor(store: Store, scheduleId: string, now: Date): Promise<{ created: number; removed: number }> {
  const version = await store.read('Schedule', scheduleId);
  if (!version?.content || version.deleted) return { created: 0, removed: 0 };
  const schedule = JSON.parse(version.content) as Schedule;
  const desired = desiredSlots(schedule, now);
  const prefix = slotPrefix(scheduleId);
  const existing = await store.sql.query<{ id: string; content: string; claimed: boolean }>(
    `SELECT r.id, r.content, EXISTS (SELECT 1 FROM slot_claim c WHERE c.slot_id = r.id) AS claimed
     FROM resources r WHERE r.resource_type = 'Slot' AND NOT r.deleted AND r.id LIKE $1`,
    [`${prefix}%`],
  );
  const current = new Map(existing.map((r) => [r.id, { slot: JSON.parse(r.content) as Slot, claimed: r.claimed }]));
  // Slots kept because someone holds or booked them: a new pattern must not offer the same time twice.
  const kept = [...current.values()].filter((c) => c.claimed || c.slot.status !== 'free').map((c) => c.slot);
  let created = 0;
  let removed = 0;
  for (const slot of desired) {
    if (current.has(slot.id as string)) continue;
    if (kept.some((k) => Date.parse(k.start) < Date.parse(slot.end) && Date.parse(k.end) > Date.parse(slot.start))) continue;
    created += await ignoringRaces(() => store.create(slot, slot.id));
  }
  const wanted = new Set(desired.map((s) => s.id));
  for (const [id, { slot, claimed }] of current) {
    if (wanted.has(id) || claimed || slot.status !== 'free' || Date.parse(slot.start) < now.getTime()) continue;
    removed += await ignoringRaces(() => store.delete('Slot', id));
  }
  const through = new Date(now.getTime() + DAY_MS).toISOString().slice(0, 10);
  await store.sql.query(
    `INSERT INTO availability_state (schedule_id, version_id, generated_through) VALUES ($1, $2, $3::date)
     ON CONFLICT (schedule_id) DO UPDATE SET version_id = EXCLUDED.version_id, generated_through = EXCLUDED.generated_through`,
    [scheduleId, version.versionId, through],
  );
  return { created, removed };
}

/** Another worker got there first, or the slot was booked meanwhile: nothing to do. */
async function ignoringRaces(write: () => Promise<unknown>): Promise<number> {
  try {
    await write();
    return 1;
  } catch (err) {
    if (err instanceof FhirError && err.status === 409) return 0;
    throw err;
  }
}

function desiredSlots(schedule: Schedule, now: Date): Slot[] {
  const openings = (schedule.extension ?? []).filter((e) => e.url === RECURRING_AVAILABILITY).map(opening).filter((o): o is Opening => !!o);
  if (!openings.length || schedule.active === false) return [];
  const horizonStart = Math.max(now.getTime(), Date.parse(schedule.planningHorizon?.start ?? '') || 0);
  const horizonEnd = Math.min(Date.parse(schedule.planningHorizon?.end ?? '') || now.getTime() + DEFAULT_HORIZON_DAYS * DAY_MS, now.getTime() + MAX_HORIZON_DAYS * DAY_MS);
  const slots: Slot[] = [];
  for (let t = horizonStart; t < horizonEnd + DAY_MS; t += DAY_MS) {
    const { date, weekday } = londonDay(new Date(t));
    for (const o of openings.filter((x) => x.days.includes(weekday))) {
      for (let m = o.from; m + o.minutes <= o.to; m += o.minutes) {
        const start = londonInstant(date, m);
        const end = londonInstant(date, m + o.minutes);
        if (start.getTime() < horizonStart || end.getTime() > horizonEnd) continue;
        slots.push({
          resourceType: 'Slot',
          id: `${slotPrefix(schedule.id as string)}${start.toISOString().slice(0, 16).replace(/[-:]/g, '')}-${o.minutes}`,
          meta: { tag: [GENERATED_SLOT] },
          schedule: { reference: `Schedule/${schedule.id}` },
          status: 'free',
          start: start.toISOString(),
          end: end.toISOString(),
          ...(schedule.serviceType ? { serviceType: schedule.serviceType } : {}),
          ...(schedule.specialty ? { specialty: schedule.specialty } : {}),
        });
      }
    }
  }
  return [...new Map(slots.map((s) => [s.id, s])).values()];
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** What is wrong with a Schedule's recurring availability, as FHIRPath-located messages (none: it can be turned into slots). */
export function availabilityProblems(schedule: Schedule): Array<{ message: string; expression: string }> {
  const problems: Array<{ message: string; expression: string }> = [];
  (schedule.extension ?? []).forEach((ext, i) => {
    if (ext.url !== RECURRING_AVAILABILITY) return;
    const at = `Schedule.extension[${i}]`;
    const o = opening(ext);
    if (!o) {
      problems.push({ message: 'recurring-availability needs dayOfWeek (at least one), availableStartTime, availableEndTime (hh:mm:ss) and slotMinutes', expression: at });
      return;
    }
    const bad = o.days.filter((d) => !WEEKDAYS.includes(d));
    if (bad.length) problems.push({ message: `dayOfWeek ${bad.join(', ')} is not one of ${WEEKDAYS.join(', ')}`, expression: `${at}.extension('dayOfWeek')` });
    if (o.from >= o.to) problems.push({ message: 'availableEndTime must be after availableStartTime', expression: `${at}.extension('availableEndTime')` });
    if (o.minutes < 5 || o.minutes > o.to - o.from) problems.push({ message: `slotMinutes ${o.minutes} must be at least 5 and fit between the opening times`, expression: `${at}.extension('slotMinutes')` });
  });
  return problems;
}

function opening(ext: Extension): Opening | undefined {
  const parts = ext.extension ?? [];
  const value = (url: string) => parts.find((p) => p.url === url);
  const minutesOf = (time?: string): number | undefined => {
    const match = time ? /^(\d{2}):(\d{2})/.exec(time) : null;
    return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
  };
  const from = minutesOf(value('availableStartTime')?.valueTime);
  const to = minutesOf(value('availableEndTime')?.valueTime);
  const minutes = value('slotMinutes')?.valuePositiveInt;
  const days = parts.filter((p) => p.url === 'dayOfWeek').map((p) => p.valueCode ?? '');
  if (from === undefined || to === undefined || !minutes || !days.length) return undefined;
  return { days, from, to, minutes };
}

/** Generated slot ids: `av-` + a digest of the schedule id, then the start (UTC) and length: well under 64 characters. */
function slotPrefix(scheduleId: string): string {
  return `av-${createHash('sha256').update(scheduleId).digest('hex').slice(0, 16)}-`;
}
