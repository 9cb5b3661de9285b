import { expect } from 'chai';
import { type Agreement, type IndexRow, compare, enc, generated, openAgreement } from '../agreement.js';

/** Searches from one indexed token: each form of a token value, :not and :missing. */
function candidates(row: IndexRow): string[] {
  const p = row.param;
  if (p.includes(':')) return [];
  const [system, code] = [row.system as string | null, row.code as string | null];
  const out = [`${p}:missing=false`];
  if (code) out.push(`${p}=${enc(code)}`, `${p}=${enc(`|${code}`)}`, `${p}:not=${enc(code)}`, `${p}=${enc(code.toUpperCase())}`);
  if (system && code) out.push(`${p}=${enc(`${system}|${code}`)}`);
  if (system) out.push(`${p}=${enc(`${system}|`)}`);
  return out;
}

describe('token: the SQL search and the in-memory matcher agree (server/search/types/token.ts)', () => {
  let a: Agreement;
  before(async () => (a = await openAgreement()));
  after(() => a.h.db.close());

  it('generated searches on every indexed token ([system]|[code], |[code], [system]|, :not, :missing) agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, await generated(a, 'search_token', candidates));
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(50);
  });

  it('bound codes with an implicit system, :text and :of-type agree', async () => {
    const { disagreements, nonEmpty } = await compare(a, [
      { type: 'Patient', q: 'gender=http://hl7.org/fhir/administrative-gender|male' },
      { type: 'Patient', q: 'gender=http://hl7.org/fhir/administrative-gender|' },
      { type: 'Patient', q: 'gender:not=http://snomed.info/sct|male' },
      { type: 'MedicationRequest', q: 'status=http://hl7.org/fhir/CodeSystem/medicationrequest-status|active,|stopped' },
      { type: 'CareTeam', q: 'participant-role:text=care' },
      { type: 'Observation', q: 'code:text=BODY' },
      { type: 'Patient', q: `identifier:of-type=${enc('http://terminology.hl7.org/CodeSystem/v2-0203|MR|RR8-4471')}` },
      { type: 'Patient', q: `identifier:of-type=${enc('http://terminology.hl7.org/CodeSystem/v2-0203|MR|other')}` },
    ]);
    expect(disagreements).to.deep.equal([]);
    expect(nonEmpty).to.be.greaterThan(5);
  });
});
