import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../errors.js';
import type { HistoryQuery, ResourceVersion } from '../store/store.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { checkId, etag, parseContent } from './versioning.js';
import { storableTime } from '../store/timestamp-text.js';
import { isCalendarDate } from '../fhir/calendar.js';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;

/** history at instance, type and system level: https://hl7.org/fhir/R4/http.html#history */
export async function history(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  if (p.id) checkId(p.id);
  const query: HistoryQuery = { resourceType: p.type, id: p.id, count: count(req.query.get('_count')) };
  const since = req.query.get('_since');
  if (since) query.since = instant(since, '_since');
  const at = req.query.get('_at');
  if (at) query.at = dateRange(at);
  const cursor = req.query.get('_cursor');
  if (cursor) query.cursor = cursor;

  // A resource never written, or one the client may not read, has no history it may see: 404, as a read would be.
  if (p.id && !(await ctx.store.read(p.type, p.id))) throw notFound(`${p.type}/${p.id} is not known`);
  const page = await ctx.store.history(query);
  const path = [p.type, p.id, '_history'].filter(Boolean).join('/');
  const self = new URLSearchParams(req.query);
  const link: Bundle['link'] = [{ relation: 'self', url: `${ctx.baseUrl}/${path}${self.size ? `?${self}` : ''}` }];
  if (page.nextCursor) {
    const next = new URLSearchParams(req.query);
    next.set('_cursor', page.nextCursor);
    link.push({ relation: 'next', url: `${ctx.baseUrl}/${path}?${next}` });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', total: page.total, link, entry: page.versions.map((v) => entry(v, ctx.baseUrl)) };
  return { status: 200, body: bundle };
}

/** A history entry says what was done (request) and with what result (response). */
function entry(v: ResourceVersion, baseUrl: string): BundleEntry {
  const e: BundleEntry = { fullUrl: `${baseUrl}/${v.resourceType}/${v.id}` };
  if (v.deleted) {
    e.request = { method: 'DELETE', url: `${v.resourceType}/${v.id}` };
    e.response = { status: '204 No Content', etag: etag(v.versionId), lastModified: v.lastUpdated.toISOString() };
    return e;
  }
  e.resource = parseContent(v);
  const created = v.versionId === 1;
  e.request = created ? { method: 'POST', url: v.resourceType } : { method: 'PUT', url: `${v.resourceType}/${v.id}` };
  e.response = { status: created ? '201 Created' : '200 OK', etag: etag(v.versionId), lastModified: v.lastUpdated.toISOString() };
  return e;
}

export function count(value: string | null): number {
  if (value === null) return DEFAULT_COUNT;
  if (!/^\d+$/.test(value)) throw badRequest(`_count must be a non-negative integer; got '${value}'`, '_count');
  return Math.min(Number(value), MAX_COUNT);
}

function instant(value: string, param: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/.test(value) || Number.isNaN(t) || !storableTime(t) || !isCalendarDate(value)) {
    throw badRequest(`${param} must be a FHIR instant or date; got '${value}'`, param);
  }
  return new Date(t);
}

/** The implicit range of a partial date: 2024 → [2024-01-01, 2025-01-01). */
function dateRange(value: string): { from: Date; to: Date } {
  const from = instant(value, '_at');
  const to = new Date(from);
  const precision = value.length;
  if (precision === 4) to.setUTCFullYear(to.getUTCFullYear() + 1);
  else if (precision === 7) to.setUTCMonth(to.getUTCMonth() + 1);
  else if (precision === 10) to.setUTCDate(to.getUTCDate() + 1);
  else to.setTime(to.getTime() + 1);
  return { from, to };
}
