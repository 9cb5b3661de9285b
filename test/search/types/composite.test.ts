import { expect } from 'chai';
import { type Agreement, compare, enc, openAgreement } from '../agreement.js';

describe('composite: the SQL search and the in-memory matcher agree (server/search/types/composite.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('components must match on the same element, in both engines', async () => {
    const systolic = enc('http://loinc.org|8480-6');
    const diastolic = enc('http://loinc.org|8462-4');
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Observation', q: `component-code-value-quantity=${systolic}$gt110` },
      // 120 is the systolic value, not the diastolic one: no single component has both
      { type: 'Observation', q: `component-code-value-quantity=${diastolic}$120` },
      { type: 'Observation', q: `component-code-value-quantity=${diastolic}$80,${systolic}$lt100` },
      { type: 'Observation', q: `code-value-quantity=${enc('http://loinc.org|29463-7')}$85.5` },
      { type: 'Observation', q: 'component-code-value-quantity:missing=true' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(2);
  });
});
