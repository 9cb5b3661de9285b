import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { SearchContext, SearchEngine } from '../search/search.js';

const PAGE = 1000;

/**
 * Every resource in a patient's compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html),
 * or those of one type, read through the search engine's compartment search page by page, so
 * compartment membership has one definition. The audit trail comes only when its type is named.
 */
export async function patientCompartment(search: SearchEngine, ctx: SearchContext, patientId: string, extra: URLSearchParams = new URLSearchParams(), resourceType?: string): Promise<Resource[]> {
  const found: Resource[] = [];
  let params = new URLSearchParams(extra);
  params.set('_count', String(PAGE));
  for (;;) {
    const page: Bundle = await search.search(ctx, resourceType, params, { resourceType: 'Patient', id: patientId });
    for (const e of page.entry ?? []) if (e.search?.mode === 'match' && e.resource) found.push(e.resource);
    const next = page.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return found;
    params = new URL(next).searchParams;
  }
}
