import { expect } from 'chai';
import { migrate } from '../../server/store/migrate.js';
import { describeEachDatabase, type TestServer } from '../support/server.js';
import { loadAvailability } from './support.js';

interface Availability {
  slot_id: string;
  schedule_id: string;
  start: string;
  end: string;
  status: string;
}

/** The slot_availability rows ($find's projection of Slots) starting at these instants. */
async function availabilityAt(server: TestServer, ...starts: string[]): Promise<Availability[]> {
  const rows = await server.running.services.db.query<Availability>(
    `SELECT slot_id, schedule_id, to_json(start) #>> '{}' AS start, to_json("end") #>> '{}' AS "end", status FROM slot_availability WHERE start = ANY($1::timestamptz[]) ORDER BY start`,
    [starts],
  );
  return rows.map((r) => ({ ...r, start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString() }));
}

function newSlot(start: string, end: string, schedule = 'Schedule/sched-gp'): Record<string, unknown> {
  return { resourceType: 'Slot', schedule: { reference: schedule }, status: 'free', start, end };
}

describeEachDatabase('slot_availability follows every Slot write', (server) => {
  before(async () => loadAvailability(server()));

  it('the fixture’s Slots (written by PUT in a transaction) each have their row', async () => {
    const rows = await server().running.services.db.query<Availability>(`SELECT slot_id, schedule_id, status FROM slot_availability WHERE slot_id = 'gp-0900'`);
    expect(rows).to.deep.equal([{ slot_id: 'gp-0900', schedule_id: 'sched-gp', status: 'free' }]);
  });

  it('creates written together (a transaction of POSTs) add their rows; an update changes the row; a delete removes it', async () => {
    const [a, b] = ['2031-01-06T09:00:00.000Z', '2031-01-06T09:15:00.000Z'];
    const created = await server().fhir('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: newSlot(a, b), request: { method: 'POST', url: 'Slot' } },
          { resource: newSlot(b, '2031-01-06T09:30:00.000Z', 'Schedule/sched-dental'), request: { method: 'POST', url: 'Slot' } },
        ],
      },
    });
    expect(created.status, created.text).to.equal(200);
    const [first, second] = created.body.entry.map((e: { response: { location: string } }) => /Slot\/([^/]+)/.exec(e.response.location)?.[1]);
    expect(await availabilityAt(server(), a, b)).to.deep.equal([
      { slot_id: first, schedule_id: 'sched-gp', start: a, end: b, status: 'free' },
      { slot_id: second, schedule_id: 'sched-dental', start: b, end: '2031-01-06T09:30:00.000Z', status: 'free' },
    ]);

    const read = await server().fhir('GET', `Slot/${first}`);
    const busy = await server().fhir('PUT', `Slot/${first}`, { body: { ...read.body, status: 'busy' } });
    expect(busy.status, busy.text).to.equal(200);
    expect((await availabilityAt(server(), a)).map((r) => r.status)).to.deep.equal(['busy']);

    const deleted = await server().fhir('DELETE', `Slot/${second}`);
    expect(deleted.status).to.be.oneOf([200, 204]);
    expect((await availabilityAt(server(), a, b)).map((r) => r.slot_id)).to.deep.equal([first]);
  });

  it('a transaction that fails leaves no row for the Slot it created', async () => {
    const start = '2031-01-07T09:00:00.000Z';
    const failed = await server().fhir('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: newSlot(start, '2031-01-07T09:15:00.000Z'), request: { method: 'POST', url: 'Slot' } },
          { resource: newSlot('2031-01-07T10:00:00.000Z', '2031-01-07T10:15:00.000Z'), request: { method: 'PUT', url: 'Slot/gp-0900', ifMatch: 'W/"999"' } },
        ],
      },
    });
    expect(failed.status, failed.text).to.be.within(400, 499);
    expect(await availabilityAt(server(), start)).to.deep.equal([]);
  });

  it('the migration fills the projection from the Slots already stored', async () => {
    const db = server().running.services.db;
    const before = await db.query(`SELECT slot_id, schedule_id, start, "end", status FROM slot_availability ORDER BY slot_id`);
    expect(before.length).to.be.greaterThan(10);
    await db.query('DROP TABLE slot_availability');
    await db.query(`DELETE FROM schema_migrations WHERE version = '120_slot_availability'`);
    expect(await migrate(db)).to.deep.equal(['120_slot_availability']);
    expect(await db.query(`SELECT slot_id, schedule_id, start, "end", status FROM slot_availability ORDER BY slot_id`)).to.deep.equal(before);
  });
});
