import { expect } from 'chai';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { recording } from '../support/recording-db.js';
import { freshPostgresUrl } from '../support/server.js';

const engine = createSearchEngine({ defaultCount: 20, maxCount: 100 });
const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
const batched = (statements: string[]): string[] => statements.filter((s) => s.includes('id = ANY'));

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`store: reads by id gathered per turn of the event loop (${kind})`, function () {
    this.timeout(60_000);
    let db: Db;
    before(async () => {
      db = await openDb({ databaseUrl: kind === 'postgres' ? await freshPostgresUrl() : undefined, dataDir: 'memory://', poolSize: 3 });
      await migrate(db);
    });
    after(async () => db?.close());

    it('reads started together are one statement per resource type, and each gets its own row: the current version, a deleted one, none', async () => {
      const writer = new SqlStore(db, engine);
      const [a, b, gone] = await Promise.all(['A', 'B', 'Gone'].map((f) => writer.create(patient(f))));
      await writer.update({ ...patient('A2'), id: a.id });
      await writer.delete('Patient', gone.id);
      const obs = await writer.create({ resourceType: 'Observation', status: 'final', code: { text: 'x' } } as Observation);
      const { db: rec, statements } = recording(db);
      const store = new SqlStore(rec, engine);
      const [ra, rb, rb2, rgone, missing, robs, wrongType] = await Promise.all([
        store.read('Patient', a.id),
        store.read('Patient', b.id),
        store.read('Patient', b.id),
        store.read('Patient', gone.id),
        store.read('Patient', 'no-such-patient'),
        store.read('Observation', obs.id),
        store.read('Observation', a.id),
      ]);
      expect(batched(statements)).to.have.length(2);
      expect(statements).to.have.length(2);
      expect([ra?.id, ra?.versionId, ra?.deleted]).to.deep.equal([a.id, 2, false]);
      expect(ra?.content).to.contain('"A2"');
      expect(rb?.content).to.contain('"B"');
      expect(rb2).to.deep.equal(rb);
      expect([rgone?.versionId, rgone?.deleted, rgone?.content]).to.deep.equal([2, true, undefined]);
      expect(missing).to.equal(undefined);
      expect([robs?.resourceType, robs?.id]).to.deep.equal(['Observation', obs.id]);
      expect(wrongType).to.equal(undefined);
    });

    it('reads one after another are a statement each; a read in a transaction goes on its connection and sees what the transaction wrote', async () => {
      const { db: rec, statements } = recording(db);
      const store = new SqlStore(rec, engine);
      const { id } = await store.create(patient('Sequential'));
      expect((await store.read('Patient', id))?.versionId).to.equal(1);
      expect((await store.read('Patient', id))?.versionId).to.equal(1);
      expect(batched(statements)).to.have.length(2);
      const seen = await store.transaction(async (tx) => {
        const created = await tx.create(patient('Uncommitted'));
        return tx.read('Patient', created.id);
      });
      expect(seen?.content).to.contain('"Uncommitted"');
      expect(batched(statements)).to.have.length(2);
    });
  });
}

describe('store: a batch of reads with one PostgreSQL refuses (postgres)', function () {
  this.timeout(60_000);
  let db: Db;
  before(async () => {
    db = await openDb({ databaseUrl: await freshPostgresUrl(), dataDir: 'memory://', poolSize: 3 });
    await migrate(db);
  });
  after(async () => db?.close());

  it('fails that read alone: the others in its batch are answered', async () => {
    const store = new SqlStore(db, engine);
    const { id } = await store.create(patient('Neighbour'));
    // PostgreSQL's text takes no NUL: the HTTP layer refuses one first, other callers might not.
    const [good, bad, good2] = await Promise.allSettled([store.read('Patient', id), store.read('Patient', 'a\u0000b'), store.read('Patient', id)]);
    expect(good.status === 'fulfilled' && good.value?.id).to.equal(id);
    expect(good2.status === 'fulfilled' && good2.value?.id).to.equal(id);
    expect(bad.status).to.equal('rejected');
  });
});
