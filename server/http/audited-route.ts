import { auditRecordOf } from '../audit/from-exchange.js';
import type { AuditRecord } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import { FhirError, issue, outcome } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FhirContext, FhirRequest, FhirResponse, Route } from '../rest/request.js';
import type { Queryable } from '../store/db.js';
import type { Store } from '../store/store.js';

/** Where FHIR interactions go on the record (server/audit/writer.ts). */
export interface AuditSink {
  /** Resolves once the AuditEvent is committed (grouped with others arriving together). */
  record(record: AuditRecord): Promise<void>;
  /** Writes the AuditEvent in the caller's open transaction, to commit with it. */
  recordWithin(tx: Queryable, record: AuditRecord): Promise<void>;
}

/** Who is asking, from where, under which request id. */
export interface Caller {
  principal?: Principal;
  requestId: string;
  address?: string;
}

/**
 * Runs a FHIR interaction and puts it on the audit trail before the answer goes out. A write of
 * one resource, or a transaction Bundle, records its AuditEvent in its own database transaction, so
 * no change commits unrecorded; reads, batches and operations record just after, with group commit.
 * A failure is recorded as such; an audit trail that cannot be written refuses the request (503).
 */
export async function auditedRoute(
  route: Route,
  req: FhirRequest,
  caller: Caller,
  store: Store,
  contextFor: (store: Store) => Promise<FhirContext>,
  audit: AuditSink,
  log: Logger,
): Promise<FhirResponse> {
  const recordOf = (res: FhirResponse | undefined, err: unknown): AuditRecord =>
    auditRecordOf(req, res, err instanceof FhirError ? err : undefined, caller.principal, caller.requestId, caller.address);
  const unrecorded = (err: unknown): never => {
    log.error({ err, requestId: caller.requestId }, 'audit write failed');
    throw new FhirError(503, outcome(issue('transient', 'The access could not be recorded in the audit trail, so it was not completed; try again')), { 'Retry-After': '5' });
  };
  let result: FhirResponse;
  try {
    if (changesOneUnit(req)) {
      return await store.transaction(async (tx) => {
        const res = await route(req, await contextFor(tx));
        await audit.recordWithin(tx.sql, recordOf(res, undefined)).catch(unrecorded);
        return res;
      });
    }
    result = await route(req, await contextFor(store));
  } catch (err) {
    await audit.record(recordOf(undefined, err)).catch(unrecorded);
    throw err;
  }
  await audit.record(recordOf(result, undefined)).catch(unrecorded);
  return result;
}

/**
 * Create, update, patch or delete of resources addressed by the URL, or a transaction Bundle: one
 * database transaction already. Not batches (their entries commit on their own) nor operations.
 */
function changesOneUnit(req: FhirRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const segments = req.path.split('/').filter(Boolean);
  if (segments.length === 0) return req.method === 'POST' && (req.body as { type?: string } | undefined)?.type === 'transaction';
  return !segments.some((s) => s.startsWith('$') || s === '_search');
}
