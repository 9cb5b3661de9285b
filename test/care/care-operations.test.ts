import { expect } from 'chai';
import { fixture } from '../support/examples.js';
import { describeEachDatabase } from '../support/server.js';

type Entry = { resource: { resourceType: string; id: string; [k: string]: unknown }; search?: { mode: string; score?: number; extension?: Array<{ valueCode: string }> } };
const ids = (entries: Entry[] = [], mode?: string) => entries.filter((e) => !mode || e.search?.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`);

describeEachDatabase('care coordination operations', (server) => {
  before(async () => {
    const res = await server().fhir('POST', '', { body: fixture('care/neighbourhood-record-transaction.json') });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).to.equal(200);
  });

  describe('Patient/$everything', () => {
    it('holds the patient, the compartment and the practitioners, organisations and sites they reference', async () => {
      const res = await server().fhir('GET', 'Patient/ada-okafor/$everything');
      expect(res.status).to.equal(200);
      expect(res.body.type).to.equal('searchset');
      const all = ids(res.body.entry);
      expect(all).to.include.members(['Patient/ada-okafor', 'CareTeam/ada-neighbourhood-team', 'MedicationRequest/ada-metformin', 'Appointment/ada-memory-clinic']);
      expect(ids(res.body.entry, 'include')).to.include.members(['PractitionerRole/osei-gp', 'Practitioner/dr-amara-osei', 'Organization/church-street-surgery', 'Location/wellbeing-hub', 'Organization/high-street-pharmacy']);
      expect(all).to.not.include('Patient/ben-hughes');
      expect(all).to.not.include('CareTeam/ben-team');
    });

    it('_type narrows the compartment; the patient is always there', async () => {
      const res = await server().fhir('GET', 'Patient/ada-okafor/$everything?_type=MedicationRequest');
      const matches = ids(res.body.entry, 'match');
      expect(matches).to.include.members(['Patient/ada-okafor', 'MedicationRequest/ada-metformin']);
      expect(matches).to.not.include('Appointment/ada-memory-clinic');
    });

    it('start and end keep resources whose care dates meet the range', async () => {
      const res = await server().fhir('GET', 'Patient/ada-okafor/$everything?start=2026-11-01&end=2026-12-31');
      const matches = ids(res.body.entry, 'match');
      expect(matches).to.include('Appointment/ada-memory-clinic');
      expect(matches).to.not.include('MedicationRequest/ada-metformin');
    });

    it('a start or end that is no date (a day its month lacks, an hour 24), or a _type no resource has, is a 400 naming it', async () => {
      for (const [query, name] of [['start=2024-02-30', 'start'], ['end=2026-12-31T24:00:00Z', 'end'], ['_type=Unicorn', '_type']]) {
        const res = await server().fhir('GET', `Patient/ada-okafor/$everything?${query}`);
        expect(res.status, query).to.equal(400);
        expect(res.body.issue[0].expression).to.deep.equal([name]);
      }
    });

    it('_count pages the record with next links that together give every entry once', async () => {
      const whole = await server().fhir('GET', 'Patient/ada-okafor/$everything');
      const seen: string[] = [];
      let path: string | undefined = 'Patient/ada-okafor/$everything?_count=3';
      while (path) {
        const page: { body: { entry: Entry[]; link: Array<{ relation: string; url: string }> } } = await server().fhir('GET', path);
        expect(page.body.entry.length).to.be.at.most(3);
        seen.push(...ids(page.body.entry));
        const next = page.body.link.find((l) => l.relation === 'next');
        path = next ? next.url.slice(server().base.length + 1) : undefined;
      }
      expect(seen).to.deep.equal(ids(whole.body.entry));
    });

    it('an unknown patient is 404', async () => {
      expect((await server().fhir('GET', 'Patient/nobody/$everything')).status).to.equal(404);
    });
  });

  describe('Patient/$care-team: the single point of contact', () => {
    it('names the care coordinator and returns every active member with organisation, role and site', async () => {
      const res = await server().fhir('GET', 'Patient/ada-okafor/$care-team');
      expect(res.status).to.equal(200);
      expect(ids(res.body.entry, 'match')).to.deep.equal(['CareTeam/ada-neighbourhood-team']);
      expect(ids(res.body.entry, 'include')).to.include.members(['PractitionerRole/li-coordinator', 'Practitioner/nurse-li-wei', 'Organization/church-street-surgery', 'Location/wellbeing-hub']);
      const said = res.body.entry.find((e: Entry) => e.search?.mode === 'outcome').resource.issue[0].diagnostics;
      expect(said).to.contain('Wei Li');
    });

    it('a patient with no coordinator gets an empty, explicit answer', async () => {
      const res = await server().fhir('GET', 'Patient/ben-hughes/$care-team');
      const said = res.body.entry.find((e: Entry) => e.search?.mode === 'outcome').resource.issue[0].diagnostics;
      expect(said).to.contain('no named care coordinator');
    });

    it('the same answer is one search: CareTeam?participant-role=768820003 with _include', async () => {
      const res = await server().fhir('GET', 'CareTeam?patient=Patient/ada-okafor&status=active&participant-role=http://snomed.info/sct|768820003&_include=CareTeam:participant');
      expect(ids(res.body.entry, 'match')).to.deep.equal(['CareTeam/ada-neighbourhood-team']);
      expect(ids(res.body.entry, 'include')).to.include('PractitionerRole/li-coordinator');
    });
  });

  describe('co-located services', () => {
    it('HealthcareService?location= lists everything one site offers', async () => {
      const res = await server().fhir('GET', 'HealthcareService?location=Location/wellbeing-hub');
      expect(ids(res.body.entry).sort()).to.deep.equal(['HealthcareService/memory-clinic', 'HealthcareService/social-prescribing']);
    });
  });

  describe('Patient/$match', () => {
    const match = (patient: object, extra: object[] = []) =>
      server().fhir('POST', 'Patient/$match', { body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', ...patient } }, ...extra] } });

    it('the same NHS number is a certain match with score 1', async () => {
      const res = await match({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }] });
      expect(res.status).to.equal(200);
      const first = res.body.entry[0];
      expect(first.resource.id).to.equal('ada-okafor');
      expect(first.search.score).to.equal(1);
      expect(first.search.extension[0]).to.deep.equal({ url: 'http://hl7.org/fhir/StructureDefinition/match-grade', valueCode: 'certain' });
    });

    it('demographics alone give probable matches, scored, best first', async () => {
      const res = await match({ name: [{ family: 'Okafor', given: ['Ada'] }], birthDate: '1956-03-14', gender: 'female' });
      const found = res.body.entry.map((e: Entry) => [e.resource.id, e.search?.extension?.[0].valueCode]);
      expect(found).to.deep.include.members([['ada-okafor', 'probable'], ['ada-okafor-duplicate', 'probable']]);
      const scores = res.body.entry.map((e: Entry) => e.search?.score as number);
      expect(scores).to.deep.equal([...scores].sort((a: number, b: number) => b - a));
    });

    it('onlyCertainMatches leaves out everything but certain matches; count limits the answer', async () => {
      const certain = await match({ name: [{ family: 'Okafor', given: ['Ada'] }], birthDate: '1956-03-14' }, [{ name: 'onlyCertainMatches', valueBoolean: true }]);
      expect(certain.body.entry ?? []).to.have.length(0);
      const one = await match({ name: [{ family: 'Okafor', given: ['Ada'] }], birthDate: '1956-03-14' }, [{ name: 'count', valueInteger: 1 }]);
      expect(one.body.entry).to.have.length(1);
    });

    it('a $match without a resource is 400', async () => {
      const res = await server().fhir('POST', 'Patient/$match', { body: { resourceType: 'Parameters', parameter: [] } });
      expect(res.status).to.equal(400);
    });
  });

  describe('Patient/$merge', () => {
    const merge = (parameter: object[]) => server().fhir('POST', 'Patient/$merge', { body: { resourceType: 'Parameters', parameter } });

    it('preview says what would move and changes nothing', async () => {
      const res = await merge([
        { name: 'source-patient', valueReference: { reference: 'Patient/ada-okafor-duplicate' } },
        { name: 'target-patient', valueReference: { reference: 'Patient/ada-okafor' } },
        { name: 'preview', valueBoolean: true },
      ]);
      expect(res.status).to.equal(200);
      expect(res.body.parameter.find((p: { name: string }) => p.name === 'outcome').resource.issue[0].diagnostics).to.contain('Would move 1');
      expect((await server().fhir('GET', 'Appointment/ada-old-review')).body.participant[0].actor.reference).to.equal('Patient/ada-okafor-duplicate');
    });

    it('a merge that would lose an NHS number is refused with an explanation', async () => {
      const res = await merge([
        { name: 'source-patient', valueReference: { reference: 'Patient/ben-hughes' } },
        { name: 'target-patient-identifier', valueIdentifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' } },
      ]);
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].diagnostics).to.contain('NHS numbers');
    });

    it('moves every reference to the target in one transaction, links both ways and retires the source', async () => {
      const res = await merge([
        { name: 'source-patient', valueReference: { reference: 'Patient/ada-okafor-duplicate' } },
        { name: 'target-patient', valueReference: { reference: 'Patient/ada-okafor' } },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect((await server().fhir('GET', 'Appointment/ada-old-review')).body.participant[0].actor.reference).to.equal('Patient/ada-okafor');
      const source = (await server().fhir('GET', 'Patient/ada-okafor-duplicate')).body;
      expect(source.active).to.equal(false);
      expect(source.link).to.deep.equal([{ other: { reference: 'Patient/ada-okafor' }, type: 'replaced-by' }]);
      const target = (await server().fhir('GET', 'Patient/ada-okafor')).body;
      expect(target.link).to.deep.include({ other: { reference: 'Patient/ada-okafor-duplicate' }, type: 'replaces' });
      const history = await server().fhir('GET', 'Appointment/ada-old-review/_history');
      expect(history.body.total).to.equal(2);
    });

    it('merging a source that was already merged is refused', async () => {
      const res = await merge([
        { name: 'source-patient', valueReference: { reference: 'Patient/ada-okafor-duplicate' } },
        { name: 'target-patient', valueReference: { reference: 'Patient/ada-okafor' } },
      ]);
      expect(res.status).to.equal(422);
      expect(res.body.issue[0].diagnostics).to.contain('already merged');
    });
  });
});
