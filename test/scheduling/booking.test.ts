import { expect } from 'chai';
import { fixture } from '../support/examples.js';
import { describeEachDatabase } from '../support/server.js';
import { OVERLAP_INTENDED, WINDOW, appointment, fatal, loadAvailability, parameters, slot, slotsOf } from './support.js';

describeEachDatabase('Appointment/$hold and $book (IHE ITI-116, ITI-117) and the booking rules on every write path', (server) => {
  let clientA: string;
  let clientB: string;
  before(async () => {
    await loadAvailability(server());
    clientA = await server().clientToken({ kind: 'admin', org: 'HUB', scopes: ['system/*.cruds'] });
    clientB = await server().clientToken({ kind: 'admin', org: 'HUB', scopes: ['system/*.cruds'] });
  });

  const proposalFor = async (slotId: string, as: string, patient = 'sched-ada'): Promise<string> => {
    const res = await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50&patient-reference=Patient/${patient}`, { as });
    const entry = res.body.entry.find((e: { resource: { slot: Array<{ reference: string }> } }) => e.resource.slot[0].reference === `Slot/${slotId}`);
    expect(entry, `no proposal for ${slotId}`).to.not.equal(undefined);
    return entry.resource.id;
  };

  it('$hold makes a proposal pending and its slot busy-tentative; another client cannot hold or book it (409, fatal, naming the slot)', async () => {
    const id = await proposalFor('gp-0900', clientA);
    const held = await server().fhir('POST', 'Appointment/$hold', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${id}` } }) });
    expect(held.status, JSON.stringify(held.body)).to.equal(200);
    expect(held.body.type).to.equal('searchset');
    const appt = held.body.entry[0].resource;
    expect(appt.status).to.equal('pending');
    const expires = appt.extension.find((e: { url: string }) => e.url.endsWith('/hold-expires')).valueInstant;
    expect(Date.parse(expires) - Date.now()).to.be.within(4 * 60_000, 5 * 60_000 + 1000);
    expect((await slot(server(), 'gp-0900')).status).to.equal('busy-tentative');

    const gp0900 = await slot(server(), 'gp-0900');
    const other = await server().fhir('POST', 'Appointment/$hold', { as: clientB, body: parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ben', [gp0900]) }) });
    expect(other.status).to.equal(409);
    expect(fatal(other)).to.contain('Slot/gp-0900');
    expect(fatal(other)).to.contain(`(Appointment/${id})`); // an administrator may see what holds it
    const steal = await server().fhir('POST', 'Appointment/$book', { as: clientB, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${id}` } }) });
    expect(steal.status).to.equal(409);
    expect(fatal(steal)).to.contain('held by another client');
    expect((await server().fhir('GET', `Appointment/${id}`)).body.status).to.equal('pending');
  });

  it('$book by the holder books it and the slot becomes busy; repeating the booking answers the same appointment', async () => {
    // A held slot is no longer offered; the held appointment is booked by reference.
    expect(slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50`, { as: clientA }))).to.not.include('Slot/gp-0900');
    const held = await server().fhir('GET', `Appointment?slot=Slot/gp-0900&status=pending`);
    const heldId = held.body.entry[0].resource.id;
    const booked = await server().fhir('POST', 'Appointment/$book', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${heldId}` } }) });
    expect(booked.status, JSON.stringify(booked.body)).to.equal(200);
    const appt = booked.body.entry[0].resource;
    expect(appt.status).to.equal('booked');
    expect(appt.extension).to.equal(undefined);
    expect((await slot(server(), 'gp-0900')).status).to.equal('busy');
    const again = await server().fhir('POST', 'Appointment/$book', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${heldId}` } }) });
    expect(again.status).to.equal(200);
    expect(again.body.entry[0].resource.meta.versionId).to.equal(appt.meta.versionId);
  }).timeout(20_000);

  it('a retried $book of the same appointment-resource answers the first booking (idempotent); another client is refused', async () => {
    const target = await slot(server(), 'mh-1400');
    const body = parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ben', [target]) });
    const first = await server().fhir('POST', 'Appointment/$book', { as: clientB, body });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    const retry = await server().fhir('POST', 'Appointment/$book', { as: clientB, body });
    expect(retry.status).to.equal(200);
    expect(retry.body.entry[0].resource.id).to.equal(first.body.entry[0].resource.id);
    expect(retry.body.entry[0].resource.meta.versionId).to.equal(first.body.entry[0].resource.meta.versionId);
    expect((await server().fhir('POST', 'Appointment/$book', { as: clientA, body })).status).to.equal(409);
    // Cancelled, the same request books the slot anew.
    await server().fhir('PUT', `Appointment/${first.body.entry[0].resource.id}`, { body: { ...first.body.entry[0].resource, status: 'cancelled' } });
    const anew = await server().fhir('POST', 'Appointment/$book', { as: clientB, body });
    expect(anew.status).to.equal(200);
    expect(anew.body.entry[0].resource.id).to.not.equal(first.body.entry[0].resource.id);
    await server().fhir('PUT', `Appointment/${anew.body.entry[0].resource.id}`, { body: { ...anew.body.entry[0].resource, status: 'cancelled' } });
  });

  it('a reference on another server names no appointment or slot here, whatever its path; one on this server\'s base does', async () => {
    const id = await proposalFor('gp-0930', clientA);
    const foreign = await server().fhir('POST', 'Appointment/$hold', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `https://elsewhere.example/fhir/Appointment/${id}` } }) });
    expect(foreign.status).to.equal(400);
    const gp0930 = await slot(server(), 'gp-0930');
    const foreignSlot = { ...appointment('proposed', 'sched-ada', [gp0930]), slot: [{ reference: 'https://elsewhere.example/fhir/Slot/gp-0930' }] };
    expect((await server().fhir('POST', 'Appointment/$hold', { as: clientA, body: parameters({ name: 'appointment-resource', resource: foreignSlot }) })).status).to.be.within(400, 499);
    expect((await slot(server(), 'gp-0930')).status).to.equal('free');
    const own = await server().fhir('POST', 'Appointment/$hold', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `${server().base}/Appointment/${id}` } }) });
    expect(own.status, own.text).to.equal(200);
    expect((await slot(server(), 'gp-0930')).status).to.equal('busy-tentative');
    await server().fhir('PUT', `Appointment/${id}`, { body: { ...own.body.entry[0].resource, status: 'cancelled' } });
  });

  it('bad input to $find, $hold and $book is a 4xx naming the problem, never a 500', async () => {
    const gp0915 = await slot(server(), 'gp-0915');
    const cases: Array<[string, string, unknown, number]> = [
      ['GET', 'Appointment/$hold?appointment-reference=Appointment/x', undefined, 405],
      ['POST', 'Appointment/$book', { resourceType: 'Patient' }, 400],
      ['POST', 'Appointment/$book', parameters(), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-reference', valueReference: { reference: 'Appointment/x' } }, { name: 'appointment-resource', resource: appointment('proposed', 'sched-ada', [gp0915]) }), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-resource', resource: { resourceType: 'Patient' } }), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-reference', valueReference: { reference: 'Appointment/no-such-thing' } }), 404],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-resource', resource: { ...appointment('proposed', 'sched-ada', [gp0915]), slot: [{ reference: 'Slot/no-such-slot' }] } }), 422],
      ['POST', 'Appointment/$hold', parameters({ name: 'appointment-reference', valueReference: 'x' }), 400],
      ['POST', 'Appointment/$hold', parameters({ name: 'appointment-reference' }), 400],
      ['POST', 'Appointment/$hold', parameters({ name: 'appointment-reference', valueReference: { reference: '' } }), 400],
      ['POST', 'Appointment/$hold', parameters({ name: 'appointment-reference', valueReference: { reference: 'Appointment/x' } }, { name: 'hold-minutes', valueBoolean: true }), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-reference', valueString: '' }), 400],
      ['POST', 'Appointment/$hold?appointment-reference=', undefined, 400],
      // Proposed, it may lack its times; booked it may not (R4 app-3).
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-resource', resource: { resourceType: 'Appointment', status: 'proposed', participant: [{ actor: { reference: 'Location/x' }, status: 'accepted' }] } }), 422],
      ['GET', 'Appointment/$find?start=2027-02-28T24:00:00Z&end=2027-03-05', undefined, 400],
      ['GET', 'Appointment/$find?start=2027-02-30&end=2027-03-05', undefined, 400],
      ['POST', 'Appointment/$hold', parameters({ name: 'appointment-resource', resource: { ...appointment('proposed', 'sched-ada', [gp0915]), id: '../../x' } }), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-resource', resource: { ...appointment('proposed', 'sched-ada', [gp0915]), slot: 'x' } }), 400],
      ['POST', 'Appointment/$book', parameters({ name: 'appointment-resource', resource: { ...appointment('proposed', 'sched-ada', [gp0915]), participant: [null] } }), 400],
      ['GET', 'Appointment/$find?start=2027-03-02&end=2027-03-01', undefined, 400],
      ['GET', `Appointment/$find?start=2027-03-01&end=2027-03-02&_count=0`, undefined, 400],
      ['GET', `Appointment/$find?start=2027-03-01&end=2027-03-02&patient-reference=Organization/x`, undefined, 400],
      ['GET', `Appointment/$find?start=2027-03-01&end=2027-03-02&patient-reference=Patient/no-such-patient`, undefined, 400],
    ];
    const appointments = async (): Promise<number> => (await server().fhir('GET', 'Appointment?_summary=count')).body.total;
    const before = await appointments();
    for (const [method, path, body, status] of cases) {
      const res = await server().fhir(method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 120)}: ${res.text.slice(0, 200)}`).to.equal(status);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    }
    expect((await slot(server(), 'gp-0915')).status).to.equal('free');
    expect(await appointments()).to.equal(before);
  });

  it('$hold refuses a hold longer than 30 minutes (400) and changes nothing', async () => {
    const id = await proposalFor('gp-0915', clientA);
    const res = await server().fhir('POST', 'Appointment/$hold', {
      as: clientA,
      body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${id}` } }, { name: 'hold-minutes', valueInteger: 31 }),
    });
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression[0]).to.contain('hold-minutes');
    expect((await slot(server(), 'gp-0915')).status).to.equal('free');
  });

  it('an expired hold frees its slots and cancels the pending appointment, saying the hold expired', async () => {
    const id = await proposalFor('gp-0915', clientA);
    const held = await server().fhir('POST', 'Appointment/$hold', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${id}` } }, { name: 'hold-minutes', valueInteger: 1 }) });
    expect(held.status).to.equal(200);
    expect(slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50`))).to.not.include('Slot/gp-0915');
    // The hold's minute passes (moved into the past rather than waited for).
    await server().running.services.db.query(`UPDATE slot_claim SET expires_at = now() - interval '1 second' WHERE appointment_id = $1`, [id]);
    expect(slotsOf(await server().fhir('GET', `Appointment/$find?${WINDOW}&_count=50`))).to.include('Slot/gp-0915');
    const cancelled = await server().fhir('GET', `Appointment/${id}`);
    expect(cancelled.body.status).to.equal('cancelled');
    expect(cancelled.body.cancelationReason.text).to.match(/hold .*expired/);
    expect((await slot(server(), 'gp-0915')).status).to.equal('free');
    // Booking the expired hold now is refused: it is cancelled.
    const late = await server().fhir('POST', 'Appointment/$book', { as: clientA, body: parameters({ name: 'appointment-reference', valueReference: { reference: `Appointment/${id}` } }) });
    expect(late.status).to.equal(409);
  });

  it('a plain POST of a booked appointment takes the same path: a taken slot is 409 naming it, and nothing is written', async () => {
    const gp0900 = await slot(server(), 'gp-0900');
    const before = await server().fhir('GET', 'Appointment?_summary=count');
    const res = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [gp0900]) });
    expect(res.status).to.equal(409);
    expect(fatal(res)).to.contain('Slot/gp-0900');
    expect(res.body.issue[0].expression).to.deep.equal(['Appointment.slot[0]']);
    expect((await server().fhir('GET', 'Appointment?_summary=count')).body.total).to.equal(before.body.total);
  });

  it('a plain POST or PUT of a booked appointment whose slot is taken is 409 naming the appointment holding it, as $book does', async () => {
    const gp0900 = await slot(server(), 'gp-0900');
    const holder = (await server().fhir('GET', 'Appointment?slot=Slot/gp-0900&status=booked')).body.entry[0].resource.id;
    const posted = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [gp0900]) });
    expect(posted.status).to.equal(409);
    expect(fatal(posted)).to.contain(`(Appointment/${holder})`);
    const proposed = await server().fhir('POST', 'Appointment', { body: appointment('proposed', 'sched-ben', [gp0900]) });
    expect(proposed.status, JSON.stringify(proposed.body)).to.equal(201);
    const put = await server().fhir('PUT', `Appointment/${proposed.body.id}`, { body: { ...proposed.body, status: 'booked' } });
    expect(put.status).to.equal(409);
    expect(fatal(put)).to.contain(`(Appointment/${holder})`);
    expect((await server().fhir('GET', `Appointment/${proposed.body.id}`)).body.status).to.equal('proposed');
  });

  it('cancelling by PUT or PATCH (cancelled, noshow, entered-in-error) frees the slots', async () => {
    const gp1000 = await slot(server(), 'gp-1000');
    const created = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ada', [gp1000]) });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect((await slot(server(), 'gp-1000')).status).to.equal('busy');
    const put = await server().fhir('PUT', `Appointment/${created.body.id}`, { body: { ...created.body, status: 'cancelled' } });
    expect(put.status).to.equal(200);
    expect((await slot(server(), 'gp-1000')).status).to.equal('free');

    const again = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ada', [gp1000]) });
    expect(again.status).to.equal(201);
    const patched = await server().fhir('PATCH', `Appointment/${again.body.id}`, {
      headers: { 'content-type': 'application/json-patch+json' },
      raw: JSON.stringify([{ op: 'replace', path: '/status', value: 'noshow' }]),
    });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect((await slot(server(), 'gp-1000')).status).to.equal('free');
  });

  it('deleting a booked appointment frees its slots too', async () => {
    const d1700 = await slot(server(), 'dental-1700');
    const created = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ada', [d1700]) });
    expect(created.status).to.equal(201);
    expect((await slot(server(), 'dental-1700')).status).to.equal('busy');
    expect((await server().fhir('DELETE', `Appointment/${created.body.id}`)).status).to.be.oneOf([200, 204]);
    expect((await slot(server(), 'dental-1700')).status).to.equal('free');
  });

  it('a Slot set to free by hand while a booked appointment uses it is 409', async () => {
    const gp0900 = await slot(server(), 'gp-0900');
    const res = await server().fhir('PUT', 'Slot/gp-0900', { body: { ...gp0900, status: 'free' } });
    expect(res.status).to.equal(409);
    expect(fatal(res)).to.match(/Slot\/gp-0900 is booked for Appointment\//);
    expect((await slot(server(), 'gp-0900')).status).to.equal('busy');
  });

  it('a patient cannot be double-booked (409 naming the appointment) unless the overlap-intended extension says so', async () => {
    const mh1400 = await slot(server(), 'mh-1400');
    const first = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ada', [mh1400]) });
    expect(first.status).to.equal(201);
    const overlapping = { resourceType: 'Appointment', status: 'booked', start: '2027-03-01T14:15:00Z', end: '2027-03-01T14:45:00Z', participant: [{ actor: { reference: 'Patient/sched-ada' }, status: 'accepted' }] };
    const refused = await server().fhir('POST', 'Appointment', { body: overlapping });
    expect(refused.status).to.equal(409);
    expect(fatal(refused)).to.contain(`Appointment/${first.body.id}`);
    const intended = await server().fhir('POST', 'Appointment', { body: { ...overlapping, extension: [{ url: OVERLAP_INTENDED, valueBoolean: true }] } });
    expect(intended.status, JSON.stringify(intended.body)).to.equal(201);
  });

  it('in one transaction of new patients, earlier entries count: a second overlapping appointment for one patient, or a second claim on one slot, is 409 at its entry and nothing is written', async () => {
    const patient = (n: number) => ({ fullUrl: `urn:uuid:new-patient-${n}`, resource: { resourceType: 'Patient', name: [{ family: `BookedInBundle${n}` }] }, request: { method: 'POST', url: 'Patient' } });
    const slotEntry = { fullUrl: 'urn:uuid:new-slot', resource: { resourceType: 'Slot', schedule: { reference: 'Schedule/sched-gp' }, status: 'free', start: '2027-06-01T09:00:00Z', end: '2027-06-01T09:15:00Z' }, request: { method: 'POST', url: 'Slot' } };
    const visit = (n: number, start: string, end: string, extra: Record<string, unknown> = {}) => ({
      resource: { resourceType: 'Appointment', status: 'booked', start, end, participant: [{ actor: { reference: `urn:uuid:new-patient-${n}` }, status: 'accepted' }], ...extra },
      request: { method: 'POST', url: 'Appointment' },
    });
    const bundle = (...entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
    const count = async () => (await server().fhir('GET', 'Patient?family:contains=BookedInBundle&_summary=count')).body.total;

    const overlapping = await server().fhir('POST', '', { body: bundle(patient(1), visit(1, '2027-06-01T10:00:00Z', '2027-06-01T10:30:00Z'), visit(1, '2027-06-01T10:15:00Z', '2027-06-01T10:45:00Z')) });
    expect(overlapping.status, overlapping.text).to.equal(409);
    expect(fatal(overlapping)).to.match(/Patient\/[^ ]+ already has Appointment\/[^ ]+ from 2027-06-01T10:00:00Z to 2027-06-01T10:30:00Z, which overlaps/);
    expect(overlapping.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[2\]/);
    const oneSlot = { slot: [{ reference: 'urn:uuid:new-slot' }] };
    const sameSlot = await server().fhir('POST', '', { body: bundle(patient(1), patient(2), slotEntry, visit(1, '2027-06-01T09:00:00Z', '2027-06-01T09:15:00Z', oneSlot), visit(2, '2027-06-01T09:00:00Z', '2027-06-01T09:15:00Z', oneSlot)) });
    expect(sameSlot.status, sameSlot.text).to.equal(409);
    expect(fatal(sameSlot)).to.contain('is already booked for another appointment');
    expect(sameSlot.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[4\]/);
    expect(await count()).to.equal(0);

    // Two patients at one time, one patient at two times, and an overlap said to be intended: all booked.
    const fine = await server().fhir('POST', '', {
      body: bundle(
        patient(1),
        patient(2),
        slotEntry,
        visit(1, '2027-06-01T09:00:00Z', '2027-06-01T09:15:00Z', oneSlot),
        visit(2, '2027-06-01T09:00:00Z', '2027-06-01T09:15:00Z'),
        visit(1, '2027-06-01T09:15:00Z', '2027-06-01T09:30:00Z'),
        visit(1, '2027-06-01T09:10:00Z', '2027-06-01T09:20:00Z', { extension: [{ url: OVERLAP_INTENDED, valueBoolean: true }] }),
      ),
    });
    expect(fine.status, fine.text).to.equal(200);
    expect(await count()).to.equal(2);
    const slotId = /Slot\/([^/]+)/.exec(fine.body.entry[2].response.location)?.[1] ?? '';
    expect((await slot(server(), slotId)).status).to.equal('busy');
  });

  it('a longer appointment takes adjacent slots of one schedule; slots with a gap are 422', async () => {
    const [a, b, c, d] = await Promise.all(['dental-1500', 'dental-1530', 'dental-1700', 'dental-1800'].map((id) => slot(server(), id)));
    const long = await server().fhir('POST', 'Appointment/$book', { as: clientA, body: parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ben', [a, b]) }) });
    expect(long.status, JSON.stringify(long.body)).to.equal(200);
    expect([(await slot(server(), 'dental-1500')).status, (await slot(server(), 'dental-1530')).status]).to.deep.equal(['busy', 'busy']);
    const gap = await server().fhir('POST', 'Appointment/$book', { as: clientA, body: parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ben', [c, d]) }) });
    expect(gap.status).to.equal(422);
    expect((await slot(server(), 'dental-1700')).status).to.equal('free');
  });

  it('rescheduling is cancel plus book in one transaction: both or neither', async () => {
    const [d0800, d0930, gp0900] = await Promise.all(['dental-0800', 'dental-0930', 'gp-0900'].map((id) => slot(server(), id)));
    const original = await server().fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [d0800]) });
    expect(original.status).to.equal(201);
    const reschedule = (target: typeof d0800) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...original.body, status: 'cancelled' }, request: { method: 'PUT', url: `Appointment/${original.body.id}` } },
        { resource: appointment('booked', 'sched-ben', [target]), request: { method: 'POST', url: 'Appointment' } },
      ],
    });
    const failed = await server().fhir('POST', '', { body: reschedule(gp0900) });
    expect(failed.status).to.equal(409);
    expect((await server().fhir('GET', `Appointment/${original.body.id}`)).body.status).to.equal('booked');
    expect((await slot(server(), 'dental-0800')).status).to.equal('busy');
    const moved = await server().fhir('POST', '', { body: reschedule(d0930) });
    expect(moved.status, JSON.stringify(moved.body).slice(0, 400)).to.equal(200);
    expect((await slot(server(), 'dental-0800')).status).to.equal('free');
    expect((await slot(server(), 'dental-0930')).status).to.equal('busy');
  });

  it('a member outside a slot\'s booking restriction cannot book it (403); inside its care team it books others', async () => {
    const mentalHealth = await server().clientToken({ kind: 'care-provider', org: 'SCH02', scopes: ['system/*.cruds'] });
    const restricted = await slot(server(), 'gp-only-0700');
    const refused = await server().fhir('POST', 'Appointment', { as: mentalHealth, body: appointment('booked', 'sched-ada', [restricted]) });
    expect(refused.status).to.equal(403);
    expect((await slot(server(), 'gp-only-0700')).status).to.equal('free');
    // A slot booked for a patient outside its care teams: refused without naming that appointment.
    const bens = await slot(server(), 'dental-1500');
    const hidden = await server().fhir('POST', 'Appointment/$book', { as: mentalHealth, body: parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ada', [bens]) }) });
    expect(hidden.status).to.equal(409);
    expect(fatal(hidden)).to.contain('Slot/dental-1500').and.not.to.contain('Appointment/');
    const plain = await server().fhir('POST', 'Appointment', { as: mentalHealth, body: appointment('booked', 'sched-ada', [bens]) });
    expect(plain.status).to.equal(409);
    expect(fatal(plain)).to.contain('Slot/dental-1500').and.not.to.contain('Appointment/');
    const own = await slot(server(), 'mh-next-day');
    const booked = await server().fhir('POST', 'Appointment', { as: mentalHealth, body: appointment('booked', 'sched-ada', [own]) });
    expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
  });

  it('a BaRS booking-request through $process-message takes the same path: its slot becomes busy; the same slot again is 409 pointing at the message entry', async () => {
    const message = (id: string) => ({ ...fixture('scheduling/bars-booking-request.json'), identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: id } });
    const first = await server().fhir('POST', '$process-message', { body: message('8d1f6a52-0000-4000-8000-000000000001') });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect((await slot(server(), 'mh-bars')).status).to.equal('busy');
    const before = await server().fhir('GET', 'Appointment?slot=Slot/mh-bars&_summary=count');
    const second = await server().fhir('POST', '$process-message', { body: message('8d1f6a52-0000-4000-8000-000000000002') });
    expect(second.status).to.equal(409);
    expect(fatal(second)).to.contain('Slot/mh-bars');
    expect(second.body.issue[0].expression[0]).to.match(/^Bundle\.entry\[1\]/);
    expect((await server().fhir('GET', 'Appointment?slot=Slot/mh-bars&_summary=count')).body.total).to.equal(before.body.total);
  });

  it("the coordinator's view: a patient's appointments with every member, with the actors, in date order", async () => {
    const res = await server().fhir('GET', 'Appointment?patient=Patient/sched-ada&date=ge2027-03-01&status=booked&_include=Appointment:actor&_sort=date');
    expect(res.status).to.equal(200);
    const matches = res.body.entry.filter((e: { search: { mode: string } }) => e.search.mode === 'match').map((e: { resource: { start: string } }) => e.resource.start);
    expect(matches.length).to.be.greaterThan(1);
    expect(matches).to.deep.equal([...matches].sort());
    const included = res.body.entry.filter((e: { search: { mode: string } }) => e.search.mode === 'include').map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(included).to.include('Patient/sched-ada');
  });
});
