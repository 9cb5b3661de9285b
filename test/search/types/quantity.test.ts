import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, enc, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed quantity: its value under each prefix, and with its system and code. */
function candidates(row: IndexRow): string[] {
  const low = Number(row.low);
  if (!Number.isFinite(low)) return [];
  const out = ['eq', 'ne', 'gt', 'lt', 'ge', 'le'].map((prefix) => `${row.param}=${prefix}${low}`);
  if (row.code) out.push(`${row.param}=${low}|${enc(String(row.system ?? ''))}|${enc(String(row.code))}`);
  return out;
}

describe('quantity: the SQL search and the in-memory matcher agree (server/search/types/quantity.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed quantity agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_quantity', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(10);
  });

  it('number||code matches the code or the unit as written; a wrong system matches nothing', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Observation', q: `value-quantity=72||${enc('/min')}` },
      { type: 'Observation', q: `value-quantity=72||${enc('beats/minute')}` },
      { type: 'Observation', q: `value-quantity=85.5|${enc('http://unitsofmeasure.org')}|kg` },
      { type: 'Observation', q: `value-quantity=85.5|${enc('http://example.org')}|kg` },
      { type: 'Observation', q: 'value-quantity=gt80' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(2);
  });
});
