import { isKnownResourceType } from '../../profiles/validator.js';
import { badRequest } from '../errors.js';
import type { ExportLevel, ExportRequest } from './jobs.js';
import { storableTime } from '../store/timestamp-text.js';
import { isCalendarDate } from '../fhir/calendar.js';

/** _outputFormat values the Bulk Data IG requires servers to accept, all meaning NDJSON (https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters). */
export const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];

/** Parameters of the IG this server does not implement: refused by name rather than silently ignored, as the IG asks. */
const UNSUPPORTED = ['_typeFilter', '_elements', 'patient', 'includeAssociatedData', 'organizeOutputBy', 'allowPartialManifests'];

// A FHIR instant (https://hl7.org/fhir/R4/datatypes.html#instant); a bare date is accepted too, as midnight UTC.
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/;

/** Reads and checks the kick-off parameters; every problem is a 400 naming the parameter. */
export function parseExportRequest(params: URLSearchParams, level: ExportLevel, requestUrl: string, groupId?: string): ExportRequest {
  for (const name of UNSUPPORTED) {
    if (params.has(name)) throw badRequest(`The ${name} parameter of $export is not supported by this server`, name);
  }
  const formats = params.getAll('_outputFormat');
  if (formats.length > 1) throw badRequest('_outputFormat may be given once', '_outputFormat');
  const outputFormat = formats[0] ?? 'application/fhir+ndjson';
  if (!OUTPUT_FORMATS.includes(outputFormat)) {
    throw badRequest(`_outputFormat '${outputFormat}' is not supported; use one of ${OUTPUT_FORMATS.join(', ')}`, '_outputFormat');
  }
  const request: ExportRequest = { level, outputFormat, requestUrl, ...(groupId ? { groupId } : {}) };

  const sinceValues = params.getAll('_since');
  if (sinceValues.length > 1) throw badRequest('_since may be given once', '_since');
  if (sinceValues.length) {
    const raw = sinceValues[0];
    const t = Date.parse(raw);
    if (!INSTANT.test(raw) || Number.isNaN(t) || !storableTime(t) || !isCalendarDate(raw)) throw badRequest(`_since must be a FHIR instant such as 2024-01-31T09:00:00Z; got '${raw}'`, '_since');
    request.since = new Date(t);
  }

  const typeValues = params.getAll('_type');
  if (typeValues.length) {
    const types = typeValues.flatMap((v) => v.split(',')).map((t) => t.trim());
    const unknown = types.filter((t) => !t || !isKnownResourceType(t));
    if (unknown.length) throw badRequest(`_type names unknown resource type(s): ${unknown.map((t) => `'${t}'`).join(', ')}`, '_type');
    request.types = [...new Set(types)];
  }
  return request;
}
