import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { withinCareDates } from '../../care/care-dates.js';
import { patientCompartment } from '../../care/compartment-walk.js';
import { referencedResources } from '../../care/references.js';
import { badRequest, notFound } from '../../errors.js';
import { primitiveProblem } from '../../../profiles/primitives.js';
import { isKnownResourceType } from '../../../profiles/validator.js';
import type { Operation } from '../operations.js';
import type { FhirContext, FhirRequest } from '../request.js';
import { parseContent } from '../versioning.js';
import { operationParams } from './parameters.js';

// What a joined-up record needs beside the compartment: who is involved, where, and with what medicine.
const REFERENCED_TYPES = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Medication', 'HealthcareService']);
const MAX_PATIENTS = 1000;

/** Patient/$everything at instance and type level: https://hl7.org/fhir/R4/patient-operation-everything.html */
export const everythingOperation: Operation = {
  name: 'everything',
  type: true,
  instance: true,
  idempotent: true,
  resourceTypes: ['Patient'],
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  async handler(req, ctx, { id }) {
    const params = operationParams(req);
    const patients = id ? [id] : await ctx.search.matchIds(ctx.store.sql, 'Patient', new URLSearchParams(), MAX_PATIENTS + 1);
    if (patients.length > MAX_PATIENTS) throw badRequest(`Type-level $everything covers at most ${MAX_PATIENTS} patients; use $export for more`);
    if (id) {
      const patient = await ctx.store.read('Patient', id);
      if (!patient || patient.deleted) throw notFound(`Patient/${id} is not known`);
    }
    const entries: BundleEntry[] = [];
    const seen = new Set<string>();
    const add = (resource: Resource, mode: 'match' | 'include'): void => {
      const key = `${resource.resourceType}/${resource.id}`;
      if (seen.has(key)) return;
      seen.add(key);
      entries.push({ fullUrl: `${ctx.baseUrl}/${key}`, resource, search: { mode } });
    };
    for (const patientId of patients) {
      const compartment = await compartmentOf(req, ctx, patientId, params);
      const patient = (await ctx.store.read('Patient', patientId)) as { content?: string };
      if (patient.content) add(JSON.parse(patient.content) as Resource, 'match');
      compartment.forEach((r) => add(r, 'match'));
      const referenced = await ctx.store.readMany(referencedResources(compartment, REFERENCED_TYPES, ctx.baseUrl));
      // PractitionerRoles point on to their practitioner, organisation and site: one more hop.
      const roles = referenced.map(parseContent).filter((r) => r.resourceType === 'PractitionerRole');
      const second = await ctx.store.readMany(referencedResources(roles, REFERENCED_TYPES, ctx.baseUrl));
      [...referenced, ...second].map(parseContent).forEach((r) => add(r, 'include'));
    }
    return { status: 200, body: page(entries, req, ctx, id) };
  },
};

async function compartmentOf(req: FhirRequest, ctx: FhirContext, patientId: string, params: URLSearchParams): Promise<Resource[]> {
  const filter = new URLSearchParams();
  const since = params.get('_since');
  if (since) filter.set('_lastUpdated', `ge${since}`);
  const searchCtx = { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: !!req.headers.strict };
  const all = await patientCompartment(ctx.search, searchCtx, patientId, filter);
  const types = params.get('_type')?.split(',').map((t) => t.trim());
  const unknown = types?.filter((t) => !isKnownResourceType(t));
  if (unknown?.length) throw badRequest(`_type names unknown resource type(s): ${unknown.map((t) => `'${t}'`).join(', ')}`, '_type');
  // The accesses to the record, when asked for by name.
  if (types?.includes('AuditEvent')) all.push(...(await patientCompartment(ctx.search, searchCtx, patientId, filter, 'AuditEvent')));
  const start = dateParam(params, 'start');
  const end = dateParam(params, 'end', true);
  return all.filter((r) => r.resourceType !== 'Patient' || r.id !== patientId).filter((r) => (!types || types.includes(r.resourceType)) && withinCareDates(r, start, end));
}

function dateParam(params: URLSearchParams, name: string, endOfRange = false): number | undefined {
  const value = params.get(name);
  if (!value) return undefined;
  const t = Date.parse(value);
  const problem = primitiveProblem('dateTime', value);
  if (problem || Number.isNaN(t)) throw badRequest(`${name} must be a date: ${problem ?? value}`, name);
  if (!endOfRange) return t;
  // A partial date as an end means the end of that day, month or year.
  const d = new Date(t);
  if (value.length === 4) d.setUTCFullYear(d.getUTCFullYear() + 1);
  else if (value.length === 7) d.setUTCMonth(d.getUTCMonth() + 1);
  else if (value.length === 10) d.setUTCDate(d.getUTCDate() + 1);
  else return t;
  return d.getTime() - 1;
}

/** _count pages over the assembled record; `_offset` marks where a page starts. */
function page(entries: BundleEntry[], req: FhirRequest, ctx: FhirContext, id?: string): Bundle {
  const params = operationParams(req);
  const count = params.get('_count') ? Number(params.get('_count')) : entries.length;
  if (!Number.isInteger(count) || count < 0) throw badRequest(`_count must be a non-negative integer`, '_count');
  const offset = Number(params.get('_offset') ?? 0);
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('_offset must be a non-negative integer', '_offset');
  const base = `${ctx.baseUrl}/Patient${id ? `/${id}` : ''}/$everything`;
  const at = (o: number): string => {
    const q = new URLSearchParams(params);
    q.delete('_offset');
    if (o) q.set('_offset', String(o));
    return `${base}${q.size ? `?${q}` : ''}`;
  };
  const link: Bundle['link'] = [{ relation: 'self', url: at(offset) }, { relation: 'first', url: at(0) }];
  if (offset + count < entries.length && count > 0) link.push({ relation: 'next', url: at(offset + count) });
  if (offset > 0) link.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
  return { resourceType: 'Bundle', type: 'searchset', total: entries.length, link, entry: entries.slice(offset, offset + count) };
}
