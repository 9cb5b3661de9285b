import { expect } from 'chai';
import type { Patient } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import type { Db } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { FhirError } from '../../server/errors.js';

/** The store seam on its own (embedded PGlite): versions, history, the change log and transactions. */
describe('store: SqlStore on PGlite', function () {
  this.timeout(60_000);
  let db: Db;
  let store: SqlStore;
  const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });
  const changes = async (id: string): Promise<string[]> => (await db.query<{ interaction: string }>('SELECT interaction FROM change_log WHERE id = $1 ORDER BY seq', [id])).map((r) => r.interaction);

  before(async () => {
    db = await openDb({ dataDir: 'memory://', poolSize: 1, statementTimeoutMs: 30_000, slowQueryMs: 0 });
    await migrate(db);
    store = new SqlStore(db, createSearchEngine({ defaultCount: 20, maxCount: 100 }));
  });
  after(() => db.close());

  it('a create is version 1 with its id and lastUpdated in meta, and one change-log row', async () => {
    const written = await store.create(patient('Create'));
    expect(written.created).to.equal(true);
    expect(written.versionId).to.equal(1);
    expect(written.resource.meta?.versionId).to.equal('1');
    expect((await store.read('Patient', written.id))?.content).to.contain('"Create"');
    expect(await changes(written.id)).to.deep.equal(['create']);
  });

  it('an update is the next version; an update whose If-Match is not the current version is 412 and writes nothing', async () => {
    const { id } = await store.create(patient('Before'));
    const updated = await store.update({ ...patient('After'), id }, 1);
    expect(updated.versionId).to.equal(2);
    let refused: unknown;
    await store.update({ ...patient('Lost'), id }, 1).catch((err) => (refused = err));
    expect(refused).to.be.instanceOf(FhirError);
    expect((refused as FhirError).status).to.equal(412);
    expect((await store.read('Patient', id))?.versionId).to.equal(2);
    expect((await store.vread('Patient', id, 1))?.content).to.contain('"Before"');
  });

  it('a delete leaves a deleted current version; readMany returns only live resources', async () => {
    const live = await store.create(patient('Live'));
    const gone = await store.create(patient('Gone'));
    await store.delete('Patient', gone.id);
    expect((await store.read('Patient', gone.id))?.deleted).to.equal(true);
    const many = await store.readMany([
      { resourceType: 'Patient', id: live.id },
      { resourceType: 'Patient', id: gone.id },
      { resourceType: 'Patient', id: 'never-held' },
    ]);
    expect(many.map((v) => v.id)).to.deep.equal([live.id]);
  });

  it('instance history lists every version, newest first', async () => {
    const { id } = await store.create(patient('V1'));
    await store.update({ ...patient('V2'), id });
    await store.delete('Patient', id);
    const page = await store.history({ resourceType: 'Patient', id, count: 10 });
    expect(page.versions.map((v) => [v.versionId, v.deleted])).to.deep.equal([
      [3, true],
      [2, false],
      [1, false],
    ]);
  });

  it('a transaction that fails leaves nothing behind: no resource, no history, no change-log row', async () => {
    let id = '';
    await store
      .transaction(async (tx) => {
        id = (await tx.create(patient('Rolled back'))).id;
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(id).to.not.equal('');
    expect(await store.read('Patient', id)).to.equal(undefined);
    expect(await changes(id)).to.deep.equal([]);
  });
});
