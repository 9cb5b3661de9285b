import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { seedAccessFixtures } from './support.js';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const AISHA = '9991111115'; // registered elsewhere: Meadow Lane cannot see her
const DEREK = '9990000018'; // Meadow Lane's patient

/**
 * Conditional writes whose criteria match only resources outside the client's policy are 403, as in
 * HAPI's authorization interceptor: going ahead would create a duplicate of a record the client
 * cannot see (a second Patient with the same NHS number), and nothing is written.
 */
describe('access: conditional writes that match hidden resources', function () {
  this.timeout(120_000);
  let server: TestServer;
  let meadowLane: string;
  const patient = (nhs: string) => ({ resourceType: 'Patient', identifier: [{ system: NHS, value: nhs }], name: [{ family: 'Duplicate' }], generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] });
  const count = async (nhs: string): Promise<number> => (await server.fhir('GET', `Patient?identifier=${NHS}|${nhs}&_summary=count`)).body.total;

  before(async () => {
    server = await startTestServer('postgres');
    await seedAccessFixtures(server.running.services.store);
    meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
  });
  after(() => server.stop());

  it('conditional create matching the client’s own patient returns it (200), as without a policy', async () => {
    const res = await server.fhir('POST', 'Patient', { as: meadowLane, body: patient(DEREK), headers: { 'if-none-exist': `identifier=${NHS}|${DEREK}` } });
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal('pat-derek-brown');
  });

  it('conditional create matching only a patient the client cannot see is 403, and creates nothing', async () => {
    const res = await server.fhir('POST', 'Patient', { as: meadowLane, body: patient(AISHA), headers: { 'if-none-exist': `identifier=${NHS}|${AISHA}` } });
    expect(res.status).to.equal(403);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(await count(AISHA)).to.equal(1);
  });

  it('conditional update matching only a hidden patient is 403 and changes nothing', async () => {
    const before = (await server.fhir('GET', 'Patient/pat-aisha-khan')).body.meta.versionId;
    const res = await server.fhir('PUT', `Patient?identifier=${NHS}|${AISHA}`, { as: meadowLane, body: patient(AISHA) });
    expect(res.status).to.equal(403);
    expect(await count(AISHA)).to.equal(1);
    expect((await server.fhir('GET', 'Patient/pat-aisha-khan')).body.meta.versionId).to.equal(before);
  });

  it('the same in a transaction: the whole Bundle fails and nothing is written', async () => {
    const res = await server.fhir('POST', '', {
      as: meadowLane,
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient(AISHA), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS}|${AISHA}` } }] },
    });
    expect(res.status).to.equal(403);
    expect(await count(AISHA)).to.equal(1);
  });

  it('criteria matching nothing at all still create', async () => {
    const res = await server.fhir('POST', 'Patient', { as: meadowLane, body: patient('9000000017'), headers: { 'if-none-exist': `identifier=${NHS}|9000000017` } });
    expect(res.status).to.equal(201);
  });
});
