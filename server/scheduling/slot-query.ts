import type { Appointment, Schedule, Slot } from '@medplum/fhirtypes';
import type { SqlWriter } from '../search/sql-writer.js';
import type { Queryable } from '../store/db.js';

// The SQL behind $find, over the search index rows and the slot_availability projection: the
// patients' appointments (with their sites), the wanted schedules, then the free slots that pass
// every filter, earliest first and paged. Filters arrive as SQL booleans the search seam wrote
// (criteriaSql), so they mean what the same search would.

/** Each $find runs these statements with other values; planning them cost more than running them (BENCHMARKS.md, Scheduling). */
const PREPARED = { prepared: true };

/** The Locations (sites) an Appointment's or a Schedule's actors are at: a Location actor, or a PractitionerRole's or HealthcareService's locations. */
function actorSites(type: 'Appointment' | 'Schedule', id: string): string {
  return (
    `SELECT a.target_id AS site FROM search_reference a WHERE a.resource_type = '${type}' AND a.id = ${id} AND a.param = 'actor' AND a.target_type = 'Location' ` +
    `UNION SELECT l.target_id FROM search_reference a JOIN search_reference l ON l.resource_type = a.target_type AND l.id = a.target_id AND l.param = 'location' AND l.target_type = 'Location' ` +
    `WHERE a.resource_type = '${type}' AND a.id = ${id} AND a.param = 'actor' AND a.target_type IN ('PractitionerRole', 'HealthcareService')`
  );
}

/** The Schedules whose actors are at the site: the Location itself, or a PractitionerRole or HealthcareService there. */
function schedulesAt(site: string): string {
  return (
    `SELECT a.id AS schedule_id FROM search_reference a WHERE a.resource_type = 'Schedule' AND a.param = 'actor' AND a.target_type = 'Location' AND a.target_id = ${site} ` +
    `UNION SELECT a.id FROM search_reference l JOIN search_reference a ON a.resource_type = 'Schedule' AND a.param = 'actor' AND a.target_type = l.resource_type AND a.target_id = l.id ` +
    `WHERE l.resource_type IN ('PractitionerRole', 'HealthcareService') AND l.param = 'location' AND l.target_type = 'Location' AND l.target_id = ${site}`
  );
}

export interface PatientAppointment {
  appointment: Appointment & { id: string };
  /** Sites of its actors and of its slots' schedules' actors. */
  sites: string[];
}

/**
 * The patients' appointments in these statuses starting in [from, to), with their sites, in one
 * query; `visible` is a SQL boolean on the Appointment row aliased `r` (the caller's access).
 */
export async function appointmentsOfPatients(sql: Queryable, w: SqlWriter, q: { patients: string[]; statuses: string[]; from: string; to: string; visible?: string }): Promise<PatientAppointment[]> {
  const slotSites =
    `SELECT ss.site FROM search_reference sl JOIN search_reference sc ON sc.resource_type = 'Slot' AND sc.id = sl.target_id AND sc.param = 'schedule' AND sc.target_type = 'Schedule' ` +
    `CROSS JOIN LATERAL (${actorSites('Schedule', 'sc.target_id')}) ss WHERE sl.resource_type = 'Appointment' AND sl.id = r.id AND sl.param = 'slot' AND sl.target_type = 'Slot'`;
  const rows = await sql.query<{ content: string; sites: string[] }>(
    `SELECT r.content, ARRAY(${actorSites('Appointment', 'r.id')} UNION ${slotSites}) AS sites
     FROM resources r
     WHERE r.resource_type = 'Appointment' AND NOT r.deleted
       AND r.id IN (SELECT p.id FROM search_reference p WHERE p.resource_type = 'Appointment' AND p.param = 'patient' AND p.target_type = 'Patient' AND p.target_id = ANY(${w.p(q.patients)}::text[]))
       AND r.id IN (SELECT d.id FROM search_date d WHERE d.resource_type = 'Appointment' AND d.param = 'date' AND d.low >= ${w.p(q.from)}::timestamptz AND d.low < ${w.p(q.to)}::timestamptz)
       AND r.id IN (SELECT t.id FROM search_token t WHERE t.resource_type = 'Appointment' AND t.param = 'status' AND t.code = ANY(${w.p(q.statuses)}::text[]))
       ${q.visible ? `AND ${q.visible}` : ''}
     LIMIT 500`,
    w.values,
    PREPARED,
  );
  return rows.map((r) => ({ appointment: JSON.parse(r.content) as Appointment & { id: string }, sites: r.sites }));
}

/** The Schedules that pass `conditions` (SQL booleans on the Schedule row aliased `s`). */
export async function wantedSchedules(sql: Queryable, w: SqlWriter, conditions: string[]): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(`SELECT s.id FROM resources s WHERE s.resource_type = 'Schedule' AND NOT s.deleted AND ${conditions.join(' AND ')}`, w.values, PREPARED);
  return rows.map((r) => r.id);
}

export interface FreeSlotQuery {
  from: string;
  to: string;
  limit: number;
  /** Only the slots of these schedules (undefined: of any). */
  schedules?: string[];
  /** SQL booleans (AND) on the Slot row aliased `r`. */
  slot: string[];
  /** Left out: slots that may not be booked by this member kind and organisation (ODS code), by the booking-restriction index rows. */
  bookableBy?: { kind: string; org: string };
  /** Left out: slots overlapping these periods (the patient's appointments). */
  busy: Array<{ start: string; end: string }>;
  /** First: slots starting in [from, to) of a schedule at `site`, said to share the day and site with `appointment`. */
  companions: Array<{ site: string; from: string; to: string; appointment: string }>;
}

export interface FreeSlot {
  slot: Slot & { id: string };
  schedule: Schedule;
  companion?: string;
}

/**
 * Free slots in [from, to) (ending by `to`) that pass every filter: those with a companion first,
 * then the rest, each earliest first, at most `limit` of each (the caller merges and pages), in one
 * statement over the slot_availability projection (slot-availability.ts): the free slots' start
 * index walked in order and stopped at the limit (a week of 18,000 slots holds 4,200 free ones;
 * sorting them all costs ~150 ms), or the wanted schedules' (schedule, start) index. Only the
 * slots returned are read from the resources table's JSON.
 */
export async function freeSlots(sql: Queryable, w: SqlWriter, q: FreeSlotQuery): Promise<FreeSlot[]> {
  if (q.schedules && !q.schedules.length) return [];
  const to = w.p(q.to);
  const conditions = [`a.status = 'free' AND a.start >= ${w.p(q.from)}::timestamptz AND a.start < ${to}::timestamptz AND a."end" <= ${to}::timestamptz`, ...q.slot];
  if (q.schedules) conditions.push(`a.schedule_id = ANY(${w.p(q.schedules)}::text[])`);
  if (q.bookableBy) conditions.push(bookableSql(w, q.bookableBy));
  if (q.busy.length) {
    conditions.push(`NOT EXISTS (SELECT 1 FROM unnest(${w.p(q.busy.map((b) => b.start))}::timestamptz[], ${w.p(q.busy.map((b) => b.end))}::timestamptz[]) b(s, e) WHERE b.s < a."end" AND b.e > a.start)`);
  }
  // The Slot's resource row only for conditions on it (a deleted Slot has no projection row).
  const slotRow = q.slot.length ? `\n       JOIN resources r ON r.resource_type = 'Slot' AND r.id = a.slot_id` : '';
  const limit = w.p(q.limit);
  const branches = [`(SELECT o.id, o.low, o.schedule_id, NULL::text AS companion FROM offered o ORDER BY o.low, o.id LIMIT ${limit})`];
  let companions = '';
  if (q.companions.length) {
    const c = q.companions;
    // Each companion's day, with the schedules at its site (a handful); each day is walked in start order.
    companions = `, companion AS MATERIALIZED (
       SELECT b.f, b.t, b.appointment, array_agg(DISTINCT at.schedule_id) AS schedules
       FROM unnest(${w.p(c.map((x) => x.site))}::text[], ${w.p(c.map((x) => x.from))}::timestamptz[], ${w.p(c.map((x) => x.to))}::timestamptz[], ${w.p(c.map((x) => x.appointment))}::text[]) b(site, f, t, appointment)
       CROSS JOIN LATERAL (${schedulesAt('b.site')}) at
       GROUP BY b.f, b.t, b.appointment
     )`;
    branches.unshift(
      `(SELECT o.id, o.low, o.schedule_id, c.appointment AS companion FROM companion c ` +
        `CROSS JOIN LATERAL (SELECT * FROM offered o WHERE o.low >= c.f AND o.low < c.t AND o.schedule_id = ANY(c.schedules) ORDER BY o.low, o.id LIMIT ${limit}) o ORDER BY o.low, o.id LIMIT ${limit})`,
    );
  }
  const rows = await sql.query<{ content: string; schedule: string; companion: string | null }>(
    `WITH offered AS NOT MATERIALIZED (
       SELECT a.slot_id AS id, a.start AS low, a.schedule_id FROM slot_availability a${slotRow}
       WHERE ${conditions.join(' AND ')}
     )${companions}
     SELECT r.content, s.content AS schedule, o.companion
     FROM (${branches.join(' UNION ALL ')}) o
     JOIN resources r ON r.resource_type = 'Slot' AND r.id = o.id
     JOIN resources s ON s.resource_type = 'Schedule' AND s.id = o.schedule_id`,
    w.values,
    PREPARED,
  );
  return rows.map((r) => ({ slot: JSON.parse(r.content) as Slot & { id: string }, schedule: JSON.parse(r.schedule) as Schedule, ...(r.companion ? { companion: r.companion } : {}) }));
}

/**
 * The slot's booking restriction, else its schedule's, admits the member kind or organisation. The
 * index cannot tell a memberKind code from an ODS code, so this may admit a little too much;
 * booking-restriction.ts has the last word on each slot found.
 */
function bookableSql(w: SqlWriter, caller: { kind: string; org: string }): string {
  const codes = w.p([caller.kind, caller.org]);
  const rows = (type: string, id: string, admitting: boolean): string =>
    `EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = '${type}' AND t.id = ${id} AND t.param = 'booking-restriction'${admitting ? ` AND t.code = ANY(${codes}::text[])` : ''})`;
  return `CASE WHEN ${rows('Slot', 'a.slot_id', false)} THEN ${rows('Slot', 'a.slot_id', true)} ELSE NOT ${rows('Schedule', 'a.schedule_id', false)} OR ${rows('Schedule', 'a.schedule_id', true)} END`;
}
