import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- OpenAPI documents are read as plain JSON */
describe('API documentation at /api-docs', () => {
  let server: TestServer;
  let doc: any;
  let capability: any;
  before(async () => {
    server = await startTestServer('pglite');
    doc = await (await fetch(`${server.running.url}/api-docs/openapi.json`)).json();
    capability = (await server.fhir('GET', 'metadata', { as: null })).body;
  });
  after(() => server.stop());

  it('/api-docs/openapi.json is an OpenAPI 3 document served without a token, like /metadata', async () => {
    expect(doc.openapi).to.match(/^3\./);
    expect(doc.servers[0].url).to.equal(server.base);
    expect(doc.info.version).to.equal(capability.software.version);
  });

  it('every resource type of the CapabilityStatement has its interactions as paths', () => {
    const types: any[] = capability.rest[0].resource;
    expect(types.length).to.be.greaterThan(100);
    for (const r of types) {
      const codes = new Set(r.interaction.map((i: any) => i.code));
      if (codes.has('read')) expect(doc.paths[`/${r.type}/{id}`]?.get?.operationId, r.type).to.equal(`read-${r.type}`);
      if (codes.has('search-type')) expect(doc.paths[`/${r.type}`]?.get?.operationId, r.type).to.equal(`search-${r.type}`);
      if (codes.has('create')) expect(doc.paths[`/${r.type}`]?.post, r.type).to.exist;
      if (codes.has('vread')) expect(doc.paths[`/${r.type}/{id}/_history/{vid}`]?.get, r.type).to.exist;
      if (codes.has('patch')) expect(Object.keys(doc.paths[`/${r.type}/{id}`]?.patch?.requestBody.content ?? {})).to.include('application/json-patch+json');
    }
    expect(doc.paths['/']?.post?.operationId).to.equal('batch-transaction');
    expect(doc.paths['/'].post.description).to.contain(capability.rest[0].interaction.find((i: any) => i.code === 'transaction').documentation);
    expect(doc.paths['/_history']?.get).to.exist;
  });

  it('every search parameter of a type is a query parameter of its search', () => {
    const patient = capability.rest[0].resource.find((r: any) => r.type === 'Patient');
    const names = doc.paths['/Patient'].get.parameters.map((p: any) => p.name);
    for (const p of patient.searchParam) expect(names).to.include(p.name);
    expect(names).to.include.members(['identifier', 'name', 'birthdate', '_count', '_include']);
  });

  it('operations appear at the levels they are invoked at', () => {
    expect(doc.paths['/Patient/{id}/$everything']?.get).to.exist;
    expect(doc.paths['/Patient/{id}/$care-team']?.get).to.exist;
    expect(doc.paths['/Patient/$match']?.post).to.exist;
    expect(doc.paths['/Subscription/{id}/$status']?.get).to.exist;
    expect(doc.paths['/$process-message']?.post).to.exist;
  });

  it('the token endpoint and the SMART security scheme come from rest.security', () => {
    const tokenUrl = capability.rest[0].security.extension[0].extension[0].valueUri;
    expect(doc.components.securitySchemes.smart.flows.clientCredentials.tokenUrl).to.equal(tokenUrl);
    const token = doc.paths['/oauth2/token'].post;
    expect(token.servers[0].url).to.equal(server.running.url);
    expect(token.requestBody.content['application/x-www-form-urlencoded'].schema.properties.grant_type.enum).to.deep.equal(['client_credentials']);
    expect(doc.paths['/metadata'].get.security).to.deep.equal([]);
  });

  it('a POSTed SearchParameter appears in the document at once', async () => {
    const has = async (): Promise<boolean> => {
      const now: any = await (await fetch(`${server.running.url}/api-docs/openapi.json`)).json();
      return now.paths['/MedicationRequest'].get.parameters.some((p: any) => p.name === 'dispensing-pharmacy');
    };
    expect(await has()).to.equal(false);
    const res = await server.fhir('POST', 'SearchParameter', {
      body: {
        resourceType: 'SearchParameter',
        url: 'https://neighbourhood.example.org/fhir/SearchParameter/dispensing-pharmacy',
        name: 'DispensingPharmacy',
        status: 'active',
        description: 'The dispensing pharmacy',
        code: 'dispensing-pharmacy',
        base: ['MedicationRequest'],
        type: 'reference',
        target: ['Organization'],
        expression: 'MedicationRequest.dispenseRequest.performer',
      },
    });
    expect(res.status).to.equal(201);
    expect(await has()).to.equal(true);
  });

  it('?types= narrows the document to those types and the system interactions', async () => {
    const some: any = await (await fetch(`${server.running.url}/api-docs/openapi.json?types=Patient,CareTeam`)).json();
    expect(some.tags.map((t: any) => t.name)).to.deep.equal(['System', 'CareTeam', 'Patient']);
    expect(some.paths['/Patient/{id}/$care-team']).to.exist;
    expect(some.paths['/Appointment']).to.equal(undefined);
    expect(some.paths['/oauth2/token']).to.exist;
  });

  it('/api-docs is Swagger UI over that document, loading only this server\'s files', async () => {
    const res = await fetch(`${server.running.url}/api-docs`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-security-policy')).to.contain("script-src 'self'");
    const html = await res.text();
    expect(html).to.contain('/api-docs/swagger-ui-bundle.js');
    expect((await fetch(`${server.running.url}/api-docs/swagger-ui-bundle.js`)).status).to.equal(200);
    expect(await (await fetch(`${server.running.url}/api-docs/init.js`)).text()).to.contain('/api-docs/openapi.json?types=');
  });
});

describe('/metrics for the operator console', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { metricsToken: 'scraper-secret' });
  });
  after(() => server.stop());

  it('an administrator client\'s access token reads /metrics beside METRICS_TOKEN', async () => {
    const res = await fetch(`${server.running.url}/metrics`, { headers: { authorization: `Bearer ${await server.adminToken()}` } });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain('fhir_http_request_duration_seconds');
  });

  it('another client\'s token is refused', async () => {
    const token = await server.clientToken({ kind: 'gp-practice', org: 'A12345', scopes: ['system/Patient.rs'] });
    const res = await fetch(`${server.running.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(401);
  });
});
