import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { seedAccessFixtures } from './support.js';

/**
 * A deleted resource has no index rows for the policy to judge, so it is judged as its last live
 * version was: a client that could read it learns of the deletion (410, its history), a client
 * that could not still finds nothing (404), and judging it leaves the database exactly as it was.
 */
for (const kind of ['postgres', 'pglite'] as const) {
  describe(`access: deleted resources are judged as they were before the delete [${kind}]`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let meadowLane: string;
    let highStreet: string;

    before(async () => {
      server = await startTestServer(kind);
      await seedAccessFixtures(server.running.services.store);
      meadowLane = await server.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ['system/*.cruds'] });
      highStreet = await server.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
      // Derek is Meadow Lane's patient; Margaret is not.
      expect((await server.fhir('DELETE', 'Condition/cond-derek-brown-1')).status).to.equal(200);
      expect((await server.fhir('DELETE', 'Condition/cond-margaret-jones-1')).status).to.equal(200);
    });
    after(() => server.stop());

    it('a client that could read the resource gets 410 Gone, as an administrator does', async () => {
      const read = await server.fhir('GET', 'Condition/cond-derek-brown-1', { as: meadowLane });
      expect(read.status).to.equal(410);
      expect(read.body.resourceType).to.equal('OperationOutcome');
    });

    it('a client that could not read it still gets 404, revealing nothing', async () => {
      expect((await server.fhir('GET', 'Condition/cond-margaret-jones-1', { as: meadowLane })).status).to.equal(404);
      expect((await server.fhir('GET', 'Condition/cond-derek-brown-1/_history', { as: highStreet })).status).to.equal(404);
    });

    it('its instance history, delete included, is there for the client that could read it', async () => {
      const history = await server.fhir('GET', 'Condition/cond-derek-brown-1/_history', { as: meadowLane });
      expect(history.status).to.equal(200);
      const methods = history.body.entry.map((e: { request: { method: string } }) => e.request.method);
      expect(methods).to.have.length(2);
      expect(methods[0]).to.equal('DELETE');
      const vread = await server.fhir('GET', 'Condition/cond-derek-brown-1/_history/1', { as: meadowLane });
      expect(vread.status, 'the version before the delete, as an administrator reads it').to.equal(200);
      expect(vread.body.id).to.equal('cond-derek-brown-1');
    });

    it('judging the deleted resource leaves it deleted and unsearchable', async () => {
      await server.fhir('GET', 'Condition/cond-derek-brown-1', { as: meadowLane });
      const found = await server.fhir('GET', 'Condition?_id=cond-derek-brown-1');
      expect(found.body.entry ?? []).to.deep.equal([]);
      const asGp = await server.fhir('GET', 'Condition?subject=Patient/pat-derek-brown', { as: meadowLane });
      expect((asGp.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id)).to.not.include('cond-derek-brown-1');
      expect((await server.fhir('GET', 'Condition/cond-derek-brown-1')).status).to.equal(410);
    });
  });
}
