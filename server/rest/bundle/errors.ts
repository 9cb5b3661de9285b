import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, issue, outcome } from '../../errors.js';
import { entryPath, type EntryRequest } from './entry.js';

/** SQLSTATEs PostgreSQL uses when it aborts one of two conflicting transactions (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const RETRYABLE: Record<string, string> = {
  '40001': 'a concurrent transaction changed the same data (serialization failure)',
  '40P01': 'a concurrent transaction was waiting for the same resources (deadlock)',
};

/** A deadlock or serialization failure as 409 with a retry hint; undefined for any other error. */
export function retryableConflict(err: unknown): FhirError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !RETRYABLE[code]) return undefined;
  const oo = outcome(issue('conflict', `The transaction was rolled back because ${RETRYABLE[code]}; nothing was written. Retry it.`));
  return new FhirError(409, oo, { 'Retry-After': '1' });
}

/**
 * Re-anchors an entry's error on the entry, so a client can tell which of 500 entries failed:
 * expressions on the resource (`Patient.name`) become `Bundle.entry[3].resource.name`, others name
 * the entry itself. Errors already anchored in the Bundle are left as they are.
 */
export function atEntry(err: unknown, entry: Pick<EntryRequest, 'index' | 'label'>, resourceType?: string): unknown {
  if (!(err instanceof FhirError)) return retryableConflict(err) ?? err;
  const at = entryPath(entry.index);
  const issues = (err.outcome.issue ?? []).map((i): OperationOutcomeIssue => {
    const expressions = i.expression ?? [];
    if (expressions.some((e) => e.startsWith('Bundle.'))) return i;
    const mapped = expressions.map((e) => anchored(e, at, resourceType)).filter((e) => e !== at);
    return {
      ...i,
      diagnostics: `${at} (${entry.label}): ${i.diagnostics ?? ''}`.trim(),
      expression: mapped.length ? mapped : [at],
    };
  });
  return new FhirError(err.status, outcome(...issues), err.headers);
}

function anchored(expression: string, at: string, resourceType: string | undefined): string {
  if (resourceType && (expression === resourceType || expression.startsWith(`${resourceType}.`))) {
    return `${at}.resource${expression.slice(resourceType.length)}`;
  }
  return at;
}
