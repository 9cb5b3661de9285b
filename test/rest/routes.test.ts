import { expect } from 'chai';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { loadConfig } from '../../server/config.js';
import { FhirError } from '../../server/errors.js';
import type { FhirContext, FhirRequest } from '../../server/rest/request.js';
import { fhirRoutes } from '../../server/rest/routes.js';
import { createSearchEngine } from '../../server/search/engine.js';
import type { Store } from '../../server/store/store.js';

const settings = loadConfig({});
const request = (method: FhirRequest['method'], path: string): FhirRequest => ({ method, path, query: new URLSearchParams(), headers: {} });
// No request here reaches the database: a read finds nothing.
const nothing = { read: async () => undefined } as unknown as Store;
const ctx: FhirContext = { store: nothing, hub: nothing, search: createSearchEngine({ defaultCount: 20, maxCount: 1000 }), baseUrl: 'http://hub.test/fhir' };

/** The FhirError a request through the table ends in. */
async function refusal(method: FhirRequest['method'], path: string): Promise<{ status: number; diagnostics?: string }> {
  const err = await fhirRoutes(settings).route(request(method, path), ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${method} ${path}`).to.be.instanceOf(FhirError);
  return { status: (err as FhirError).status, diagnostics: (err as FhirError).outcome.issue[0].diagnostics };
}

async function metadata(routeSettings = settings): Promise<CapabilityStatement> {
  const res = await fhirRoutes(routeSettings).route(request('GET', 'metadata'), ctx);
  expect(res.status).to.equal(200);
  return res.body as CapabilityStatement;
}

describe('the route table (server/rest/routes.ts)', () => {
  it('a request no route answers: 405 on the base URL, 404 for an unknown type, 400 for any other path (http.html#summary)', async () => {
    expect(await refusal('DELETE', '')).to.deep.equal({ status: 405, diagnostics: 'DELETE is not supported on the base URL' });
    expect(await refusal('GET', 'Foo/1')).to.deep.equal({ status: 404, diagnostics: "Unknown resource type 'Foo'" });
    expect(await refusal('POST', 'metadata')).to.deep.equal({ status: 404, diagnostics: "Unknown resource type 'metadata'" });
    expect(await refusal('POST', 'Patient/1')).to.deep.equal({ status: 400, diagnostics: 'POST /Patient/1 is not a FHIR interaction this server knows' });
    expect((await refusal('GET', 'Patient/1/Foo')).status).to.equal(400);
  });

  it('GET routes answer HEAD too, and the first route that matches answers: Patient/1 is a read', async () => {
    expect((await fhirRoutes(settings).route(request('HEAD', 'metadata'), ctx)).status).to.equal(200);
    expect(await refusal('GET', 'Patient/1')).to.deep.equal({ status: 404, diagnostics: 'Patient/1 is not known' });
  });

  it('AuditEvent is refused with 405 for every method but reads, POST _search and POST operations, before the body is read', async () => {
    for (const [method, path] of [['POST', 'AuditEvent'], ['PUT', 'AuditEvent/1'], ['DELETE', 'AuditEvent/1'], ['PATCH', 'AuditEvent'], ['POST', 'AuditEvent/1']] as const) {
      expect(await refusal(method, path)).to.deep.equal({ status: 405, diagnostics: 'AuditEvents are written by the server only; they cannot be created, changed or deleted through the API' });
    }
  });

  it('an operation is invoked at the levels and on the types it names, with GET only when it changes nothing (operations.html)', async () => {
    expect(await refusal('GET', '$nothing')).to.deep.equal({ status: 404, diagnostics: 'Operation $nothing is not supported at the system level' });
    expect(await refusal('GET', 'Observation/$everything')).to.deep.equal({ status: 404, diagnostics: 'Operation $everything is not supported at the type level of Observation' });
    expect(await refusal('GET', 'Patient/$merge')).to.deep.equal({ status: 405, diagnostics: '$merge changes data and must be invoked with POST' });
    expect(await refusal('PUT', 'Patient/1/$everything')).to.deep.equal({ status: 405, diagnostics: '$everything is invoked with GET or POST' });
  });

  it('every operation in the table is in the CapabilityStatement, at system level or on its types', async () => {
    const statement = await metadata();
    const rest = statement.rest![0];
    const named = new Set([...(rest.operation ?? []), ...(rest.resource ?? []).flatMap((r) => r.operation ?? [])].map((o) => o.name));
    expect([...named].sort()).to.deep.equal(['book', 'care-team', 'events', 'everything', 'expand', 'export', 'find', 'get-ws-binding-token', 'hold', 'match', 'medications', 'merge', 'process-message', 'status', 'validate', 'validate-code']);
  });

  it('each table keeps its own settings: bundle limits and SMART security belong to the server built with them', async () => {
    const secured = await metadata(settings);
    const open = await metadata({ ...settings, maxBundleEntries: 3, auth: { ...settings.auth, disabled: true } });
    expect(secured.rest![0].security?.service?.[0].coding?.[0].code).to.equal('SMART-on-FHIR');
    expect(open.rest![0].security).to.equal(undefined);
    const transaction = (s: CapabilityStatement) => s.rest![0].interaction?.find((i) => i.code === 'transaction')?.documentation;
    expect(transaction(secured)).to.contain(`Limits: ${settings.maxBundleEntries} entries`);
    expect(transaction(open)).to.contain('Limits: 3 entries');
  });
});
