import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../server/errors';

/**
 * Cardinality, fixed values and FHIRPath invariants (e.g. pat-1), by @medplum/core's validator.
 * https://hl7.org/fhir/R4/conformance-rules.html#constraints
 */
export function invariantIssues(resource: Resource): OperationOutcomeIssue[] {
  try {
    medplumValidate(resource);
    return [];
  } catch (err) {
    // The checks' recursion overflowing is the resource's depth: check() answers it.
    if (err instanceof RangeError) throw err;
    if (!(err instanceof OperationOutcomeError)) {
      return [issue('exception', `The validator failed: ${(err as Error).message}`, resource.resourceType)];
    }
    // Warnings (Medplum's reference-target and choice checks) do not block a write.
    return (err.outcome.issue ?? []).filter((i) => i.severity === 'error').map(toOurIssue);
  }
}

/** Medplum puts its message in details.text and the failing FHIRPath as JSON in diagnostics; we want one sentence. */
function toOurIssue(medplum: OperationOutcomeIssue): OperationOutcomeIssue {
  let diagnostics = medplum.details?.text ?? medplum.diagnostics ?? 'Invalid resource';
  const fhirpath = parseFhirpath(medplum.diagnostics);
  if (fhirpath) diagnostics += ` (${fhirpath})`;
  return { severity: 'error', code: medplum.code, diagnostics, expression: medplum.expression };
}

function parseFhirpath(diagnostics: string | undefined): string | undefined {
  if (!diagnostics?.startsWith('{')) return undefined;
  try {
    return JSON.parse(diagnostics).fhirpath;
  } catch {
    return undefined;
  }
}
