import { expect } from 'chai';
import { startSubscriptionServer } from '../subscriptions/support.js';
import { DB_KINDS, type TestServer } from '../support/server.js';
import { appointment, loadAvailability, parameters, slot } from './support.js';

const RECURRING = 'https://fhir.neighbourhood-hub.example/StructureDefinition/recurring-availability';
const DAY_MS = 24 * 3600_000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function londonClock(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

function availability(slotMinutes: number): Record<string, unknown> {
  return {
    url: RECURRING,
    extension: [
      ...['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => ({ url: 'dayOfWeek', valueCode: d })),
      { url: 'availableStartTime', valueTime: '09:00:00' },
      { url: 'availableEndTime', valueTime: '10:00:00' },
      { url: 'slotMinutes', valuePositiveInt: slotMinutes },
    ],
  };
}

for (const kind of DB_KINDS) {
  describe(`scheduling worker: recurring availability and hold expiry [${kind}]`, function () {
    this.timeout(120_000);
    let server: TestServer;
    before(async () => {
      server = await startSubscriptionServer(kind);
      await loadAvailability(server);
    });
    after(async () => server?.stop());

    const slotsOfSchedule = async (id: string): Promise<Array<{ id: string; start: string; end: string; status: string; meta: { versionId: string } }>> =>
      (await server.fhir('GET', `Slot?schedule=Schedule/${id}&_sort=start&_count=100`)).body.entry?.map((e: { resource: unknown }) => e.resource) ?? [];

    it('turns weekly opening times into Slots across the planning horizon, in London time, once; an edit never touches a booked slot', async () => {
      // A planning horizon of one whole week, Monday to Monday, some weeks ahead.
      const now = new Date();
      const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 14 + ((8 - now.getUTCDay()) % 7)));
      const horizon = { start: monday.toISOString(), end: new Date(monday.getTime() + 7 * DAY_MS).toISOString() };
      const created = await server.fhir('POST', 'Schedule', {
        body: { resourceType: 'Schedule', active: true, actor: [{ reference: 'HealthcareService/sched-hub-mental-health' }], planningHorizon: horizon, extension: [availability(15)] },
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const id = created.body.id;
      const slots = await until('20 generated slots', async () => ((await slotsOfSchedule(id)).length === 20 ? slotsOfSchedule(id) : undefined));
      expect(slots.map((s) => londonClock(s.start)).slice(0, 4)).to.deep.equal(['09:00', '09:15', '09:30', '09:45']);
      expect(slots.every((s) => s.status === 'free')).to.equal(true);
      // Further passes create nothing and rewrite nothing.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const again = await slotsOfSchedule(id);
      expect(again.map((s) => `${s.id}@${s.meta.versionId}`)).to.deep.equal(slots.map((s) => `${s.id}@${s.meta.versionId}`));

      const tuesday = slots[4];
      const booked = await server.fhir('POST', 'Appointment', { body: appointment('booked', 'sched-ben', [tuesday]) });
      expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
      const edited = await server.fhir('PUT', `Schedule/${id}`, { body: { ...created.body, extension: [availability(30)] } });
      expect(edited.status).to.equal(200);
      // 30-minute slots now: 5 days x 2, but not over Tuesday 09:00-09:30 where the booked 15-minute slot stays.
      const after = await until('the new pattern', async () => {
        const list = await slotsOfSchedule(id);
        return list.length === 10 && !list.some((s) => Date.parse(s.end) - Date.parse(s.start) === 15 * 60_000 && s.status === 'free') ? list : undefined;
      });
      const kept = after.find((s) => s.id === tuesday.id);
      expect(kept?.status).to.equal('busy');
      expect(after.filter((s) => s.start === tuesday.start)).to.have.length(1);
    });

    it('expires a lapsed hold with no client asking: slots free, the appointment cancelled', async () => {
      const target = await slot(server, 'dental-1300');
      const held = await server.fhir('POST', 'Appointment/$hold', { body: parameters({ name: 'appointment-resource', resource: appointment('proposed', 'sched-ada', [target]) }) });
      expect(held.status).to.equal(200);
      const id = held.body.entry[0].resource.id;
      await server.running.services.db.query(`UPDATE slot_claim SET expires_at = now() - interval '1 second' WHERE appointment_id = $1`, [id]);
      // Only reads from here on: they expire nothing themselves.
      const cancelled = await until('the hold to expire', async () => {
        const res = await server.fhir('GET', `Appointment/${id}`);
        return res.body.status === 'cancelled' ? res.body : undefined;
      });
      expect(cancelled.cancelationReason.text).to.match(/hold .*expired/);
      expect((await slot(server, 'dental-1300')).status).to.equal('free');
    });
  });
}
