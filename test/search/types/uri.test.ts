import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, enc, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed URI: itself, and :below a prefix of it. */
function candidates(row: IndexRow): string[] {
  return [`${row.param}=${enc(String(row.value))}`, `${row.param}:below=${enc(String(row.value).slice(0, 20))}`];
}

describe('uri: the SQL search and the in-memory matcher agree (server/search/types/uri.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed URI agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_uri', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(2);
  });

  it(':above a longer URI and :below agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'ValueSet', q: `url:above=${enc('https://neighbourhood.example.org/fhir/ValueSet/coordinator-roles/v2')}` },
      { type: 'ValueSet', q: `url:below=${enc('https://neighbourhood.example.org/fhir')}` },
      { type: 'ValueSet', q: `url=${enc('https://neighbourhood.example.org/fhir')}` },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(1);
  });
});
