import { createHash } from 'node:crypto';
import type { Appointment, AppointmentParticipant, Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import { FhirError, badRequest } from '../errors.js';
import type { RowFilter } from '../search/row-filter.js';
import type { SearchEngine } from '../search/search.js';
import { SqlWriter } from '../search/sql-writer.js';
import type { Store } from '../store/store.js';
import { mayBook } from './booking-restriction.js';
import { type FreeSlot, type FreeSlotQuery, type FreeSlots, freeSlots } from './slot-query.js';
import { OCCUPYING, SAME_DAY_SAME_SITE, localId } from './vocabulary.js';

/** The inputs of Appointment/$find as IHE ITI-115 names them (https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find). */
export interface FindRequest {
  start: string;
  end: string;
  specialty: string[];
  visitType: string[];
  practitioner: string[];
  organization: string[];
  locationReference: string[];
  locationString: string[];
  patients: string[];
  count: number;
}

/** Score of a proposal on the day and at the site of one of the patient's appointments, and of the others. */
export const SCORE_SAME_DAY_SAME_SITE = 1;
export const SCORE_OTHER = 0.5;

/** Expires the holds that have lapsed (hold-expiry.ts), with the hub's own rights rather than the caller's. */
export interface LapsedHolds {
  expire(): Promise<unknown>;
}

/** What $find runs with: the store and search as the caller may use them (server/rest hands its context). */
export interface FindContext {
  store: Store;
  search: SearchEngine;
  baseUrl: string;
  access?: RowFilter & { principal: Principal };
}

/**
 * Proposed Appointments for free slots the caller may book: earliest first, those on a day and at a
 * site where the patient already has an appointment before all others (search.score and the
 * same-day-same-site extension say so); slots overlapping the patient's appointments are left out.
 * One statement finds the slots, with every filter applied and paged in SQL (slot-query.ts); when a
 * hold had lapsed, `holds` expires it and the slots are found again, as they now are.
 */
export async function findAppointments(ctx: FindContext, q: FindRequest, holds?: LapsedHolds): Promise<{ bundle: Bundle; proposals: Appointment[] }> {
  let found = await findFreeSlots(ctx, q);
  // A lapsed hold's slots are free once it is expired: then the slots are asked for again.
  if (found.lapsedHolds && holds) {
    await holds.expire();
    found = await findFreeSlots(ctx, q);
  }
  const caller = ctx.access?.principal;
  const seen = new Set<string>();
  const ranked = found.slots.map((f) => ({ f, companion: f.companion ? 0 : 1, start: Date.parse(f.slot.start) }));
  ranked.sort((x, y) => x.companion - y.companion || x.start - y.start || x.f.slot.id.localeCompare(y.f.slot.id));
  const candidates = ranked.map((r) => r.f).filter((f) => !seen.has(f.slot.id) && seen.add(f.slot.id) && mayBook(caller, f.slot, f.schedule));
  const proposals = candidates.slice(0, q.count).map((c) => proposal(c, q, caller));
  const entries: BundleEntry[] = proposals.map((p, i) => ({
    fullUrl: `${ctx.baseUrl}/Appointment/${p.id}`,
    resource: p,
    search: { mode: 'match', score: candidates[i].companion ? SCORE_SAME_DAY_SAME_SITE : SCORE_OTHER },
  }));
  return { bundle: searchset(ctx, entries), proposals };
}

/** The free slots that pass the request, companions of the patients' appointments marked; not yet checked against booking-restriction.ts. */
async function findFreeSlots(ctx: FindContext, q: FindRequest): Promise<FreeSlots> {
  const w = new SqlWriter(ctx.baseUrl, new Map());
  return freeSlots(ctx.store.sql, w, await slotQuery(ctx, w, q));
}

/** The request as SQL: the actor, specialty and visit-type filters, the caller's access and booking rights, the patient's appointments. */
async function slotQuery(ctx: FindContext, w: SqlWriter, q: FindRequest): Promise<FreeSlotQuery> {
  // Each $find parameter becomes search criteria; a value search cannot parse is a 400 naming the $find parameter.
  const criteria = async (param: string, type: 'Schedule' | 'Slot', pairs: Array<[string, string]>): Promise<string> => {
    try {
      return await ctx.search.criteriaSql(ctx.store.sql, w, type === 'Schedule' ? 's' : 'r', type, new URLSearchParams(pairs));
    } catch (err) {
      if (err instanceof FhirError && err.status === 400) throw badRequest(`${param}: ${err.outcome.issue[0]?.diagnostics ?? err.message}`, `Parameters.parameter.where(name = '${param}')`);
      throw err;
    }
  };
  const any = async (param: string, alternatives: Array<[string, string]>): Promise<string> => {
    const each: string[] = [];
    for (const pair of alternatives) each.push(await criteria(param, 'Schedule', [pair]));
    return `(${each.join(' OR ')})`;
  };
  const refs = (type: string, values: string[]): string => values.map((r) => `${type}/${localId(r, type) ?? r}`).join(',');
  const orText = (values: string[]): string => values.map((v) => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,')).join(',');

  const schedule: string[] = [];
  const slot: string[] = [];
  if (q.practitioner.length) {
    const p = refs('Practitioner', q.practitioner);
    schedule.push(await any('practitioner', [['actor', p], ['actor:PractitionerRole.practitioner', p]]));
  }
  if (q.organization.length) {
    const o = refs('Organization', q.organization);
    schedule.push(await any('organization', [['actor:PractitionerRole.organization', o], ['actor:HealthcareService.organization', o], ['actor:Location.organization', o]]));
  }
  if (q.locationReference.length || q.locationString.length) {
    const l = refs('Location', q.locationReference);
    const text = orText(q.locationString);
    const byReference: Array<[string, string]> = l ? [['actor', l], ['actor:PractitionerRole.location', l], ['actor:HealthcareService.location', l]] : [];
    const byAddress: Array<[string, string]> = text ? [['actor:Location.address', text], ['actor:PractitionerRole.location.address', text], ['actor:HealthcareService.location.address', text]] : [];
    schedule.push(await any(q.locationReference.length ? 'location-reference' : 'location-string', [...byReference, ...byAddress]));
  }
  // Specialty and visit type match the Schedule, and the Slot's own when it states one.
  for (const [param, values, code] of [['specialty', q.specialty, 'specialty'], ['visit-type', q.visitType, 'service-type']] as const) {
    if (!values.length) continue;
    const wanted = values.join(',');
    schedule.push(await criteria(param, 'Schedule', [[code, wanted]]));
    slot.push(`(${await criteria(param, 'Slot', [[`${code}:missing`, 'true']])} OR ${await criteria(param, 'Slot', [[code, wanted]])})`);
  }
  if (ctx.access) {
    slot.push(ctx.access.condition(w, 'r', 'Slot', 's'));
    schedule.push(ctx.access.condition(w, 's', 'Schedule', 'r'));
  }
  const caller = ctx.access?.principal;
  return {
    from: q.start,
    to: q.end,
    // Slots the SQL admits but booking-restriction.ts refuses are dropped afterwards: fetch a few more.
    limit: q.count + 10,
    schedule,
    slot,
    ...(caller && caller.kind !== 'admin' ? { bookableBy: { kind: caller.kind, org: caller.org } } : {}),
    ...(q.patients.length
      ? {
          patients: {
            ids: q.patients,
            statuses: [...OCCUPYING],
            // Appointment's date parameter is its start: look back a day for long appointments already running.
            from: new Date(Date.parse(q.start) - 24 * 3600_000).toISOString(),
            to: q.end,
            visible: ctx.access?.condition(w, 'r', 'Appointment', 's'),
          },
        }
      : {}),
  };
}

/** A proposal as the IHE Appointment profile (ihe-sched-appt) has it: status proposed, start, end, participants, the requested period. */
function proposal(c: FreeSlot, q: FindRequest, caller: Principal | undefined): Appointment {
  const { slot, schedule } = c;
  const participant: AppointmentParticipant[] = [
    ...(schedule.actor ?? []).map((actor) => ({ actor, status: 'needs-action' as const })),
    ...q.patients.map((p) => ({ actor: { reference: `Patient/${p}` }, status: 'needs-action' as const })),
  ];
  const appointment: Appointment = {
    resourceType: 'Appointment',
    id: proposalId([slot.id], q.patients, caller),
    status: 'proposed',
    ...(c.companion ? { extension: [{ url: SAME_DAY_SAME_SITE, valueReference: { reference: `Appointment/${c.companion}` } }] } : {}),
    ...(slot.serviceType ?? schedule.serviceType ? { serviceType: slot.serviceType ?? schedule.serviceType } : {}),
    ...(slot.specialty ?? schedule.specialty ? { specialty: slot.specialty ?? schedule.specialty } : {}),
    ...(slot.appointmentType ? { appointmentType: slot.appointmentType } : {}),
    start: slot.start,
    end: slot.end,
    slot: [{ reference: `Slot/${slot.id}` }],
    participant,
    requestedPeriod: [{ start: q.start, end: q.end }],
  };
  return appointment;
}

/** The same slots for the same patients and client give the same id, so repeating $find is harmless. */
function proposalId(slotIds: string[], patients: string[], caller: Principal | undefined): string {
  const digest = createHash('sha256').update(JSON.stringify([slotIds, patients, caller?.clientId ?? ''])).digest('hex');
  return `proposal-${digest.slice(0, 40)}`;
}

function searchset(ctx: FindContext, entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, link: [{ relation: 'self', url: `${ctx.baseUrl}/Appointment/$find` }], entry };
}
