import { createHash } from 'node:crypto';
import type { Appointment, AppointmentParticipant, Bundle, BundleEntry, CodeableConcept, HealthcareService, PractitionerRole, Reference, Resource, Schedule, Slot } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal.js';
import type { SearchEngine } from '../search/search.js';
import type { Store } from '../store/store.js';
import { mayBook } from './booking-restriction.js';
import { freeSlotsInWindow, resourcesByKey } from './slot-query.js';
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

const DAY_MS = 24 * 3600_000;

/** What $find runs with: the store and search as the caller may use them (server/rest hands its context). */
export interface FindContext {
  store: Store;
  search: SearchEngine;
  baseUrl: string;
  access?: { principal: Principal; unrestricted(type: string, permission: 's'): boolean };
}

interface Candidate {
  slot: Slot;
  schedule?: Schedule;
  /** The patient's appointment on that day at that site, if any. */
  companion?: string;
}

interface PatientAppointment {
  id: string;
  start: number;
  end: number;
  day: string;
  sites: Set<string>;
}

/**
 * Proposed Appointments for free slots the caller may book: earliest first, those on a day and at a
 * site where the patient already has an appointment before all others (search.score and the
 * same-day-same-site extension say so); slots overlapping the patient's appointments are left out.
 */
export async function findAppointments(ctx: FindContext, q: FindRequest): Promise<{ bundle: Bundle; proposals: Appointment[] }> {
  const caller = ctx.access?.principal;
  const schedules = await candidateSchedules(ctx, q);
  if (schedules?.size === 0) return { bundle: searchset(ctx, []), proposals: [] };
  const booked = await patientAppointments(ctx, q);
  const fetch = Math.min(1000, q.count * 5 + 20);
  const found = await freeSlots(ctx, schedules, q.start, q.end, fetch);
  // Days the patient is coming anyway: look at all of them, not only the earliest page.
  for (const day of new Set(booked.map((a) => a.day))) {
    const from = maxIso(q.start, `${day}T00:00:00Z`);
    const to = minIso(q.end, new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString());
    if (Date.parse(from) < Date.parse(to)) mergeInto(found, await freeSlots(ctx, schedules, from, to, fetch));
  }
  const sites = new SiteResolver(ctx, found.included);
  const candidates: Candidate[] = [];
  for (const slot of found.slots.values()) {
    if (Date.parse(slot.end) > Date.parse(q.end)) continue;
    const schedule = found.included.get(`Schedule/${localId(slot.schedule, 'Schedule')}`) as Schedule | undefined;
    if (!fits(slot, schedule, q) || !mayBook(caller, slot, schedule)) continue;
    const start = Date.parse(slot.start);
    const end = Date.parse(slot.end);
    if (booked.some((a) => a.start < end && a.end > start)) continue;
    const slotSites = await sites.ofActors(schedule?.actor ?? []);
    const companion = booked.find((a) => a.day === slot.start.slice(0, 10) && [...slotSites].some((s) => a.sites.has(s)));
    candidates.push({ slot, schedule, companion: companion?.id });
  }
  candidates.sort((a, b) => Number(!!b.companion) - Number(!!a.companion) || Date.parse(a.slot.start) - Date.parse(b.slot.start) || String(a.slot.id).localeCompare(String(b.slot.id)));
  const proposals = candidates.slice(0, q.count).map((c) => proposal(c, q.patients, caller));
  const entries: BundleEntry[] = proposals.map((p, i) => ({
    fullUrl: `${ctx.baseUrl}/Appointment/${p.id}`,
    resource: p,
    search: { mode: 'match', score: candidates[i].companion ? SCORE_SAME_DAY_SAME_SITE : SCORE_OTHER },
  }));
  return { bundle: searchset(ctx, entries), proposals };
}

/** Schedules the actor parameters admit (AND across parameters, OR within one); undefined = all. */
async function candidateSchedules(ctx: FindContext, q: FindRequest): Promise<Set<string> | undefined> {
  const ids = async (type: string, pairs: Array<[string, string]>): Promise<string[]> => ctx.search.matchIds(ctx.store.sql, type, new URLSearchParams(pairs), 10_000);
  const union = async (queries: Array<[string, Array<[string, string]>]>): Promise<Set<string>> => {
    const all = new Set<string>();
    for (const [type, pairs] of queries) for (const id of await ids(type, pairs)) all.add(id);
    return all;
  };
  const sets: Set<string>[] = [];
  const locations = [...q.locationReference.map((r) => `Location/${localId(r, 'Location') ?? r}`)];
  for (const text of q.locationString) locations.push(...(await ids('Location', [['address', text]])).map((id) => `Location/${id}`));
  if (q.practitioner.length) {
    const refs = q.practitioner.map((r) => `Practitioner/${localId(r, 'Practitioner') ?? r}`);
    sets.push(await union(refs.flatMap((r) => [['Schedule', [['actor', r]]], ['Schedule', [['actor:PractitionerRole.practitioner', r]]]] as Array<[string, Array<[string, string]>]>)));
  }
  if (q.organization.length) {
    const refs = q.organization.map((r) => `Organization/${localId(r, 'Organization') ?? r}`);
    sets.push(
      await union(
        refs.flatMap((r) => [
          ['Schedule', [['actor:PractitionerRole.organization', r]]],
          ['Schedule', [['actor:HealthcareService.organization', r]]],
          ['Schedule', [['actor:Location.organization', r]]],
        ]) as Array<[string, Array<[string, string]>]>,
      ),
    );
  }
  if (q.locationReference.length || q.locationString.length) {
    sets.push(
      await union(
        locations.flatMap((r) => [
          ['Schedule', [['actor', r]]],
          ['Schedule', [['actor:PractitionerRole.location', r]]],
          ['Schedule', [['actor:HealthcareService.location', r]]],
        ]) as Array<[string, Array<[string, string]>]>,
      ),
    );
  }
  if (q.specialty.length) sets.push(new Set(await ids('Schedule', [['specialty', q.specialty.join(',')]])));
  if (q.visitType.length) sets.push(new Set(await ids('Schedule', [['service-type', q.visitType.join(',')]])));
  if (!sets.length) return undefined;
  return sets.reduce((acc, s) => new Set([...acc].filter((id) => s.has(id))));
}

interface FoundSlots {
  slots: Map<string, Slot>;
  included: Map<string, Resource>;
}

async function freeSlots(ctx: FindContext, schedules: Set<string> | undefined, from: string, to: string, count: number): Promise<FoundSlots> {
  if (!ctx.access || ctx.access.unrestricted('Slot', 's')) {
    const slots = await freeSlotsInWindow(ctx.store.sql, from, to, schedules && [...schedules], count);
    const scheduleKeys = new Set(slots.map((s) => `Schedule/${localId(s.schedule, 'Schedule')}`));
    const included = await resourcesByKey(ctx.store.sql, scheduleKeys);
    const actorKeys = [...included.values()].flatMap((r) => ((r as Schedule).actor ?? []).map((a) => a.reference ?? '')).filter((k) => /^[A-Za-z]+\/[^/]+$/.test(k));
    for (const [k, v] of await resourcesByKey(ctx.store.sql, actorKeys)) included.set(k, v);
    return { slots: new Map(slots.map((s) => [s.id as string, s])), included };
  }
  // A policy that filters Slots: the generic search applies it.
  const params = new URLSearchParams([
    ['status', 'free'],
    ['start', `ge${from}`],
    ['start', `lt${to}`],
    ['_sort', 'start'],
    ['_count', String(count)],
    ['_total', 'none'],
    ['_include', 'Slot:schedule'],
    ['_include:iterate', 'Schedule:actor'],
  ]);
  if (schedules) params.set('schedule', [...schedules].map((id) => `Schedule/${id}`).join(','));
  const bundle = await ctx.search.search({ sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: false }, 'Slot', params);
  const found: FoundSlots = { slots: new Map(), included: new Map() };
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (!r?.id) continue;
    if (entry.search?.mode === 'match' && r.resourceType === 'Slot') found.slots.set(r.id, r);
    else found.included.set(`${r.resourceType}/${r.id}`, r);
  }
  return found;
}

function mergeInto(into: FoundSlots, more: FoundSlots): void {
  for (const [k, v] of more.slots) into.slots.set(k, v);
  for (const [k, v] of more.included) into.included.set(k, v);
}

/** A slot that states its own service type or specialty must match the request too (the schedule matched already). */
function fits(slot: Slot, schedule: Schedule | undefined, q: FindRequest): boolean {
  const matches = (concepts: CodeableConcept[] | undefined, wanted: string[]): boolean =>
    !wanted.length || !concepts?.length || concepts.some((c) => c.coding?.some((cd) => wanted.some((w) => tokenMatches(w, cd.system, cd.code))));
  return matches(slot.serviceType ?? schedule?.serviceType, q.visitType) && matches(slot.specialty ?? schedule?.specialty, q.specialty);
}

function tokenMatches(token: string, system: string | undefined, code: string | undefined): boolean {
  return token
    .split(',')
    .some((t) => (t.includes('|') ? t === `${system ?? ''}|${code}` || (t.startsWith('|') && t.slice(1) === code && !system) : t === code));
}

/** The patient's booked and pending appointments that could overlap or share a day with the window. */
async function patientAppointments(ctx: FindContext, q: FindRequest): Promise<PatientAppointment[]> {
  if (!q.patients.length) return [];
  const result: PatientAppointment[] = [];
  const from = new Date(Date.parse(q.start) - DAY_MS).toISOString();
  for (const patient of q.patients) {
    const params = new URLSearchParams([
      ['patient', `Patient/${patient}`],
      ['status', [...OCCUPYING].join(',')],
      ['date', `ge${from}`],
      ['date', `lt${q.end}`],
      ['_count', '200'],
      ['_total', 'none'],
      ['_include', 'Appointment:slot'],
      ['_include:iterate', 'Slot:schedule'],
      ['_include:iterate', 'Schedule:actor'],
    ]);
    const bundle = await ctx.search.search({ sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: false }, 'Appointment', params);
    const included = new Map((bundle.entry ?? []).filter((e) => e.search?.mode !== 'match' && e.resource?.id).map((e) => [`${e.resource?.resourceType}/${e.resource?.id}`, e.resource as Resource]));
    const sites = new SiteResolver(ctx, included);
    for (const entry of bundle.entry ?? []) {
      const a = entry.resource as Appointment;
      if (entry.search?.mode !== 'match' || !a.start || !a.end) continue;
      const actors: Reference[] = (a.participant ?? []).flatMap((p) => (p.actor ? [p.actor as Reference] : []));
      for (const slotRef of a.slot ?? []) {
        const slot = included.get(`Slot/${localId(slotRef, 'Slot')}`) as Slot | undefined;
        const schedule = slot && (included.get(`Schedule/${localId(slot.schedule, 'Schedule')}`) as Schedule | undefined);
        actors.push(...(schedule?.actor ?? []));
      }
      result.push({ id: a.id as string, start: Date.parse(a.start), end: Date.parse(a.end), day: a.start.slice(0, 10), sites: await sites.ofActors(actors) });
    }
  }
  return result;
}

/** The Locations (sites) actors work at: a Location itself, or the locations of a PractitionerRole or HealthcareService. */
class SiteResolver {
  constructor(
    private readonly ctx: FindContext,
    private readonly known: Map<string, Resource>,
  ) {}

  async ofActors(actors: Reference[]): Promise<Set<string>> {
    const sites = new Set<string>();
    for (const actor of actors) {
      const location = localId(actor, 'Location');
      if (location) {
        sites.add(location);
        continue;
      }
      const key = ['PractitionerRole', 'HealthcareService'].map((t) => (localId(actor, t) ? `${t}/${localId(actor, t)}` : '')).find(Boolean);
      if (!key) continue;
      const resource = (this.known.get(key) ?? (await this.load(key))) as PractitionerRole | HealthcareService | undefined;
      for (const l of resource?.location ?? []) {
        const id = localId(l, 'Location');
        if (id) sites.add(id);
      }
    }
    return sites;
  }

  private async load(key: string): Promise<Resource | undefined> {
    const [type, id] = key.split('/');
    const version = await this.ctx.store.read(type, id);
    const resource = version && !version.deleted && version.content ? (JSON.parse(version.content) as Resource) : undefined;
    if (resource) this.known.set(key, resource);
    return resource;
  }
}

function proposal(c: Candidate, patients: string[], caller: Principal | undefined): Appointment {
  const { slot, schedule } = c;
  const participant: AppointmentParticipant[] = [
    ...(schedule?.actor ?? []).map((actor) => ({ actor, status: 'needs-action' as const })),
    ...patients.map((p) => ({ actor: { reference: `Patient/${p}` }, status: 'needs-action' as const })),
  ];
  const appointment: Appointment = {
    resourceType: 'Appointment',
    id: proposalId([slot.id as string], patients, caller),
    status: 'proposed',
    ...(c.companion ? { extension: [{ url: SAME_DAY_SAME_SITE, valueReference: { reference: `Appointment/${c.companion}` } }] } : {}),
    ...(slot.serviceType ?? schedule?.serviceType ? { serviceType: slot.serviceType ?? schedule?.serviceType } : {}),
    ...(slot.specialty ?? schedule?.specialty ? { specialty: slot.specialty ?? schedule?.specialty } : {}),
    ...(slot.appointmentType ? { appointmentType: slot.appointmentType } : {}),
    start: slot.start,
    end: slot.end,
    slot: [{ reference: `Slot/${slot.id}` }],
    participant,
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

function maxIso(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function minIso(a: string, b: string): string {
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
