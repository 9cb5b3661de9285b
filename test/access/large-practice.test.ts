import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { seedAccessFixtures } from './support.js';

const PATIENTS = 150; // above the 100 ids written into a query as a plain list (server/access/access-sql.ts CONSTANT_LIST_MAX)

/**
 * A practice with more patients than a query names as a plain list: the resolved set is matched as an
 * expression instead (so the planner does not estimate each id). The answers are the same, and a
 * change to the practice's patients shows at the next request.
 */
for (const kind of ['postgres', 'pglite'] as const) {
  describe(`access: a practice with ${PATIENTS} patients [${kind}]`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let meadowLane: string;
    const registered = (i: number, practice: string) => ({
      resource: { resourceType: 'Patient', id: `many-${i}`, name: [{ family: `Many${i}` }], generalPractitioner: [{ reference: `Organization/${practice}` }] },
      request: { method: 'PUT', url: `Patient/many-${i}` },
    });
    const condition = (i: number) => ({
      resource: { resourceType: 'Condition', id: `many-cond-${i}`, subject: { reference: `Patient/many-${i}` }, code: { text: 'hypertension' } },
      request: { method: 'PUT', url: `Condition/many-cond-${i}` },
    });
    const total = async (query: string): Promise<number> => (await server.fhir('GET', `${query}&_total=accurate&_count=1`, { as: meadowLane })).body.total;

    before(async () => {
      server = await startTestServer(kind);
      await seedAccessFixtures(server.running.services.store);
      // Even patients at Meadow Lane, odd ones at Riverside; a Condition each.
      const entry = Array.from({ length: PATIENTS * 2 }, (_, i) => [registered(i, i % 2 ? 'org-riverside-surgery' : 'org-meadow-lane-practice'), condition(i)]).flat();
      const res = await server.fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
      expect(res.status).to.equal(200);
      meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
    });
    after(() => server.stop());

    it('searches, totals and reads see the practice’s patients and their records, and no others', async () => {
      expect(await total('Patient?family:contains=Many')).to.equal(PATIENTS);
      expect(await total('Condition?code:text=hypertension')).to.equal(PATIENTS);
      expect((await server.fhir('GET', 'Patient/many-2', { as: meadowLane })).status).to.equal(200);
      expect((await server.fhir('GET', 'Patient/many-3', { as: meadowLane })).status).to.equal(404);
      expect((await server.fhir('GET', 'Condition/many-cond-3', { as: meadowLane })).status).to.equal(404);
      const chained = await server.fhir('GET', 'Condition?subject:Patient.family:exact=Many4', { as: meadowLane });
      expect(chained.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.deep.equal(['many-cond-4']);
    });

    it('a patient who registers with the practice, or leaves it, shows at the next request', async () => {
      const moved = { resourceType: 'Patient', id: 'many-3', name: [{ family: 'Many3' }], generalPractitioner: [{ reference: 'Organization/org-meadow-lane-practice' }] };
      expect((await server.fhir('PUT', 'Patient/many-3', { body: moved })).status).to.equal(200);
      expect((await server.fhir('GET', 'Condition/many-cond-3', { as: meadowLane })).status).to.equal(200);
      const left = { resourceType: 'Patient', id: 'many-2', name: [{ family: 'Many2' }], generalPractitioner: [{ reference: 'Organization/org-riverside-surgery' }] };
      expect((await server.fhir('PUT', 'Patient/many-2', { body: left })).status).to.equal(200);
      expect((await server.fhir('GET', 'Patient/many-2', { as: meadowLane })).status).to.equal(404);
      expect(await total('Patient?family:contains=Many')).to.equal(PATIENTS);
    });
  });
}
