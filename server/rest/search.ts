import { badRequest } from '../errors.js';
import { localSearchParams } from './local-references.js';
import type { FhirContext, FhirRequest, FhirResponse } from './request.js';
import { checkId } from './versioning.js';

/** Type search (GET /Type, POST /Type/_search) and system search (GET /?_type=...): https://hl7.org/fhir/R4/search.html */
export async function search(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  const params = withFormBody(req, ctx);
  const bundle = await ctx.search.search({ sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: !!req.headers.strict }, p.type, params);
  return { status: 200, body: bundle };
}

/** Compartment search: GET /Patient/1/CareTeam (https://hl7.org/fhir/R4/compartmentdefinition.html). */
export async function compartmentSearch(req: FhirRequest, ctx: FhirContext, p: Record<string, string>): Promise<FhirResponse> {
  checkId(p.id);
  const type = p.target === '*' ? undefined : p.target;
  const bundle = await ctx.search.search(
    { sql: ctx.store.sql, baseUrl: ctx.baseUrl, strict: !!req.headers.strict },
    type,
    withFormBody(req, ctx),
    { resourceType: p.type, id: p.id },
  );
  return { status: 200, body: bundle };
}

/** POST _search carries its parameters form-encoded in the body, possibly as well as in the URL. */
function withFormBody(req: FhirRequest, ctx: FhirContext): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.method === 'POST' && req.body !== undefined) {
    if (!(req.body instanceof URLSearchParams)) throw badRequest('POST _search takes application/x-www-form-urlencoded parameters');
    for (const [k, v] of req.body) params.append(k, v);
  }
  return localSearchParams(params, ctx.baseUrl, ctx.requestBase);
}
