import type { Schedule, Slot } from '@medplum/fhirtypes';
import type { SqlWriter } from '../search/sql-writer.js';
import type { Queryable } from '../store/db.js';

// The SQL behind $find, over the search index rows and the slot_availability projection: the free
// slots that pass every filter, away from the patients' appointments and those sharing a day and a
// site with one first, earliest first and paged. Filters arrive as SQL booleans the search seam wrote
// (criteriaSql), so they mean what the same search would.

/** Each $find runs this statement with other values; planning it costs more than running it (BENCHMARKS.md, Scheduling). */
const PREPARED = { prepared: true };

/** The Locations (sites) an Appointment's or a Schedule's actors are at: a Location actor, or a PractitionerRole's or HealthcareService's locations. */
function actorSites(type: 'Appointment' | 'Schedule', id: string): string {
  return (
    `SELECT a.target_id AS site FROM search_reference a WHERE a.resource_type = '${type}' AND a.id = ${id} AND a.param = 'actor' AND a.target_type = 'Location' ` +
    // From the actors to their locations, never the other way round (OFFSET 0 keeps the planner from turning the walk around).
    `UNION SELECT l.target_id FROM search_reference a CROSS JOIN LATERAL (SELECT l.target_id FROM search_reference l WHERE l.resource_type = a.target_type AND l.id = a.target_id AND l.param = 'location' AND l.target_type = 'Location' OFFSET 0) l ` +
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

export interface FreeSlotQuery {
  from: string;
  to: string;
  limit: number;
  /** SQL booleans (AND) on the Schedule row aliased `s`: only the slots of the schedules that pass them (none: of any schedule). */
  schedule: string[];
  /** SQL booleans (AND) on the Slot row aliased `r`. */
  slot: string[];
  /** Left out: slots that may not be booked by this member kind and organisation (ODS code), by the booking-restriction index rows. */
  bookableBy?: { kind: string; org: string };
  /**
   * The patients' appointments in these statuses starting in [from, to) (at most 500): slots
   * overlapping them are left out, and slots on the same London day at one of their sites (their
   * actors', their slots' schedules' actors') come first, said to share the day and site with them.
   * `visible` is a SQL boolean on the Appointment row aliased `r` (the caller's access).
   */
  patients?: { ids: string[]; statuses: string[]; from: string; to: string; visible?: string };
}

export interface FreeSlot {
  slot: Slot & { id: string };
  schedule: Schedule;
  companion?: string;
}

export interface FreeSlots {
  slots: FreeSlot[];
  /** Some hold had lapsed when the statement ran (hold-expiry.ts): its slots are not free yet. */
  lapsedHolds: boolean;
}

/**
 * Free slots in [from, to) (ending by `to`) that pass every filter: those with a companion first,
 * then the rest, each earliest first, at most `limit` of each (the caller merges and pages), in one
 * statement (one round trip, one snapshot): the patients' appointments, the wanted schedules and the
 * slots over the slot_availability projection (slot-availability.ts), whose free slots' start index
 * is walked in order and stopped at the limit (a week of 18,000 slots holds 4,200 free ones;
 * sorting them all costs ~150 ms). Only the slots returned are read from the resources table's
 * JSON. It also says whether a hold has lapsed, so $find needs no statement of its own to ask.
 */
export async function freeSlots(sql: Queryable, w: SqlWriter, q: FreeSlotQuery): Promise<FreeSlots> {
  const ctes: string[] = [];
  const to = w.p(q.to);
  const conditions = [`a.status = 'free' AND a.start >= ${w.p(q.from)}::timestamptz AND a.start < ${to}::timestamptz AND a."end" <= ${to}::timestamptz`, ...q.slot];
  if (q.schedule.length) conditions.push(`a.schedule_id = ANY(ARRAY(SELECT s.id FROM resources s WHERE s.resource_type = 'Schedule' AND NOT s.deleted AND ${q.schedule.join(' AND ')}))`);
  if (q.bookableBy) conditions.push(bookableSql(w, q.bookableBy));
  if (q.patients) {
    ctes.push(`booked AS MATERIALIZED (${bookedSql(w, q.patients)})`);
    conditions.push(`NOT EXISTS (SELECT 1 FROM booked b WHERE b.start < a."end" AND b."end" > a.start)`);
  }
  // The Slot's resource row only for conditions on it (a deleted Slot has no projection row).
  const slotRow = q.slot.length ? `\n       JOIN resources r ON r.resource_type = 'Slot' AND r.id = a.slot_id` : '';
  ctes.push(`offered AS NOT MATERIALIZED (
       SELECT a.slot_id AS id, a.start AS low, a.schedule_id FROM slot_availability a${slotRow}
       WHERE ${conditions.join(' AND ')}
     )`);
  const limit = w.p(q.limit);
  const branches = [`(SELECT o.id, o.low, o.schedule_id, NULL::text AS companion FROM offered o ORDER BY o.low, o.id LIMIT ${limit})`];
  if (q.patients) {
    // Each appointment's London day, with the schedules at its sites (a handful); each day is walked in start order.
    ctes.push(`companion AS MATERIALIZED (
       SELECT b.f, b.t, b.appointment, array_agg(DISTINCT at.schedule_id) AS schedules
       FROM (SELECT bk.id AS appointment, site, ${londonMidnight('bk.start', 0)} AS f, ${londonMidnight('bk.start', 1)} AS t
             FROM booked bk CROSS JOIN unnest(bk.sites) site WHERE bk.start IS NOT NULL) b
       CROSS JOIN LATERAL (${schedulesAt('b.site')}) at
       GROUP BY b.f, b.t, b.appointment
     )`);
    branches.unshift(
      `(SELECT o.id, o.low, o.schedule_id, c.appointment AS companion FROM companion c ` +
        `CROSS JOIN LATERAL (SELECT * FROM offered o WHERE o.low >= c.f AND o.low < c.t AND o.schedule_id = ANY(c.schedules) ORDER BY o.low, o.id LIMIT ${limit}) o ORDER BY o.low, o.id LIMIT ${limit})`,
    );
  }
  // One row at least, so the lapsed holds are told even when no slot is found.
  const rows = await sql.query<{ lapsed: boolean; content: string | null; schedule_id: string; schedule: string; companion: string | null }>(
    `WITH ${ctes.join(', ')}
     SELECT h.lapsed, r.content, o.schedule_id, s.content AS schedule, o.companion
     FROM (SELECT EXISTS (SELECT 1 FROM slot_claim WHERE state = 'held' AND expires_at <= now()) AS lapsed) h
     LEFT JOIN (${branches.join(' UNION ALL ')}) o ON true
     LEFT JOIN resources r ON r.resource_type = 'Slot' AND r.id = o.id
     LEFT JOIN resources s ON s.resource_type = 'Schedule' AND s.id = o.schedule_id`,
    w.values,
    PREPARED,
  );
  // Most slots found share a few schedules: each is parsed once.
  const schedules = new Map<string, Schedule>();
  const scheduleOf = (id: string, content: string): Schedule => schedules.get(id) ?? schedules.set(id, JSON.parse(content) as Schedule).get(id)!;
  const slots = rows.flatMap((r) =>
    r.content === null ? [] : [{ slot: JSON.parse(r.content) as Slot & { id: string }, schedule: scheduleOf(r.schedule_id, r.schedule), ...(r.companion ? { companion: r.companion } : {}) }],
  );
  return { slots, lapsedHolds: rows[0]?.lapsed ?? false };
}

/** Midnight in London starting the day of `instant`, or `days` later (the SQL twin of london-time.ts). */
function londonMidnight(instant: string, days: number): string {
  return `((date_trunc('day', ${instant} AT TIME ZONE 'Europe/London')${days ? ` + interval '${days} day'` : ''}) AT TIME ZONE 'Europe/London')`;
}

/**
 * The patients' appointments (id, start, end, sites) that slots may not overlap; Appointment's date
 * parameter is its start. Found from the patients, then each checked for its date and status (OFFSET 0
 * keeps the plan, made once for every patient, from walking everyone's appointments in the window instead).
 */
function bookedSql(w: SqlWriter, q: NonNullable<FreeSlotQuery['patients']>): string {
  const slotSites =
    `SELECT ss.site FROM search_reference sl JOIN search_reference sc ON sc.resource_type = 'Slot' AND sc.id = sl.target_id AND sc.param = 'schedule' AND sc.target_type = 'Schedule' ` +
    `CROSS JOIN LATERAL (${actorSites('Schedule', 'sc.target_id')}) ss WHERE sl.resource_type = 'Appointment' AND sl.id = r.id AND sl.param = 'slot' AND sl.target_type = 'Slot'`;
  return `SELECT r.id, (r.content::json ->> 'start')::timestamptz AS start, (r.content::json ->> 'end')::timestamptz AS "end", ARRAY(${actorSites('Appointment', 'r.id')} UNION ${slotSites}) AS sites
       FROM resources r
       WHERE r.resource_type = 'Appointment' AND NOT r.deleted
         AND r.id IN (SELECT p.id FROM search_reference p WHERE p.resource_type = 'Appointment' AND p.param = 'patient' AND p.target_type = 'Patient' AND p.target_id = ANY(${w.p(q.ids)}::text[]))
         AND EXISTS (SELECT 1 FROM search_date d WHERE d.resource_type = 'Appointment' AND d.id = r.id AND d.param = 'date' AND d.low >= ${w.p(q.from)}::timestamptz AND d.low < ${w.p(q.to)}::timestamptz OFFSET 0)
         AND EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = 'Appointment' AND t.id = r.id AND t.param = 'status' AND t.code = ANY(${w.p(q.statuses)}::text[]) OFFSET 0)
         ${q.visible ? `AND ${q.visible}` : ''}
       LIMIT 500`;
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
