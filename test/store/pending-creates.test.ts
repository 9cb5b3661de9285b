import { expect } from 'chai';
import type { Resource } from '@medplum/fhirtypes';
import { createSearchEngine } from '../../server/search/engine.js';
import { INDEX_TABLES } from '../../server/search/index-writer.js';
import type { SearchEngine } from '../../server/search/search.js';
import type { Db, Queryable } from '../../server/store/db.js';
import { migrate } from '../../server/store/migrate.js';
import { openDb } from '../../server/store/open-db.js';
import { SqlStore } from '../../server/store/resource-store.js';
import { DB_KINDS, freshPostgresUrl } from '../support/server.js';

/** Counts the statements a transaction sends, so a test can say "a few per transaction, not several per resource". */
function counting(db: Db): Db & { statements: string[] } {
  const statements: string[] = [];
  const count = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      statements.push(sql);
      return q.query(sql, params);
    },
  });
  return Object.assign(Object.create(db) as Db, { statements, transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn(count(tx))) });
}

/** Resources of several types with values of every index kind (string, token, date, number, quantity, reference, uri). */
function examples(tag: string, patientId: string): Resource[] {
  return [
    { resourceType: 'Patient', id: patientId, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: `${tag}-9000000009` }], name: [{ family: `Batch${tag}`, given: ['Zoë'] }], birthDate: '1970-03', gender: 'female', telecom: [{ system: 'email', value: `${tag}@example.org` }] },
    {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }], text: 'Body weight' },
      subject: { reference: `Patient/${patientId}` },
      effectivePeriod: { start: '2025-01-01T10:00:00Z' },
      valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
      component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
    },
    { resourceType: 'RiskAssessment', status: 'final', subject: { reference: `Patient/${patientId}` }, prediction: [{ probabilityDecimal: 0.25 }] },
    { resourceType: 'ValueSet', status: 'active', url: `https://example.org/ValueSet/${tag}`, name: `Batch${tag}` },
  ] as Resource[];
}

/** Every index row of a resource, as comparable text, without its id. */
async function indexRowsOf(db: Queryable, resourceType: string, id: string): Promise<string[]> {
  const rows: string[] = [];
  for (const table of INDEX_TABLES) {
    const found = await db.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE resource_type = $1 AND id = $2`, [resourceType, id]);
    rows.push(...found.map(({ id: _id, ...rest }) => `${table} ${JSON.stringify(rest, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v))}`));
  }
  return rows.sort();
}

for (const kind of DB_KINDS) {
  describe(`store: a transaction's creates written together [${kind}]`, function () {
    this.timeout(120_000);
    let db: Db & { statements: string[] };
    let search: SearchEngine;
    let store: SqlStore;

    before(async () => {
      const raw = await openDb({ databaseUrl: kind === 'postgres' ? await freshPostgresUrl() : undefined, dataDir: 'memory://', poolSize: 2, statementTimeoutMs: 30_000, slowQueryMs: 0 });
      await migrate(raw);
      db = counting(raw);
      search = createSearchEngine({ defaultCount: 20, maxCount: 100 });
      store = new SqlStore(db, search);
    });
    after(() => db.close());

    it('100 creates in one transaction are written with one or two statements, not two per resource', async () => {
      await store.create({ resourceType: 'Patient', name: [{ family: 'Warm-up' }] } as Resource); // the search parameters load on first use
      db.statements.length = 0;
      await store.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await tx.create({ resourceType: 'Patient', name: [{ family: `Many${i}` }], birthDate: '1980-01-01' } as Resource);
      });
      expect(db.statements.length).to.be.at.most(2);
      const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resources r JOIN resource_history h USING (resource_type, id) WHERE r.content LIKE '%"Many%'`);
      expect(n).to.equal(100);
    });

    it('creates written together leave the same current, history, change-log and index rows as creates written one by one', async () => {
      const together = examples('T', 'together');
      await store.transaction(async (tx) => {
        for (const r of together) await tx.create(r, r.id ?? `together-${r.resourceType}`);
      });
      // An update of an id not held is a create written at once, row by row (http.html#upsert).
      for (const r of examples('T', 'alone')) await store.update({ ...r, id: r.id ?? `alone-${r.resourceType}` });
      for (const r of together) {
        const [a, b] = [r.id ?? `together-${r.resourceType}`, r.id === 'together' ? 'alone' : `alone-${r.resourceType}`];
        const rows = await indexRowsOf(db, r.resourceType, a);
        expect(rows.length, r.resourceType).to.be.greaterThan(0);
        expect(rows.map((row) => row.replaceAll('together', 'alone')), r.resourceType).to.deep.equal(await indexRowsOf(db, r.resourceType, b));
        const versions = async (id: string) =>
          db.query(`SELECT h.version_id, h.deleted, h.interaction, r.version_id AS current, c.version_id AS logged, c.interaction AS change FROM resource_history h JOIN resources r USING (resource_type, id) JOIN change_log c USING (resource_type, id) WHERE h.resource_type = $1 AND h.id = $2`, [r.resourceType, id]);
        expect(await versions(a)).to.deep.equal(await versions(b)).and.to.deep.equal([{ version_id: 1, deleted: false, interaction: 'create', current: 1, logged: 1, change: 'create' }]);
        const stored = await store.read(r.resourceType, a);
        const history = await store.vread(r.resourceType, a, 1);
        expect(history?.content).to.equal(stored?.content);
        expect(JSON.parse(stored!.content!).meta).to.deep.equal({ versionId: '1', lastUpdated: stored!.lastUpdated.toISOString() });
      }
    });

    it('inside the transaction every read, search and lock sees the creates before it, and the change log keeps the order of the writes', async () => {
      const existing = await store.create({ resourceType: 'Patient', name: [{ family: 'Existing' }] } as Resource);
      const [{ before }] = await db.query<{ before: number }>('SELECT max(seq) AS before FROM change_log');
      const order: string[] = [];
      await store.transaction(async (tx) => {
        const first = await tx.create({ resourceType: 'Patient', name: [{ family: 'SeenFirst' }] } as Resource);
        order.push(first.id);
        expect((await tx.read('Patient', first.id))?.versionId).to.equal(1);
        expect(await search.matchIds(tx.sql, 'Patient', new URLSearchParams('family=SeenFirst'), 2)).to.deep.equal([first.id]);
        expect(await tx.sql.query('SELECT id FROM resources WHERE resource_type = $1 AND id = $2 FOR UPDATE', ['Patient', first.id])).to.have.length(1);
        await tx.update({ resourceType: 'Patient', id: existing.id, name: [{ family: 'Updated' }] } as Resource & { id: string });
        order.push(existing.id);
        const last = await tx.create({ resourceType: 'Patient', name: [{ family: 'SeenLast' }] } as Resource);
        order.push(last.id);
        await tx.update({ resourceType: 'Patient', id: last.id, name: [{ family: 'SeenLast', given: ['Then updated'] }] } as Resource & { id: string });
        order.push(last.id);
      });
      const logged = await db.query<{ id: string; interaction: string }>('SELECT id, interaction FROM change_log WHERE seq > $1 ORDER BY seq', [before]);
      expect(logged.map((r) => r.id)).to.deep.equal(order);
      expect(logged.map((r) => r.interaction)).to.deep.equal(['create', 'update', 'create', 'update']);
    });

    it('a transaction that fails after many creates leaves none of them: no resource, history, change-log or index row', async () => {
      const ids: string[] = [];
      await store
        .transaction(async (tx) => {
          for (let i = 0; i < 20; i++) ids.push((await tx.create({ resourceType: 'Patient', name: [{ family: `Undone${i}` }] } as Resource)).id);
          throw new Error('abort');
        })
        .catch(() => undefined);
      expect(ids).to.have.length(20);
      for (const table of ['resources', 'resource_history', 'change_log', ...INDEX_TABLES]) {
        const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1::text[])`, [ids]);
        expect(n, table).to.equal(0);
      }
    });

    it('a create whose id is taken fails the whole transaction when it is written, the creates around it included', async () => {
      const taken = await store.create({ resourceType: 'Patient', name: [{ family: 'Taken' }] } as Resource);
      const ids: string[] = [];
      let failure: unknown;
      await store
        .transaction(async (tx) => {
          ids.push((await tx.create({ resourceType: 'Patient', name: [{ family: 'Before' }] } as Resource)).id);
          await tx.create({ resourceType: 'Patient', name: [{ family: 'Again' }] } as Resource, taken.id);
          ids.push((await tx.create({ resourceType: 'Patient', name: [{ family: 'After' }] } as Resource)).id);
        })
        .catch((err: unknown) => (failure = err));
      expect((failure as { code?: string })?.code).to.equal('23505'); // unique_violation, as a single INSERT gives
      const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE id = ANY($1::text[])', [ids]);
      expect(n).to.equal(0);
      expect(JSON.parse((await store.read('Patient', taken.id))!.content!).name[0].family).to.equal('Taken');
    });
  });
}
