import express, { type NextFunction, type Request, type Response } from 'express';
import type { AuditRecord } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import { badRequest, FhirError, issue, notFound, outcome } from '../errors.js';
import type { AuditSink } from '../http/audited-route.js';
import type { Logger } from '../logger.js';
import type { FhirContext } from '../rest/request.js';
import { discovery, MEDICINES_SERVICE_ID } from './discovery.js';
import { describeFeedback, parseFeedback } from './feedback.js';
import { parseHookRequest } from './hook-request.js';
import { medicineCards, type Card } from './medicine-cards.js';
import { allOn } from '../medicines/gather.js';
import type { ResourceVersion } from '../store/store.js';

export interface CdsHooksDeps {
  /** The store and search as the calling client may use them (the same access as /fhir). */
  contextFor(principal: Principal | undefined): Promise<FhirContext>;
  audit?: AuditSink;
  log: Logger;
  maxBodyBytes: number;
}

const SERVICE = `cds-services/${MEDICINES_SERVICE_ID}`;

/**
 * CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): discovery, the medicines service and its feedback
 * endpoint. Authenticated and limited by the caller's access policy exactly as /fhir is (app.ts).
 */
export function mountCdsHooks(app: express.Express, deps: CdsHooksDeps): void {
  const router = express.Router();
  const json = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  router.get('/', (_req, res) => {
    res.status(200).json(discovery());
  });
  router.post(`/${MEDICINES_SERVICE_ID}`, json, (req, res, next) => {
    audited(req, res, next, deps, SERVICE, async (record) => {
      const hook = parseHookRequest(parseJson(req.body));
      record.patients = [hook.patientId];
      record.query = new URLSearchParams({ hook: hook.hook, hookInstance: hook.hookInstance }).toString();
      const ctx = await deps.contextFor(res.locals.principal as Principal | undefined);
      ctx.access?.require('MedicationRequest', 's');
      const [patient, cards] = (await allOn<unknown>(ctx.store.sql, [() => ctx.store.read('Patient', hook.patientId), () => medicineCards(hook, ctx)])) as [ResourceVersion | undefined, Card[]];
      if (!patient || patient.deleted) throw notFound(`Patient/${hook.patientId} is not known`);
      // The card ids go on the record, so feedback about a card can be traced to this call and patient.
      if (cards.length) record.query += `&cards=${cards.map((c) => c.uuid).join(',')}`;
      record.resources = hook.drafts.map((d) => `MedicationRequest/${d.id}`);
      return { cards };
    });
  });
  router.post(`/${MEDICINES_SERVICE_ID}/feedback`, json, (req, res, next) => {
    audited(req, res, next, deps, `${SERVICE}/feedback`, async (record) => {
      const feedback = parseFeedback(parseJson(req.body));
      record.description = feedback.map(describeFeedback).join('; ');
      record.query = new URLSearchParams(feedback.map((f) => ['card', f.card])).toString();
      return {};
    });
  });
  router.all('/{*rest}', (req, _res, next) => next(notFound(`${req.method} /cds-services${req.path} is not a CDS service here; GET /cds-services lists them`)));
  app.use('/cds-services', router);
}

/** Runs a CDS call and puts it on the audit trail before answering, as FHIR interactions are (audited-route.ts). */
function audited(req: Request, res: Response, next: NextFunction, deps: CdsHooksDeps, operation: string, run: (record: AuditRecord) => Promise<unknown>): void {
  const principal = res.locals.principal as Principal | undefined;
  const record: AuditRecord = { interaction: 'operation', operation, status: 200, resources: [], patients: [], requestId: String(res.locals.requestId), sourceAddress: req.ip, ...(principal ? { principal } : {}) };
  const write = async (): Promise<void> => {
    try {
      await deps.audit?.record(record);
    } catch (err) {
      deps.log.error({ err, requestId: record.requestId }, 'audit write failed');
      throw new FhirError(503, outcome(issue('transient', 'The access could not be recorded in the audit trail, so it was not completed; try again')), { 'Retry-After': '5' });
    }
  };
  run(record).then(
    async (body) => {
      await write();
      res.status(200).json(body);
    },
    async (err: unknown) => {
      record.status = err instanceof FhirError ? err.status : 500;
      if (err instanceof FhirError) record.description = err.message;
      await write();
      throw err;
    },
  ).catch(next);
}

function parseJson(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  if (!text) throw badRequest('The request has no body; a CDS Hooks call is a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`The body is not valid JSON: ${(err as Error).message}`);
  }
}
