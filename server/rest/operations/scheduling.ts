import { createHash, randomUUID } from 'node:crypto';
import type { Appointment, Bundle, ParametersParameter } from '@medplum/fhirtypes';
import { FhirError, badRequest, issue, notFound, outcome } from '../../errors.js';
import { findAppointments, type FindRequest } from '../../scheduling/find.js';
import { expireDueHolds } from '../../scheduling/hold-expiry.js';
import { BOOKING_CLIENT, DEFAULT_HOLD_MINUTES, HOLD_EXPIRES, MAX_HOLD_MINUTES, OCCUPYING, bookingClientOf, localId } from '../../scheduling/vocabulary.js';
import { primitiveProblem } from '../../../profiles/primitives.js';
import { validateResource } from '../../../profiles/validator.js';
import type { Operation } from '../operations.js';
import type { FhirContext, FhirRequest, FhirResponse } from '../request.js';
import { checkId } from '../versioning.js';
import { localReference, localReferences } from '../local-references.js';
import { parametersBody } from './parameters.js';

// IHE ITI Scheduling for R4 (https://profiles.ihe.net/ITI/Scheduling): Find Appointments [ITI-115],
// Hold Appointment [ITI-116], Book Appointment [ITI-117]. The slot rules themselves live on the write
// path (server/scheduling/slot-claims.ts), so a plain POST of a booked Appointment obeys them too.

const IHE = 'https://profiles.ihe.net/ITI/Scheduling/OperationDefinition';
/** The appointment-find inputs $find uses (patient-resource, reason, referral-identifier, timing and insurance-reference it does not). */
const FIND_PARAMETERS = ['start', 'end', 'specialty', 'visit-type', 'practitioner', 'organization', 'location-string', 'location-reference', 'patient-reference'];

export const findOperation: Operation = {
  name: 'find',
  type: true,
  idempotent: true,
  resourceTypes: ['Appointment'],
  definition: `${IHE}/appointment-find`,
  async handler(req, ctx) {
    ctx.access?.require('Slot', 's');
    const params = inputs(req, ctx);
    const q = findRequest(params);
    // The patient the appointments are for is one this server holds (and the client may read).
    for (const id of q.patients) {
      const patient = await ctx.store.read('Patient', id);
      if (!patient || patient.deleted) throw badRequest(`patient-reference Patient/${id} does not name a Patient on this server`, "Parameters.parameter.where(name = 'patient-reference')");
    }
    // Lapsed holds are expired on the way (the statement that finds the slots says when there are any).
    const { bundle, proposals } = await findAppointments(ctx, q, { expire: () => expireDueHolds(ctx.hub) });
    // The IHE bundle profile carries an OperationOutcome entry for what the server did not use (e.g. reason, timing).
    const ignored = [...params.keys()].filter((name) => !FIND_PARAMETERS.includes(name) && !name.startsWith('_'));
    if (ignored.length) {
      const warning = issue('not-supported', `$find does not use ${ignored.join(', ')}: the proposals do not take ${ignored.length > 1 ? 'them' : 'it'} into account`, `Parameters.parameter.where(name = '${ignored[0]}')`, 'warning');
      (bundle.entry ??= []).push({ resource: outcome(warning), search: { mode: 'outcome' } });
    }
    if (proposals.length) {
      // Remembered so $hold and $book can take an `appointment-reference` to one (IHE's usual flow):
      // a cache in an unlogged table (migration 130), one statement. In id order, so concurrent finds
      // offering the same slots take their row locks in one order. One JSON array: each element's text
      // is the proposal's JSON as stored (a text[] parameter would escape every quote in it).
      const byId = [...proposals].sort((a, b) => String(a.id).localeCompare(String(b.id)));
      await ctx.hub.sql.query(
        `INSERT INTO appointment_proposal (id, content) SELECT p ->> 'id', p::text FROM json_array_elements($1::json) p
         ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, created_at = now()`,
        [JSON.stringify(byId)],
        { prepared: true },
      );
    }
    return { status: 200, body: bundle };
  },
};

export const holdOperation: Operation = {
  name: 'hold',
  type: true,
  resourceTypes: ['Appointment'],
  definition: `${IHE}/appointment-hold`,
  handler: (req, ctx) => holdOrBook(req, ctx, 'pending'),
};

export const bookOperation: Operation = {
  name: 'book',
  type: true,
  resourceTypes: ['Appointment'],
  definition: `${IHE}/appointment-book`,
  handler: (req, ctx) => holdOrBook(req, ctx, 'booked'),
};

/**
 * $hold: the appointment becomes pending and its slots busy-tentative until `hold-minutes` pass
 * (default 5, at most 30). $book: it becomes booked and its slots busy. Either takes the appointment
 * as `appointment-reference` (one $find proposed, or one held) or `appointment-resource`.
 */
async function holdOrBook(req: FhirRequest, ctx: FhirContext, status: 'pending' | 'booked'): Promise<FhirResponse> {
  const op = status === 'pending' ? '$hold' : '$book';
  const params = inputs(req, ctx);
  // Every input checked before anything is read.
  const heldUntil = status === 'pending' ? holdUntil(params) : undefined;
  const clientId = ctx.access?.principal.clientId ?? 'anonymous';
  await expireDueHolds(ctx.hub);
  const { appointment, existing } = await resolveAppointment(ctx, params, op, clientId);
  if (existing) {
    const current = JSON.parse(existing.content) as Appointment;
    const mine = bookingClientOf(current) === clientId;
    if (current.status === 'booked' && status === 'booked' && mine) return answer(ctx, current, 200); // repeated booking
    if (current.status === 'booked') throw taken(`Appointment/${current.id} is already booked`, current);
    if (current.status === 'pending' && !mine) throw taken(`Appointment/${current.id} is held by another client`, current);
    if (current.status !== 'pending' && current.status !== 'proposed') throw taken(`Appointment/${current.id} is ${current.status}; find a new appointment`, current);
  }
  const next: Appointment = {
    ...appointment,
    status,
    meta: { ...appointment.meta, tag: [...(appointment.meta?.tag ?? []).filter((t) => t.system !== BOOKING_CLIENT), { system: BOOKING_CLIENT, code: clientId }] },
    extension: [...(appointment.extension ?? []).filter((e) => e.url !== HOLD_EXPIRES), ...(heldUntil ? [{ url: HOLD_EXPIRES, valueInstant: heldUntil }] : [])],
  };
  if (!next.extension?.length) delete next.extension;
  // What is written must stand as a write would: a proposed appointment may lack its times, a held or booked one may not (app-3).
  validateResource(next);
  try {
    const written = existing ? await ctx.store.update({ ...next, id: existing.id }, existing.versionId) : await ctx.store.create(next, appointment.id);
    return answer(ctx, written.resource as Appointment, 200);
  } catch (err) {
    // Another request wrote this appointment between our read and our write: it won.
    if (err instanceof FhirError && (err.status === 412 || (err.status === 409 && err.message.includes('already exists')))) {
      throw taken(`Appointment/${appointment.id} was held or booked by another request at the same time`, appointment);
    }
    throw err;
  }
}

interface ResolvedAppointment {
  appointment: Appointment;
  existing?: { id: string; versionId: number; content: string };
}

async function resolveAppointment(ctx: FhirContext, params: Map<string, ParametersParameter[]>, op: string, clientId: string): Promise<ResolvedAppointment> {
  const reference = params.get('appointment-reference')?.[0];
  const resource = params.get('appointment-resource')?.[0]?.resource;
  if (!!reference === !!resource) throw badRequest(`${op} takes exactly one of appointment-reference or appointment-resource`, 'Parameters.parameter');
  if (resource && resource.resourceType !== 'Appointment') throw badRequest('appointment-resource must be an Appointment', "Parameters.parameter.where(name = 'appointment-resource').resource");
  // As any write would check it, before its id, slots and participants are read: the id names the stored resource.
  if (resource) localReferences(validateResource(resource), [ctx.baseUrl, ctx.requestBase ?? '']);
  if (resource?.id !== undefined) checkId(resource.id, 'Appointment.id');
  if (reference && typeof reference.valueReference?.reference !== 'string' && typeof reference.valueString !== 'string') {
    throw badRequest('appointment-reference takes a valueReference or a valueString', "Parameters.parameter.where(name = 'appointment-reference')");
  }
  const ref = reference ? (reference.valueReference?.reference ?? reference.valueString) : undefined;
  if (reference && !ref) throw badRequest('appointment-reference is empty: it names the Appointment to take', "Parameters.parameter.where(name = 'appointment-reference')");
  const id = ref ? localId(ref, 'Appointment') : ((resource as Appointment).id ?? repeatableId(clientId, resource as Appointment));
  if (ref && !id) throw badRequest(`appointment-reference '${ref}' does not name an Appointment on this server`, "Parameters.parameter.where(name = 'appointment-reference')");
  const stored = id ? await ctx.store.read('Appointment', id) : undefined;
  const existing = stored && !stored.deleted && stored.content ? { id: stored.id, versionId: stored.versionId, content: stored.content } : undefined;
  if (resource) {
    const appointment = { ...(resource as Appointment), id };
    // The same request again finds what the first made; once that was cancelled, the slots may be taken anew.
    if (!(resource as Appointment).id && existing && !OCCUPYING.has((JSON.parse(existing.content) as Appointment).status)) return { appointment: { ...appointment, id: randomUUID() } };
    return { appointment, existing };
  }
  if (existing) return { appointment: JSON.parse(existing.content) as Appointment, existing };
  const rows = await ctx.hub.sql.query<{ content: string }>('SELECT content FROM appointment_proposal WHERE id = $1', [id]);
  if (!rows.length) throw notFound(`Appointment/${id} is neither an appointment nor a proposal of $find on this server (proposals are kept a day)`);
  return { appointment: JSON.parse(rows[0].content) as Appointment };
}

/** An appointment-resource without an id gets one from the client, its slots and its participants, so a retried request is recognised. */
function repeatableId(clientId: string, appointment: Appointment): string {
  const slots = (appointment.slot ?? []).map((r) => r.reference ?? '').sort();
  const actors = (appointment.participant ?? []).map((p) => p.actor?.reference ?? '').sort();
  return `booking-${createHash('sha256').update(JSON.stringify([clientId, slots, actors, appointment.start, appointment.end])).digest('hex').slice(0, 40)}`;
}

function holdUntil(params: Map<string, ParametersParameter[]>): string {
  const given = params.get('hold-minutes')?.[0];
  const raw = given?.valueInteger ?? given?.valueDecimal ?? (given?.valueString !== undefined ? Number(given.valueString) : undefined);
  // Given in a form that holds no number (valueBoolean, a valueInteger that is text) is no number of minutes, not the default.
  const minutes = given === undefined ? DEFAULT_HOLD_MINUTES : raw;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_HOLD_MINUTES) {
    throw badRequest(`hold-minutes must be more than 0 and at most ${MAX_HOLD_MINUTES}`, "Parameters.parameter.where(name = 'hold-minutes')");
  }
  return new Date(Date.now() + minutes * 60_000).toISOString();
}

function taken(diagnostics: string, appointment: Appointment): FhirError {
  const slots = (appointment.slot ?? []).map((s) => s.reference).join(', ');
  return new FhirError(409, outcome(issue('conflict', `${diagnostics}${slots ? ` (slots ${slots})` : ''}`, 'Appointment.slot', 'fatal')));
}

function answer(ctx: FhirContext, appointment: Appointment, status: number): FhirResponse {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 1,
    entry: [{ fullUrl: `${ctx.baseUrl}/Appointment/${appointment.id}`, resource: appointment, search: { mode: 'match' } }],
  };
  return { status, body: bundle };
}

/** Operation inputs by name: query-string values as valueString, then the Parameters body's; references to this server made relative. */
function inputs(req: FhirRequest, ctx: FhirContext): Map<string, ParametersParameter[]> {
  const byName = new Map<string, ParametersParameter[]>();
  const bases = [ctx.baseUrl, ctx.requestBase ?? ''];
  const add = (given: ParametersParameter): void => {
    const p = { ...given };
    if (typeof p.valueString === 'string') p.valueString = localReference(p.valueString, bases);
    if (typeof p.valueReference?.reference === 'string') p.valueReference = { ...p.valueReference, reference: localReference(p.valueReference.reference, bases) };
    byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  };
  for (const [name, value] of req.query) add({ name, valueString: value });
  for (const p of parametersBody(req)?.parameter ?? []) add(p);
  return byName;
}

function findRequest(params: Map<string, ParametersParameter[]>): FindRequest {
  const texts = (name: string): string[] =>
    (params.get(name) ?? []).flatMap((p) => {
      const v = p.valueReference?.reference ?? p.valueString ?? p.valueCode ?? p.valueDateTime ?? p.valueDate ?? p.valueUri ?? (p.valueInteger !== undefined ? String(p.valueInteger) : undefined);
      return v === undefined ? [] : [v];
    });
  const at = (name: string): string => `Parameters.parameter.where(name = '${name}')`;
  const instant = (name: string): string => {
    const [value, extra] = texts(name);
    if (value === undefined) throw badRequest(`$find needs ${name} (dateTime)`, at(name));
    if (extra !== undefined) throw badRequest(`$find takes one ${name}`, at(name));
    const problem = primitiveProblem('dateTime', value) ?? (value.length >= 10 ? undefined : `${name} needs a day at least`);
    if (problem) throw badRequest(`${name}: ${problem}`, at(name));
    return value.length === 10 ? `${value}T00:00:00Z` : value;
  };
  const start = instant('start');
  const end = instant('end');
  if (Date.parse(start) >= Date.parse(end)) throw badRequest(`end (${end}) must be after start (${start})`, at('end'));
  const countText = texts('_count')[0];
  const count = countText === undefined ? 10 : Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw badRequest(`_count must be a whole number from 1 to 1000`, at('_count'));
  const patients = texts('patient-reference').map((r) => {
    const id = localId(r, 'Patient');
    if (!id) throw badRequest(`patient-reference '${r}' does not name a Patient on this server`, at('patient-reference'));
    return id;
  });
  return {
    start,
    end,
    specialty: texts('specialty'),
    visitType: texts('visit-type'),
    practitioner: texts('practitioner'),
    organization: texts('organization'),
    locationReference: texts('location-reference'),
    locationString: texts('location-string'),
    patients,
    count,
  };
}
