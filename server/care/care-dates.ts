import { evalFhirPath } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

// The elements that say when care happened, across the compartment's resource types.
const CARE_DATES = 'effective | authoredOn | start | end | period | date | issued | onset | recorded | occurrence | performed | created | authored | whenHandedOver | servicedDate | servicedPeriod';

/** The time span a resource's care dates cover, or undefined when it carries none. */
function span(resource: Resource): { from: number; to: number } | undefined {
  let from = Infinity;
  let to = -Infinity;
  for (const v of evalFhirPath(CARE_DATES, resource)) {
    const values = typeof v === 'string' ? [v] : v && typeof v === 'object' ? [(v as { start?: string }).start, (v as { end?: string }).end] : [];
    for (const s of values) {
      const t = s ? Date.parse(s) : NaN;
      if (Number.isNaN(t)) continue;
      from = Math.min(from, t);
      to = Math.max(to, t);
    }
  }
  return from === Infinity ? undefined : { from, to };
}

/**
 * $everything start/end: keep resources whose care dates meet [start, end]; resources with no care
 * date are always kept (https://hl7.org/fhir/R4/patient-operation-everything.html).
 */
export function withinCareDates(resource: Resource, start?: number, end?: number): boolean {
  if (start === undefined && end === undefined) return true;
  const s = span(resource);
  if (!s) return true;
  return (start === undefined || s.to >= start) && (end === undefined || s.from <= end);
}
