import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed number: its low end under each prefix. */
function candidates(row: IndexRow): string[] {
  const low = Number(row.low);
  if (!Number.isFinite(low)) return [];
  return ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'].map((prefix) => `${row.param}=${prefix}${low}`);
}

describe('number: the SQL search and the in-memory matcher agree (server/search/types/number.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed number agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_number', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(5);
  });

  it('implicit precision, ranges and ap agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'RiskAssessment', q: 'probability=0.25' },
      { type: 'RiskAssessment', q: 'probability=0.2' },
      { type: 'RiskAssessment', q: 'probability=2.5e-1' },
      { type: 'RiskAssessment', q: 'probability=ap0.26' },
      { type: 'RiskAssessment', q: 'probability=gt0.2&probability=lt0.3' },
      { type: 'RiskAssessment', q: 'probability:missing=false' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(2);
  });
});
