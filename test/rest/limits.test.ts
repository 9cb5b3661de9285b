import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';

describe('request limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('pglite', { maxBodyBytes: 2048 });
  });
  after(() => server.stop());

  it('a resource body over MAX_BODY_BYTES is 413 with an OperationOutcome, and nothing is stored', async () => {
    const big = { resourceType: 'Patient', name: [{ family: 'x'.repeat(4000) }] };
    const res = await server.fhir('POST', 'Patient', { body: big });
    expect(res.status).to.equal(413);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect((await server.fhir('GET', 'Patient/_history')).body.total).to.equal(0);
  });

  it('a body under the limit is accepted', async () => {
    const res = await server.fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Okafor' }] } });
    expect(res.status).to.equal(201);
  });
});
