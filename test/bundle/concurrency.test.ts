import { expect } from 'chai';
import { retryableConflict } from '../../server/rest/bundle/errors.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { post, transaction } from './support.js';

const rename = (ids: string[], family: string) =>
  transaction(ids.map((id) => ({ resource: { resourceType: 'Patient', id, name: [{ family }] }, request: { method: 'PUT' as const, url: `Patient/${id}` } })));

// PGlite has one session, so its transactions are serialised by construction; the question is PostgreSQL's.
describe('concurrent transactions on the same resources never leave a mix [postgres]', function () {
  this.timeout(120_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('postgres');
  });
  after(() => server.stop());

  it('three transactions updating the same two patients in opposite orders: each commits whole, the later ones waiting on row locks; none half', async () => {
    const ids = ['race-a', 'race-b'];
    expect((await post(server, rename(ids, 'Start'))).status).to.equal(200);
    let committed = 1;
    for (let round = 0; round < 15; round++) {
      const results = await Promise.all([
        post(server, rename(ids, `Left${round}`)),
        post(server, rename([...ids].reverse(), `Right${round}`)),
        post(server, rename(ids, `Third${round}`)),
      ]);
      for (const r of results) {
        // The rows are locked up front in one order, so these wait instead of deadlocking (which would be 409).
        expect(r.status, r.text).to.equal(200);
        committed++;
      }
      const [a, b] = await Promise.all(ids.map((id) => server.fhir('GET', `Patient/${id}`)));
      expect(a.body.name[0].family).to.equal(b.body.name[0].family);
      expect(a.body.meta.versionId).to.equal(String(committed));
      expect(b.body.meta.versionId).to.equal(String(committed));
    }
  });

  it('a deadlock (40P01) or serialization failure (40001) from PostgreSQL is a 409 that says to retry', () => {
    for (const code of ['40P01', '40001']) {
      const err = retryableConflict(Object.assign(new Error('deadlock detected'), { code }));
      expect(err?.status).to.equal(409);
      expect(err?.headers['Retry-After']).to.equal('1');
      expect(err?.outcome.issue?.[0].diagnostics).to.match(/Retry/);
    }
    expect(retryableConflict(Object.assign(new Error('unique'), { code: '23505' }))).to.equal(undefined);
  });
});
