import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';
import { SAME_DAY_SAME_SITE, WINDOW, appointment, loadAvailability, parameters, slot, slotsOf } from './support.js';

describeEachDatabase('Appointment/$find (IHE ITI-115)', (server) => {
  before(async () => loadAvailability(server()));

  it('start and end are required: 400 naming the parameter, as the IHE OperationDefinition says', async () => {
    const res = await server().fhir('GET', 'Appointment/$find?end=2027-03-02');
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.contain('start');
    const bad = await server().fhir('GET', 'Appointment/$find?start=tomorrow&end=2027-03-02');
    expect(bad.status).to.equal(400);
  });

  it('answers a searchset of proposed Appointments, earliest first, each with its slot, the schedule actors, start and end', async () => {
    const res = await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50`);
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('searchset');
    const starts = res.body.entry.map((e: { resource: { start: string } }) => e.resource.start);
    expect(starts).to.deep.equal([...starts].sort());
    expect(slotsOf(res).slice(0, 3)).to.deep.equal(['Slot/gp-only-0700', 'Slot/dental-0800', 'Slot/gp-0900']);
    expect(slotsOf(res)).to.not.include('Slot/mh-next-day');
    const gp = res.body.entry.find((e: { resource: { slot: Array<{ reference: string }> } }) => e.resource.slot[0].reference === 'Slot/gp-0900').resource;
    expect(gp.status).to.equal('proposed');
    expect(gp.start).to.equal('2027-03-01T09:00:00Z');
    expect(gp.end).to.equal('2027-03-01T09:15:00Z');
    expect(gp.participant.map((p: { actor: { reference: string } }) => p.actor.reference)).to.include('PractitionerRole/sched-osei-gp');
    // The IHE Appointment profile requires the requested period: the window asked for.
    expect(gp.requestedPeriod).to.deep.equal([{ start: '2027-03-01T00:00:00Z', end: '2027-03-02T00:00:00Z' }]);
  });

  it('IHE inputs it does not use (reason, timing, ...) are named in an OperationOutcome entry of the searchset, not silently dropped', async () => {
    const res = await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=2&reason=http://snomed.info/sct|22298006`);
    expect(res.status).to.equal(200);
    expect(res.body.total).to.equal(2);
    const outcome = res.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(outcome.resource.issue[0].severity).to.equal('warning');
    expect(outcome.resource.issue[0].diagnostics).to.contain('reason');
    expect(res.body.entry.filter((e: { search: { mode: string } }) => e.search.mode === 'match')).to.have.length(2);
  });

  it('POST with a Parameters body gives the same answer; _count limits it', async () => {
    const res = await server().fhir('POST', 'Appointment/$find', {
      body: parameters({ name: 'start', valueDateTime: '2027-03-01T00:00:00Z' }, { name: 'end', valueDateTime: '2027-03-02T00:00:00Z' }, { name: '_count', valueInteger: 2 }),
    });
    expect(res.status).to.equal(200);
    expect(slotsOf(res)).to.deep.equal(['Slot/gp-only-0700', 'Slot/dental-0800']);
  });

  it('specialty, visit-type, practitioner, organization, location-reference and location-string narrow the schedules', async () => {
    const only = async (query: string): Promise<string[]> => slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50&${query}`));
    expect(await only('specialty=http://snomed.info/sct|394812008')).to.have.members(['Slot/dental-0800', 'Slot/dental-0930', 'Slot/dental-1300', 'Slot/dental-1500', 'Slot/dental-1530', 'Slot/dental-1700', 'Slot/dental-1800']);
    expect(await only('organization=Organization/sched-north-mental-health')).to.deep.equal(['Slot/mh-0900', 'Slot/mh-1400']);
    expect(await only('visit-type=http://snomed.info/sct|1097171000000107')).to.deep.equal(['Slot/mh-0900', 'Slot/mh-1400']);
    expect(await only('practitioner=Practitioner/sched-dr-osei')).to.deep.equal(['Slot/gp-only-0700', 'Slot/gp-0900', 'Slot/gp-0915', 'Slot/gp-0930', 'Slot/gp-1000']);
    expect(await only('location-reference=Location/sched-riverside-hub&specialty=http://snomed.info/sct|722162001')).to.deep.equal(['Slot/mh-0900', 'Slot/mh-1400']);
    expect(await only('location-string=Wakefield')).to.have.length(7).and.to.include('Slot/dental-0800');
    // Repeated values are alternatives; different parameters all apply.
    expect(await only('organization=Organization/sched-north-mental-health&organization=Organization/sched-bridge-dental&location-reference=Location/sched-riverside-hub')).to.deep.equal(['Slot/mh-0900', 'Slot/mh-1400']);
  });

  it('slots restricted to GP practices are invisible to a voluntary organisation and offered to a GP practice', async () => {
    const voluntary = await server().clientToken({ kind: 'voluntary', org: 'VOL01', scopes: ['system/*.rs'] });
    const gp = await server().clientToken({ kind: 'gp-practice', org: 'SCH01', scopes: ['system/*.cruds'] });
    expect(slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=1`, { as: voluntary }))).to.deep.equal(['Slot/dental-0800']);
    expect(slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=1`, { as: gp }))).to.deep.equal(['Slot/gp-only-0700']);
  });

  it('with patient-reference: slots overlapping the patient\'s appointments are left out, same-day same-site proposals come first and say so', async () => {
    const gp0930 = await slot(server(), 'gp-0930');
    const booked = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [gp0930]) });
    expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
    const res = await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50&patient-reference=Patient/sched-ben`);
    expect(res.status).to.equal(200);
    const slots = slotsOf(res);
    expect(slots).to.not.include('Slot/gp-0930'); // taken
    expect(slots).to.not.include('Slot/dental-0930'); // 09:30-10:00 overlaps the patient's 09:30-09:45
    const hub = ['Slot/gp-only-0700', 'Slot/gp-0900', 'Slot/mh-0900', 'Slot/gp-0915', 'Slot/gp-1000', 'Slot/mh-1400'];
    expect(slots.slice(0, hub.length)).to.have.members(hub);
    const first = res.body.entry[0];
    expect(first.search.score).to.equal(1);
    expect(first.resource.extension).to.deep.include({ url: SAME_DAY_SAME_SITE, valueReference: { reference: `Appointment/${booked.body.id}` } });
    expect(first.resource.participant.map((p: { actor: { reference: string } }) => p.actor.reference)).to.include('Patient/sched-ben');
    const dental = res.body.entry.find((e: { resource: { slot: Array<{ reference: string }> } }) => e.resource.slot[0].reference === 'Slot/dental-0800');
    expect(dental.search.score).to.equal(0.5);
    expect(dental.resource.extension).to.equal(undefined);
  });

  it('same day means the London day: in summer time an appointment at 23:15 UTC shares its day with the next UTC day\'s slots', async () => {
    const put = async (id: string, schedule: string, start: string, end: string): Promise<{ id: string; start: string; end: string }> => {
      const res = await server().fhir('PUT', `Slot/${id}`, { body: { resourceType: 'Slot', id, schedule: { reference: `Schedule/${schedule}` }, status: 'free', start, end } });
      expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
      return res.body;
    };
    // 00:15 on 2 July in London (BST), 23:15 on 1 July in UTC.
    const late = await put('summer-gp-late', 'sched-gp', '2027-07-01T23:15:00Z', '2027-07-01T23:30:00Z');
    await put('summer-mh-1-july', 'sched-mh', '2027-07-01T12:00:00Z', '2027-07-01T12:30:00Z');
    await put('summer-mh-2-july', 'sched-mh', '2027-07-02T12:00:00Z', '2027-07-02T12:30:00Z');
    const booked = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [late]) });
    expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
    const res = await server().fhir('GET', 'Appointment/$find?start=2027-07-01T00:00:00Z&end=2027-07-03T00:00:00Z&patient-reference=Patient/sched-ben');
    expect(res.status).to.equal(200);
    const score = (slotId: string): number => res.body.entry.find((e: { resource: { slot: Array<{ reference: string }> } }) => e.resource.slot[0].reference === `Slot/${slotId}`).search.score;
    expect(slotsOf(res)[0]).to.equal('Slot/summer-mh-2-july');
    expect(score('summer-mh-2-july')).to.equal(1);
    expect(score('summer-mh-1-july')).to.equal(0.5);
  });
});

describeEachDatabase('scheduling extensions are documented where clients look', (server) => {
  it('the CapabilityStatement lists $find, $hold and $book on Appointment with the IHE OperationDefinitions', async () => {
    const res = await server().fhir('GET', 'metadata');
    const appointment = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Appointment');
    const ops = Object.fromEntries(appointment.operation.map((o: { name: string; definition: string }) => [o.name, o.definition]));
    for (const name of ['find', 'hold', 'book']) expect(ops[name]).to.equal(`https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-${name}`);
  });

  it('serves the StructureDefinitions of booking-restriction, recurring-availability, hold-expires, overlap-intended and same-day-same-site', async () => {
    for (const id of ['booking-restriction', 'recurring-availability', 'hold-expires', 'overlap-intended', 'same-day-same-site']) {
      const res = await server().fhir('GET', `StructureDefinition?url=https://fhir.neighbourhood-hub.example/StructureDefinition/${id}`);
      expect(res.body.total, id).to.equal(1);
      expect(res.body.entry[0].resource.snapshot.element.length, id).to.be.greaterThan(3);
    }
  });

  it('a Schedule carrying a booking restriction is accepted as the StructureDefinition describes it', async () => {
    const restriction = { url: 'https://fhir.neighbourhood-hub.example/StructureDefinition/booking-restriction', extension: [{ url: 'organization', valueIdentifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'A12345' } }] };
    const res = await server().fhir('POST', 'Schedule', { body: { resourceType: 'Schedule', active: true, extension: [restriction], actor: [{ display: 'Nurse clinic' }] } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
  });
});
