import type { Bundle } from '@medplum/fhirtypes';
import { badRequest, tooLarge } from '../../errors.js';
import type { CapabilityContributor } from '../capability.js';
import { runBatch } from './batch.js';
import { runTransaction } from './transaction.js';
import type { Handler, Route } from '../request.js';

/** Limits from the server config (MAX_BUNDLE_ENTRIES, MAX_BUNDLE_BYTES); the HTTP layer enforces the byte limit. */
export interface BundleLimits {
  maxEntries: number;
  maxBytes: number;
}

const STORED_ONLY = new Set(['document', 'collection', 'message']);

/** POST [base] with a batch or transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction); each entry goes through `route`. */
export function bundleHandler(limits: BundleLimits, route: Route): Handler {
  return async (req, ctx) => {
    const bundle = req.body as Bundle | undefined;
    if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle) || bundle.resourceType !== 'Bundle') {
      throw badRequest('POST to the base URL takes a Bundle of type batch or transaction', 'Bundle');
    }
    if (STORED_ONLY.has(bundle.type as string)) {
      const where = bundle.type === 'message' ? 'POST it to /fhir/$process-message to process it, or to /fhir/Bundle to store it' : 'POST it to /fhir/Bundle to store it';
      throw badRequest(`A Bundle of type ${bundle.type} is not processed at the base URL; ${where}`, 'Bundle.type');
    }
    if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
      throw badRequest(`Bundle.type must be batch or transaction to POST to the base URL; got ${bundle.type ?? '(none)'}`, 'Bundle.type');
    }
    if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
    const count = bundle.entry?.length ?? 0;
    if (count > limits.maxEntries) throw tooLarge(`The Bundle has ${count} entries; the limit is ${limits.maxEntries}. Split it into several.`);
    const prefer = req.headers.preferReturn;
    const body = bundle.type === 'transaction' ? await runTransaction(bundle, ctx, route, prefer) : await runBatch(bundle, ctx, route, prefer);
    return { status: 200, body };
  };
}

export const CONCURRENCY_NOTE =
  'Transactions run in one PostgreSQL transaction (READ COMMITTED). The existing resources a transaction updates, ' +
  'patches or deletes are row-locked up front in a fixed order, so a concurrent transaction touching any of them waits ' +
  'until the first commits or rolls back, then sees its result; none ever commits a mix. If PostgreSQL still aborts one ' +
  '(deadlock 40P01 or serialization failure 40001) the answer is 409 Conflict with Retry-After: 1 and nothing written: retry it.';

/** The batch and transaction interactions in the CapabilityStatement, with their limits. */
export function bundleCapability(limits: BundleLimits): CapabilityContributor {
  return (statement) => {
    const rest = statement.rest?.[0];
    if (!rest) return;
    rest.interaction = [
      ...(rest.interaction ?? []),
      {
        code: 'transaction',
        documentation:
          'POST [base] with a transaction Bundle: all entries or none, processed DELETE, POST, PUT/PATCH, GET; urn:uuid/urn:oid ' +
          `fullUrls and conditional references resolved. ${CONCURRENCY_NOTE} Limits: ${limits.maxEntries} entries, ${limits.maxBytes} bytes (413 beyond).`,
      },
      { code: 'batch', documentation: 'POST [base] with a batch Bundle: entries independent, each with its own status and OperationOutcome.' },
    ];
  };
}
