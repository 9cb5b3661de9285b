import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * The one error type of the server: an HTTP status and the OperationOutcome that explains it.
 * Every layer throws it; only the HTTP layer turns it into a response.
 * https://hl7.org/fhir/R4/operationoutcome.html
 */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
    readonly headers: Record<string, string> = {},
  ) {
    super(outcome.issue?.map((i) => i.diagnostics).join('; ') || `HTTP ${status}`);
  }
}

/**
 * A refusal whose full account names another resource not every caller may see (the appointment
 * holding a slot). `outcome` names it; `withheld()` is the account without it. The access layer
 * gives a client the withheld account unless it may read `named` (server/access/access-store.ts);
 * with authentication off everyone may.
 */
export class NamingError extends FhirError {
  constructor(
    status: number,
    outcome: OperationOutcome,
    readonly named: { resourceType: string; id: string },
    private readonly withheldOutcome: OperationOutcome,
  ) {
    super(status, outcome);
  }

  withheld(): FhirError {
    return new FhirError(this.status, this.withheldOutcome, this.headers);
  }
}

type IssueCode = OperationOutcomeIssue['code'];

export function issue(code: IssueCode, diagnostics: string, expression?: string, severity: OperationOutcomeIssue['severity'] = 'error'): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression) result.expression = [expression];
  return result;
}

export function outcome(...issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

function fail(status: number, code: IssueCode, diagnostics: string, expression?: string): FhirError {
  return new FhirError(status, outcome(issue(code, diagnostics, expression)));
}

export const badRequest = (diagnostics: string, expression?: string): FhirError => fail(400, 'invalid', diagnostics, expression);
export const notFound = (diagnostics: string): FhirError => fail(404, 'not-found', diagnostics);
export const gone = (diagnostics: string): FhirError => fail(410, 'deleted', diagnostics);
export const conflict = (diagnostics: string, expression?: string): FhirError => fail(409, 'conflict', diagnostics, expression);
export const preconditionFailed = (diagnostics: string, expression?: string): FhirError => fail(412, 'conflict', diagnostics, expression);
export const unprocessable = (diagnostics: string, expression?: string): FhirError => fail(422, 'processing', diagnostics, expression);
export const forbidden = (diagnostics: string): FhirError => fail(403, 'forbidden', diagnostics);
export const notSupported = (status: number, diagnostics: string): FhirError => fail(status, 'not-supported', diagnostics);
export const tooLarge = (diagnostics: string): FhirError => fail(413, 'too-costly', diagnostics);

/** 405 for a method this URL does not take, with the Allow header RFC 9110 section 15.5.6 requires. */
export function methodNotAllowed(diagnostics: string, allowed: string[]): FhirError {
  const refusal = notSupported(405, diagnostics);
  refusal.headers.Allow = allowed.join(', ');
  return refusal;
}

/**
 * 401 for a missing (`login`) or unacceptable (`security`, `expired`) bearer token. Per RFC 6750
 * section 3.1 the challenge names error="invalid_token" only when a token was sent.
 */
export function unauthorized(code: 'login' | 'security' | 'expired', diagnostics: string): FhirError {
  const challenge = code === 'login' ? 'Bearer realm="fhir"' : 'Bearer realm="fhir", error="invalid_token"';
  return new FhirError(401, outcome(issue(code, diagnostics)), { 'WWW-Authenticate': challenge });
}

/** Several issues at once (validation reports every problem it finds, not just the first). */
export function invalid(status: 400 | 422, issues: OperationOutcomeIssue[]): FhirError {
  return new FhirError(status, outcome(...issues));
}

/**
 * PostgreSQL refusing a value a request carried (SQLSTATE class 22, data exception: a date out of
 * its range, text that is no number, a NUL, say in a tampered paging cursor) is the request's
 * fault: a 400 saying what the database said. Anything else is not (undefined).
 */
export function refusedValue(err: unknown): FhirError | undefined {
  const sqlState = (err as { code?: unknown } | null)?.code;
  if (typeof sqlState !== 'string' || !/^22[0-9A-Z]{3}$/.test(sqlState)) return undefined;
  return badRequest(`A value in the request is not one the database can take: ${(err as Error).message}`);
}
