import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { FhirError, issue, outcome, refusedValue } from '../../errors.js';
import type { FhirContext, Route } from '../request.js';
import { errorEntry, parseEntry, responseEntry, type PreferReturn } from './entry.js';
import { atEntry } from './errors.js';

/**
 * A batch Bundle: each entry is its own interaction, in its own database transaction; one that
 * fails gets its status and OperationOutcome and the others go through
 * (https://hl7.org/fhir/R4/http.html#transaction). Entries must not depend on each other, so
 * fullUrls and conditional references are not resolved across entries.
 */
export async function runBatch(bundle: Bundle, ctx: FhirContext, route: Route, prefer: PreferReturn): Promise<Bundle> {
  const responses: BundleEntry[] = [];
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    let label = `entry ${index}`;
    try {
      const parsed = parseEntry(entry, index, ctx.baseUrl);
      label = parsed.label;
      responses.push(responseEntry(await route(parsed.request, ctx), prefer, ctx.baseUrl, parsed.request.method === 'HEAD'));
    } catch (err) {
      const anchored = atEntry(refusedValue(err) ?? err, { index, label }, entry?.resource?.resourceType);
      if (anchored instanceof FhirError) responses.push(errorEntry(anchored.status, anchored.outcome));
      else {
        // Unexpected errors are not the client's to read (they may quote SQL); the log has them.
        console.error(JSON.stringify({ level: 'error', batchEntry: index, error: anchored instanceof Error ? anchored.stack : String(anchored) }));
        responses.push(errorEntry(500, outcome(issue('exception', `Bundle.entry[${index}] (${label}) failed with an internal error`))));
      }
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
}
