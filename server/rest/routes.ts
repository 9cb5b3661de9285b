import { EndpointPolicy } from '../../subscriptions/endpoint-policy.js';
import { auditTrailCapability } from '../audit/capability.js';
import { smartSecurity } from '../auth/capability.js';
import type { Config } from '../config.js';
import { bundleCapability, bundleHandler } from './bundle/post-bundle.js';
import { history } from './history.js';
import { careTeamOperation } from './operations/care-team.js';
import { everythingOperation } from './operations/everything.js';
import { bulkDataCapability, exportOperation } from './operations/export.js';
import { matchOperation } from './operations/match.js';
import { medicationsOperation } from './operations/medications.js';
import { mergeOperation } from './operations/merge.js';
import { processMessageOperation } from './operations/process-message.js';
import { bookOperation, findOperation, holdOperation } from './operations/scheduling.js';
import { subscriptionCapability, subscriptionWriteCheck } from './operations/subscription-checks.js';
import { endsAfterStart } from './schedule-times.js';
import { eventsOperation } from './operations/subscription-events.js';
import { statusOperation } from './operations/subscription-status.js';
import { wsBindingTokenOperation } from './operations/subscription-ws-token.js';
import { expandOperation, validateCodeOperation } from './operations/terminology.js';
import { supportedProfiles, validateOperation } from './operations/validate.js';
import { conditionalPatch, patch } from './patch.js';
import { read, vread } from './read.js';
import type { Handler } from './request.js';
import { FhirRouter, requires } from './router.js';
import { compartmentSearch, search } from './search.js';
import { conditionalDelete, conditionalUpdate, create, remove, update, writeChecks, type CheckedHandler } from './write.js';

/** The settings the FHIR API reads (server/config.ts). */
export type RouteSettings = Pick<Config, 'maxBundleEntries' | 'maxBundleBytes'> & {
  subscriptions: Pick<Config['subscriptions'], 'endpointAllowList' | 'wsTokenTtlSeconds'>;
  auth: Pick<Config['auth'], 'disabled'>;
};

/**
 * The FHIR API of the hub in one table, read top to bottom: every interaction
 * (https://hl7.org/fhir/R4/http.html#summary) with its path and handler, every operation, the checks
 * writes go through, and what each part adds to the CapabilityStatement. Built once per server from
 * its settings (server/main.ts); nothing registers itself. The first route that matches a request
 * answers it; GET routes answer HEAD too; `$operation` routes invoke the operations listed below.
 */
export function fhirRoutes(settings: RouteSettings): FhirRouter {
  const router = new FhirRouter();
  const bundles = { maxEntries: settings.maxBundleEntries, maxBytes: settings.maxBundleBytes };
  // Every create, update and patch: references to this server made local, then its type's check.
  const check = writeChecks({ Subscription: subscriptionWriteCheck(new EndpointPolicy(settings.subscriptions.endpointAllowList)), Slot: endsAfterStart, Appointment: endsAfterStart });
  const checked = (handler: CheckedHandler): Handler => (req, ctx, p) => handler(req, ctx, p, check);

  router
    // The audit trail is written by the server only (server/audit/writer.ts, its own table), never through the API:
    // a 405 before the body is even validated, conditional forms included. The one place this is refused.
    .readOnly('AuditEvent', 'AuditEvents are written by the server only; they cannot be created, changed or deleted through the API')

    // Whole system
    .on('GET', '', search) // search-system (?_type=)
    .on('POST', '_search', search) // search-system, its parameters form-encoded in the body
    .on('POST', '', bundleHandler(bundles, router.route)) // batch, transaction
    .on('GET', 'metadata', async (_req, ctx) => ({ status: 200, body: router.capabilityStatement(ctx.baseUrl, ctx.search) })) // capabilities
    .on('GET', '_history', history) // history-system
    .on('*', '$operation', router.invokeOperation) // system operations, listed below

    // Type
    .on('GET', ':type', requires('s', search)) // search-type
    .on('POST', ':type', checked(create)) // create, conditional create (If-None-Exist)
    .on('PUT', ':type', checked(conditionalUpdate)) // conditional update (?criteria)
    .on('DELETE', ':type', conditionalDelete) // conditional delete
    .on('PATCH', ':type', checked(conditionalPatch)) // conditional patch
    .on('POST', ':type/_search', requires('s', search)) // search-type
    .on('GET', ':type/_history', history) // history-type
    .on('*', ':type/$operation', router.invokeOperation) // type operations

    // Instance
    .on('GET', ':type/:id', requires('r', read)) // read, conditional read (If-None-Match, If-Modified-Since)
    .on('PUT', ':type/:id', checked(update)) // update, update as create
    .on('DELETE', ':type/:id', remove) // delete
    .on('PATCH', ':type/:id', checked(patch)) // patch (JSON Patch, FHIRPath Patch)
    .on('GET', ':type/:id/_history', history) // history-instance
    .on('*', ':type/:id/$operation', router.invokeOperation) // instance operations
    .on('GET', ':type/:id/:target', compartmentSearch) // compartment search, e.g. Patient/1/CareTeam or Patient/1/*
    .on('GET', ':type/:id/_history/:vid', requires('r', vread)) // vread

    // Operations (https://hl7.org/fhir/R4/operations.html), each at the levels and types it names, in the CapabilityStatement's order
    .operation(careTeamOperation) // Patient/[id] $care-team
    .operation(everythingOperation) // Patient $everything, Patient/[id] $everything
    .operation(medicationsOperation) // Patient/[id] $medications
    .operation(matchOperation) // Patient $match
    .operation(mergeOperation) // Patient $merge
    .operation(statusOperation) // Subscription $status, Subscription/[id] $status
    .operation(eventsOperation) // Subscription/[id] $events
    .operation(wsBindingTokenOperation(settings.subscriptions.wsTokenTtlSeconds)) // Subscription $get-ws-binding-token
    .operation(processMessageOperation(router.route)) // $process-message (server/messaging/)
    .operation(validateOperation) // [type] $validate
    .operation(expandOperation) // ValueSet $expand
    .operation(validateCodeOperation) // ValueSet $validate-code
    .operation(exportOperation) // $export, Patient $export, Group/[id] $export (server/export/)
    .operation(findOperation) // Appointment $find
    .operation(holdOperation) // Appointment $hold
    .operation(bookOperation) // Appointment $book

    // The CapabilityStatement beyond the interactions and operations, in this order
    .capability(auditTrailCapability)
    .capability(bundleCapability(bundles))
    .capability(subscriptionCapability)
    .capability(supportedProfiles)
    .capability(bulkDataCapability);
  // With authentication on, /metadata says how to get a token.
  if (!settings.auth.disabled) router.capability(smartSecurity);
  return router;
}
