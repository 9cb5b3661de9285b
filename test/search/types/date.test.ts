import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed date range: its day and its year under every prefix but ap (ap depends on now). */
function candidates(row: IndexRow): string[] {
  const low = row.low as Date;
  if (!Number.isFinite(low.getTime())) return [];
  const day = low.toISOString().slice(0, 10);
  const year = day.slice(0, 4);
  return ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'].flatMap((prefix) => [`${row.param}=${prefix}${day}`, `${row.param}=${prefix}${year}`]);
}

describe('date: the SQL search and the in-memory matcher agree (server/search/types/date.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed date, singly and in pairs (windows), agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_date', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(50);
  });

  it('windows, Periods with open ends, ap and :missing agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Patient', q: 'birthdate=ge1970-01-01&birthdate=le1990-12-31' },
      { type: 'Patient', q: 'birthdate=gt1969&birthdate=lt1971' },
      { type: 'CareTeam', q: 'date=sa2021-06-30' },
      { type: 'CareTeam', q: 'date=gt2030-01-01' },
      { type: 'Patient', q: 'birthdate=ap2010-11-01' },
      { type: 'Observation', q: 'date=2024-02' },
      { type: 'Observation', q: 'date:missing=true' },
      // a lower bound after the upper one: no window, but a long Period can still satisfy both
      { type: 'CareTeam', q: 'date=gt2020-06-01&date=lt2019-06-01' },
      { type: 'Patient', q: 'birthdate=gt2010&birthdate=lt1985' },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(4);
  });
});
