import { expect } from 'chai';
import { type Agreement, compare, openAgreement } from '../agreement.js';

describe('_id and _lastUpdated: the SQL search and the in-memory matcher agree (server/search/types/special.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('_id (with :not) and _lastUpdated under each prefix agree', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Patient', q: '_id=pat-jane,pat-richard' },
      { type: 'Patient', q: '_id:not=pat-jane' },
      { type: 'Patient', q: '_id=nobody' },
      ...['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'].map((prefix) => ({ type: 'Patient', q: `_lastUpdated=${prefix}${today}` })),
      { type: 'Patient', q: '_lastUpdated=gt2000-01-01&_lastUpdated=lt2999-01-01' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(4);
  });
});
