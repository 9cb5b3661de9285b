import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, enc, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed reference: Type/id, the bare id, :[type], :missing, or the URL as written. */
function candidates(row: IndexRow): string[] {
  const p = row.param;
  if (!row.target_id) return [`${p}=${enc(String(row.url))}`];
  return [`${p}=${row.target_type}/${row.target_id}`, `${p}=${row.target_id}`, `${p}:${row.target_type}=${row.target_id}`, `${p}:missing=true`];
}

describe('reference: the SQL search and the in-memory matcher agree (server/search/types/reference.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed reference agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_reference', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(50);
  });

  it('versioned values, a type modifier naming another type, and :identifier agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'CareTeam', q: 'subject=Patient/pat-jane/_history/1' },
      { type: 'CareTeam', q: 'subject:Group=pat-jane' },
      { type: 'CareTeam', q: 'subject:Patient=Patient/pat-jane' },
      { type: 'MedicationRequest', q: `subject:identifier=${enc('https://fhir.nhs.uk/Id/nhs-number|9000000009')}` },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(1);
  });
});
