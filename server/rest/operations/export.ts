import { randomUUID } from 'node:crypto';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { ExportJobs, type ExportLevel } from '../../export/jobs.js';
import { parseExportRequest } from '../../export/params.js';
import { statusUrl } from '../../export/urls.js';
import { badRequest, forbidden, FhirError, issue, notFound, notSupported, outcome } from '../../errors.js';
import { logger } from '../../logger.js';
import type { Operation } from '../operations.js';
import { operationParams } from './parameters.js';

const BULK = 'http://hl7.org/fhir/uv/bulkdata';
const DEFINITIONS: Record<ExportLevel, string> = {
  system: `${BULK}/OperationDefinition/export`,
  patient: `${BULK}/OperationDefinition/patient-export`,
  group: `${BULK}/OperationDefinition/group-export`,
};

/**
 * Bulk Data $export kick-off (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request):
 * GET or POST /$export, /Patient/$export, /Group/[id]/$export with Prefer: respond-async. Stores the
 * job, hands it to the dispatcher (BullMQ, or this process without Redis) and answers 202 with the
 * status URL in Content-Location; server/http/export-routes.ts serves the status, manifest and files.
 */
export const exportOperation: Operation = {
  name: 'export',
  system: true,
  type: true,
  instance: true,
  resourceTypes: ['Patient', 'Group'],
  idempotent: true,
  definition: DEFINITIONS.system,
  async handler(req, ctx, { type, id }) {
    const level: ExportLevel | undefined = !type ? 'system' : type === 'Patient' && !id ? 'patient' : type === 'Group' && id ? 'group' : undefined;
    if (!level) throw notFound(`$export is offered at /$export, /Patient/$export and /Group/[id]/$export, not ${req.path}`);
    // HEAD must not start a job that nobody will poll.
    if (req.method === 'HEAD') throw notSupported(405, '$export is kicked off with GET or POST');
    if (!req.headers.respondAsync) throw badRequest('$export runs asynchronously: send the header Prefer: respond-async (https://hl7.org/fhir/uv/bulkdata/export.html#headers)');
    if (!ctx.exports) throw notSupported(501, 'Bulk export is not available in this context');
    // Export jobs read the database directly, outside the per-client policy filters: administrators only.
    if (ctx.access && ctx.access.principal.kind !== 'admin') throw forbidden('Bulk export is available to administrator clients only');
    const query = req.query.toString();
    const request = parseExportRequest(operationParams(req), level, `${ctx.baseUrl}/${req.path}${query ? `?${query}` : ''}`, id);
    if (level === 'group') {
      const group = await ctx.store.read('Group', id!);
      if (!group || group.deleted) throw notFound(`Group/${id} is not known`);
    }
    const jobs = new ExportJobs(ctx.store.sql);
    await jobs.sweep();
    const jobId = randomUUID();
    await jobs.create(jobId, request, ctx.exports.runner);
    try {
      await ctx.exports.dispatch(jobId);
    } catch (err) {
      // Redis unreachable: no job a client would poll forever.
      logger.warn({ err, jobId }, 'could not queue the bulk export');
      await jobs.delete(jobId);
      throw new FhirError(503, outcome(issue('transient', 'The export queue is unavailable; try again shortly')), { 'Retry-After': '10' });
    }
    return {
      status: 202,
      headers: { 'Content-Location': statusUrl(ctx.baseUrl, jobId) },
      body: outcome(issue('informational', `Export ${jobId} accepted; poll ${statusUrl(ctx.baseUrl, jobId)}`, undefined, 'information')),
    };
  },
};

/** Bulk Data in the CapabilityStatement: one operation serves three levels, and each level names its own definition. */
export function bulkDataCapability(statement: CapabilityStatement): void {
  statement.instantiates = [...(statement.instantiates ?? []), `${BULK}/CapabilityStatement/bulk-data`];
  const rest = statement.rest?.[0];
  if (!rest) return;
  for (const resource of rest.resource ?? []) {
    const op = resource.operation?.find((o) => o.name === 'export');
    if (op && resource.type === 'Patient') op.definition = DEFINITIONS.patient;
    if (op && resource.type === 'Group') op.definition = DEFINITIONS.group;
  }
  const note =
    'Bulk Data $export (IG 2.0; system, Patient and Group level; _type, _since, _outputFormat ndjson): ' +
    'jobs run on the BullMQ "exports" queue when Redis is configured (REDIS_URL, or the redis-server npm start runs), ' +
    'in the API process otherwise; NDJSON output is kept in PostgreSQL for 24 hours, so any API process serves it.';
  rest.documentation = rest.documentation ? `${rest.documentation}\n\n${note}` : note;
}
