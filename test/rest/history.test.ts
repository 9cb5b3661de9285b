import { expect } from 'chai';
import { loadConfig } from '../../server/config.js';
import { describeEachDatabase, startTestServer, type TestServer } from '../support/server.js';

describeEachDatabase('history (http.html#history)', (server) => {
  let id: string;
  let afterFirst: string;

  before(async () => {
    const created = await server().fhir('POST', 'Organization', { body: { resourceType: 'Organization', name: 'v1' } });
    id = created.body.id;
    afterFirst = new Date(Date.parse(created.body.meta.lastUpdated) + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await server().fhir('PUT', `Organization/${id}`, { body: { resourceType: 'Organization', id, name: 'v2' } });
    await server().fhir('PUT', `Organization/${id}`, { body: { resourceType: 'Organization', id, name: 'v3' } });
    await server().fhir('DELETE', `Organization/${id}`);
  });

  it('the history of a resource never written is 404; of a deleted one, its versions', async () => {
    expect((await server().fhir('GET', 'Organization/never-written/_history')).status).to.equal(404);
    expect((await server().fhir('GET', `Organization/${id}/_history`)).status).to.equal(200);
  });

  it('vread: a version id spelled otherwise than this server writes it (01) is 404; If-None-Match naming the version is 304', async () => {
    expect((await server().fhir('GET', `Organization/${id}/_history/2`)).status).to.equal(200);
    expect((await server().fhir('GET', `Organization/${id}/_history/02`)).status).to.equal(404);
    const cached = await server().fhir('GET', `Organization/${id}/_history/2`, { headers: { 'if-none-match': 'W/"2"' } });
    expect(cached.status).to.equal(304);
    expect(cached.headers.get('etag')).to.equal('W/"2"');
    expect((await server().fhir('GET', `Organization/${id}/_history/2`, { headers: { 'if-none-match': 'W/"1"' } })).status).to.equal(200);
  });

  it('instance history lists every version newest first, deletions included, as a history Bundle', async () => {
    const res = await server().fhir('GET', `Organization/${id}/_history`);
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('history');
    expect(res.body.total).to.equal(4);
    const e = res.body.entry;
    expect(e.map((x: { response: { etag: string } }) => x.response.etag)).to.deep.equal(['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']);
    expect(e[0].request.method).to.equal('DELETE');
    expect(e[0].resource).to.equal(undefined);
    expect(e[1].request).to.deep.equal({ method: 'PUT', url: `Organization/${id}` });
    expect(e[3].request).to.deep.equal({ method: 'POST', url: 'Organization' });
    expect(e[3].resource.name).to.equal('v1');
  });

  it('_count pages with a next link that follows on without repeats', async () => {
    const page1 = await server().fhir('GET', `Organization/${id}/_history?_count=3`);
    expect(page1.body.entry).to.have.length(3);
    const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next');
    expect(next.url).to.contain('_count=3');
    const page2 = await server().fhir('GET', next.url.slice(server().base.length + 1));
    expect(page2.body.entry).to.have.length(1);
    expect(page2.body.entry[0].response.etag).to.equal('W/"1"');
    expect(page2.body.link.find((l: { relation: string }) => l.relation === 'next')).to.equal(undefined);
  });

  it('_since leaves out versions before it', async () => {
    const res = await server().fhir('GET', `Organization/${id}/_history?_since=${encodeURIComponent(afterFirst)}`);
    expect(res.body.entry.map((x: { response: { etag: string } }) => x.response.etag)).to.not.include('W/"1"');
    expect(res.body.entry).to.have.length(3);
  });

  it('_at gives the version current at that moment', async () => {
    const v1 = await server().fhir('GET', `Organization/${id}/_history/1`);
    const res = await server().fhir('GET', `Organization/${id}/_history?_at=${encodeURIComponent(v1.body.meta.lastUpdated)}`);
    expect(res.body.entry.map((x: { response: { etag: string } }) => x.response.etag)).to.deep.equal(['W/"1"']);
  });

  it('type and system history include the versions of this resource', async () => {
    const type = await server().fhir('GET', 'Organization/_history');
    expect(type.body.entry.filter((x: { fullUrl: string }) => x.fullUrl.endsWith(`/Organization/${id}`))).to.have.length(4);
    await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient' } });
    const system = await server().fhir('GET', '_history');
    const types = new Set(system.body.entry.map((x: { fullUrl: string }) => x.fullUrl.split('/').slice(-2)[0]));
    expect([...types]).to.include.members(['Organization', 'Patient']);
  });

  it('a malformed _since is 400 naming the parameter', async () => {
    const res = await server().fhir('GET', 'Organization/_history?_since=yesterday');
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['_since']);
  });
});

describe('history of a resource never written, with authentication off (no access policy to say 404)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { auth: { ...loadConfig({}).auth, disabled: true } });
  });
  after(() => server.stop());

  it('is 404, as its read is', async () => {
    expect((await server.fhir('GET', 'Organization/never-written/_history')).status).to.equal(404);
  });
});
