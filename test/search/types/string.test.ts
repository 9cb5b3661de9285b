import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, enc, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed string: a prefix, another case, :exact both ways, :contains, :missing. */
function candidates(row: IndexRow): string[] {
  const p = row.param;
  const exact = String(row.value_exact);
  if (p.endsWith(':text')) return [`${p}=${enc(exact.slice(0, 4))}`];
  return [`${p}=${enc(exact.slice(0, 3))}`, `${p}=${enc(exact.toUpperCase())}`, `${p}:exact=${enc(exact)}`, `${p}:exact=${enc(exact.toLowerCase())}`, `${p}:contains=${enc(exact.slice(1, 4))}`, `${p}:missing=true`];
}

describe('string: the SQL search and the in-memory matcher agree (server/search/types/string.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed string (prefix, case, :exact, :contains, :missing) agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_string', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(50);
  });

  it('OR-ed values, accents and parts of names and addresses agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Patient', q: 'family=smith,zoell' },
      { type: 'Patient', q: 'name=emile' },
      { type: 'Patient', q: 'address=LEEDS' },
      { type: 'Patient', q: 'name:contains=an' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(1);
  });
});
