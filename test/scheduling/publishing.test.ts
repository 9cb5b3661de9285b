import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';
import { loadAvailability } from './support.js';

describeEachDatabase('members publish their own Schedules and Slots; everyone reads them', (server) => {
  let riverside: string;
  let dental: string;
  let pharmacy: string;
  before(async () => {
    await loadAvailability(server());
    riverside = await server().clientToken({ kind: 'gp-practice', org: 'SCH01', scopes: ['system/*.cruds'] });
    dental = await server().clientToken({ kind: 'care-provider', org: 'SCH03', scopes: ['system/*.cruds'] });
    pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FPH01', scopes: ['system/*.rs'] });
  });

  it('a GP practice creates a Schedule for its own role and Slots on it (201), but not for another member\'s site (403)', async () => {
    const schedule = await server().fhir('POST', 'Schedule', { as: riverside, body: { resourceType: 'Schedule', active: true, actor: [{ reference: 'PractitionerRole/sched-osei-gp' }] } });
    expect(schedule.status, JSON.stringify(schedule.body)).to.equal(201);
    const slot = await server().fhir('POST', 'Slot', {
      as: riverside,
      body: { resourceType: 'Slot', schedule: { reference: `Schedule/${schedule.body.id}` }, status: 'free', start: '2027-04-01T09:00:00Z', end: '2027-04-01T09:15:00Z' },
    });
    expect(slot.status, JSON.stringify(slot.body)).to.equal(201);
    const foreign = await server().fhir('POST', 'Schedule', { as: riverside, body: { resourceType: 'Schedule', active: true, actor: [{ reference: 'Location/sched-bridge-dental-site' }] } });
    expect(foreign.status).to.equal(403);
    const onForeign = await server().fhir('POST', 'Slot', {
      as: riverside,
      body: { resourceType: 'Slot', schedule: { reference: 'Schedule/sched-dental' }, status: 'free', start: '2027-04-01T09:00:00Z', end: '2027-04-01T09:15:00Z' },
    });
    expect(onForeign.status).to.equal(403);
  });

  it('a Slot or an Appointment that ends before or as it starts is 422 naming its end, and nothing is stored', async () => {
    const slots = async (): Promise<number> => (await server().fhir('GET', 'Slot?_summary=count')).body.total;
    const before = await slots();
    for (const end of ['2027-04-01T08:45:00Z', '2027-04-01T09:00:00Z']) {
      const res = await server().fhir('POST', 'Slot', { body: { resourceType: 'Slot', schedule: { reference: 'Schedule/sched-gp' }, status: 'free', start: '2027-04-01T09:00:00Z', end } });
      expect(res.status, end).to.equal(422);
      expect(res.body.issue[0].expression).to.deep.equal(['Slot.end']);
    }
    expect(await slots()).to.equal(before);
    const appointment = { resourceType: 'Appointment', status: 'booked', start: '2027-04-01T09:00:00Z', end: '2027-04-01T08:00:00Z', participant: [{ actor: { reference: 'Location/sched-bridge-dental-site' }, status: 'accepted' }] };
    expect((await server().fhir('POST', 'Appointment', { body: appointment })).status).to.equal(422);
  });

  it('a dental practice updates the slots of its site\'s schedule', async () => {
    const slot = (await server().fhir('GET', 'Slot/dental-1800', { as: dental })).body;
    const res = await server().fhir('PUT', 'Slot/dental-1800', { as: dental, body: { ...slot, comment: 'Hygienist' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  });

  it('every member kind searches Schedules and Slots like the directory, with _include', async () => {
    const res = await server().fhir('GET', 'Slot?schedule=Schedule/sched-gp&status=free&start=ge2027-03-01&_include=Slot:schedule', { as: pharmacy });
    expect(res.status).to.equal(200);
    const modes = res.body.entry.map((e: { search: { mode: string }; resource: { resourceType: string } }) => `${e.search.mode}:${e.resource.resourceType}`);
    expect(modes).to.include('match:Slot');
    expect(modes).to.include('include:Schedule');
  });

  it('a recurring availability the hub cannot turn into slots is 422 naming the part, and nothing is stored', async () => {
    const bad = {
      resourceType: 'Schedule',
      active: true,
      actor: [{ reference: 'PractitionerRole/sched-osei-gp' }],
      extension: [
        {
          url: 'https://fhir.neighbourhood-hub.example/StructureDefinition/recurring-availability',
          extension: [
            { url: 'dayOfWeek', valueCode: 'mon' },
            { url: 'availableStartTime', valueTime: '17:00:00' },
            { url: 'availableEndTime', valueTime: '09:00:00' },
            { url: 'slotMinutes', valuePositiveInt: 15 },
          ],
        },
      ],
    };
    const before = (await server().fhir('GET', 'Schedule?_summary=count')).body.total;
    const res = await server().fhir('POST', 'Schedule', { body: bad });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0].expression[0]).to.equal("Schedule.extension[0].extension('availableEndTime')");
    expect((await server().fhir('GET', 'Schedule?_summary=count')).body.total).to.equal(before);
  });
});
