import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.js';
import { OVERLAP_INTENDED } from './support.js';

/**
 * The patients' rows serialise the double-booking check (server/scheduling/slot-claims.ts). Held
 * here by another transaction: an appointment that checks for overlaps waits for it; one that makes
 * no check (an intended overlap, no time) goes through. Waiting is read from PostgreSQL's lock
 * state, not from a clock.
 */
describe('scheduling: only an appointment checked for double booking locks its patients (PostgreSQL)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer('postgres');
    expect((await server.fhir('PUT', 'Patient/lock-ada', { body: { resourceType: 'Patient', id: 'lock-ada' } })).status).to.equal(201);
  });
  after(async () => server?.stop());

  const booked = (extra: object) => ({ resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: 'Patient/lock-ada' }, status: 'accepted' }], ...extra });
  const at = { start: '2031-01-01T09:00:00Z', end: '2031-01-01T09:15:00Z' };

  /** Runs the request while the patient's row is locked elsewhere: whether it waited on that lock, and its status once the lock is let go. */
  async function whileLocked(body: object, method = 'POST', path = 'Appointment'): Promise<{ waited: boolean; status: number }> {
    const db = server.running.services.db;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.transaction(async (tx) => {
      await tx.query("SELECT 1 FROM resources WHERE resource_type = 'Patient' AND id = 'lock-ada' FOR UPDATE");
      locked();
      await released;
    });
    await isLocked;
    let done = false;
    const request = server.fhir(method, path, { body }).finally(() => (done = true));
    const waiting = async (): Promise<number> => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"))[0].n;
    let waited = false;
    while (!done && !waited) waited = (await waiting()) > 0;
    release();
    await holder;
    return { waited, status: (await request).status };
  }

  it('a booking whose overlap is intended, or that has no time, does not wait on the patient', async () => {
    expect(await whileLocked(booked({ ...at, extension: [{ url: OVERLAP_INTENDED, valueBoolean: true }] }))).to.deep.equal({ waited: false, status: 201 });
    expect(await whileLocked({ ...booked({}), status: 'proposed' })).to.deep.equal({ waited: false, status: 201 });
  });

  it('a booked appointment whose time does not change (the patient arrives) does not wait on the patient', async () => {
    const visit = booked({ start: '2031-03-01T09:00:00Z', end: '2031-03-01T09:15:00Z' });
    const { body } = await server.fhir('POST', 'Appointment', { body: visit });
    expect(await whileLocked({ ...visit, id: body.id, status: 'arrived' }, 'PUT', `Appointment/${body.id}`)).to.deep.equal({ waited: false, status: 200 });
  });

  it('a booking checked for double booking waits for the patient, then is checked', async () => {
    expect(await whileLocked(booked({ start: '2031-02-01T09:00:00Z', end: '2031-02-01T09:15:00Z' }))).to.deep.equal({ waited: true, status: 201 });
    // The same time again, not intended: the check ran and refuses it.
    expect(await whileLocked(booked({ start: '2031-02-01T09:05:00Z', end: '2031-02-01T09:20:00Z' }))).to.deep.equal({ waited: true, status: 409 });
  });
});
