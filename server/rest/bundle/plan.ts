import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../../errors.js';
import type { FhirContext } from '../request.js';
import { checkId } from '../versioning.js';
import { conditionalTarget, criteria } from '../write.js';
import { entryPath, type EntryRequest } from './entry.js';
import { atEntry } from './errors.js';

/** Transaction processing order: https://hl7.org/fhir/R4/http.html#trules */
export const PHASES = ['DELETE', 'POST', 'PUT', 'GET'] as const;
export type Phase = (typeof PHASES)[number];
export const phaseOf = (e: EntryRequest): Phase =>
  e.request.method === 'PATCH' ? 'PUT' : e.request.method === 'HEAD' ? 'GET' : e.request.method;

/** An entry with the resource it writes, known before anything is written. */
export interface PlannedEntry extends EntryRequest {
  phase: Phase;
  /** The resource this entry deletes, creates, updates or patches, once conditions are resolved. */
  target?: { type: string; id: string };
  /** A create given its id up front, so references to its fullUrl can be rewritten first. */
  assignedId?: string;
  /** The criteria (`Type?a=b`) of a conditional create or update that matched nothing: it creates what they name. */
  createsFor?: string;
}

export const key = (t: { type: string; id: string }): string => `${t.type}/${t.id}`;

/**
 * Resolves what each write entry touches: conditional delete/update/patch and If-None-Exist are
 * searched now, inside the transaction, and the entry is rewritten to the plain interaction on the
 * one match; creates get their id. Then no two entries may touch the same resource
 * ("If any resource identities overlap in steps 1-3, then the transaction SHALL fail").
 */
export async function planIdentities(entries: EntryRequest[], ctx: FhirContext): Promise<PlannedEntry[]> {
  const planned: PlannedEntry[] = [];
  for (const entry of entries) {
    const phase = phaseOf(entry);
    try {
      const resolved = await resolveTarget(entry, phase, ctx);
      planned.push({ ...entry, phase, ...resolved });
    } catch (err) {
      throw atEntry(err, entry, entry.type);
    }
  }
  const sameTarget = firstClash(planned, (p) => (p.target && p.phase !== 'GET' ? key(p.target) : undefined));
  if (sameTarget) {
    const [p, other] = sameTarget;
    throw badRequest(
      `${entryPath(p.index)} (${p.label}) and ${entryPath(other.index)} (${other.label}) both write ${key(p.target!)}; a transaction may touch each resource once`,
      `${entryPath(p.index)}.request.url`,
    );
  }
  // Two conditional writes finding nothing for the same criteria would each create it: two resources the criteria then both match.
  const sameCriteria = firstClash(planned, (p) => p.createsFor);
  if (sameCriteria) {
    const [p, other] = sameCriteria;
    throw badRequest(
      `${entryPath(p.index)} and ${entryPath(other.index)} would both create the resource ${p.createsFor} names; a transaction may create it once`,
      `${entryPath(p.index)}.request.${p.phase === 'POST' ? 'ifNoneExist' : 'url'}`,
    );
  }
  return planned;
}

/** The first entry whose key an earlier entry has too, and that earlier one; entries without a key never clash. */
function firstClash(planned: PlannedEntry[], keyOf: (p: PlannedEntry) => string | undefined): [PlannedEntry, PlannedEntry] | undefined {
  const seen = new Map<string, PlannedEntry>();
  for (const p of planned) {
    const k = keyOf(p);
    if (k === undefined) continue;
    const other = seen.get(k);
    if (other) return [p, other];
    seen.set(k, p);
  }
  return undefined;
}

/** Conditional criteria as one key: `Patient?identifier=a|1` however the parameters were ordered. */
function criteriaKey(type: string, params: URLSearchParams): string {
  const sorted = new URLSearchParams(params);
  sorted.sort();
  return `${type}?${sorted}`;
}

async function resolveTarget(entry: EntryRequest, phase: Phase, ctx: FhirContext): Promise<Pick<PlannedEntry, 'target' | 'assignedId' | 'createsFor'>> {
  const { request: req, type, id } = entry;
  if (!type || phase === 'GET') return {};
  const segments = req.path.split('/').filter(Boolean);
  if (id) {
    if (segments.length !== 2 || phase === 'POST') return {}; // an operation or history url: no resource identity of its own
    checkId(id, `${entryPath(entry.index)}.request.url`);
    return { target: { type, id } };
  }
  if (segments.length !== 1) return {};
  if (phase === 'POST') {
    const assignedId = randomUUID();
    if (!req.headers.ifNoneExist) return { target: { type, id: assignedId }, assignedId };
    const conditions = criteria(req.headers.ifNoneExist);
    const existing = await conditionalTarget(ctx, type, conditions);
    if (existing) return { target: { type, id: existing } };
    return { target: { type, id: assignedId }, assignedId, createsFor: criteriaKey(type, conditions) };
  }
  // Conditional delete, update or patch: url `Type?criteria`.
  const conditions = criteria(req.query.toString());
  const match = await conditionalTarget(ctx, type, conditions);
  if (phase === 'DELETE') {
    if (!match) return {}; // nothing to delete: the interaction itself answers that
    return { target: onto(entry, type, match) };
  }
  if (req.method === 'PATCH') {
    if (!match) throw notFound(`No ${type} matches ${req.query}; nothing to patch`);
    return { target: onto(entry, type, match) };
  }
  const body = req.body as Resource;
  if (match && body.id && body.id !== match) {
    throw badRequest(`The id in the body (${body.id}) is not the id of the matching resource (${match})`, `${type}.id`);
  }
  const newId = match ?? body.id ?? randomUUID();
  checkId(newId, `${type}.id`);
  // PUT Type?criteria is now PUT Type/id; the body carries the id an update needs.
  req.body = { ...body, id: newId };
  return { target: onto(entry, type, newId), ...(match ? {} : { createsFor: criteriaKey(type, conditions) }) };
}

/** Rewrites a conditional entry to the plain interaction on the resource it resolved to. */
function onto(entry: EntryRequest, type: string, id: string): { type: string; id: string } {
  entry.request.path = `${type}/${encodeURIComponent(id)}`;
  entry.request.query = new URLSearchParams();
  entry.id = id;
  return { type, id };
}
