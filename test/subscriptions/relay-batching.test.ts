import { expect } from 'chai';
import { Queues } from '../../workers/queues.js';
import { Relay, RELAY_LOCK } from '../../workers/relay.js';
import type { TestServer } from '../support/server.js';
import { startSubscriptionServer, subFixture, testSubscriptionConfig } from './support.js';

// Behind a busy matcher the relay does not queue one small batch per commit: while a batch waits to
// be matched, committed changes stay in the change log and go later as one batch.
describe('the relay while a batch waits for the matcher', function () {
  this.timeout(120_000);
  let server: TestServer;
  let queues: Queues;
  before(async () => {
    server = await startSubscriptionServer('postgres', { runWorkers: false });
    queues = new Queues(testSubscriptionConfig()); // a queue prefix of its own: no matcher takes these jobs
  });
  after(async () => {
    await queues?.close();
    await server?.stop();
  });

  const unrelayed = async (): Promise<number> =>
    Number((await server.running.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_log WHERE relayed_at IS NULL'))[0].n);

  it('leaves the changes in the change log, then relays them all in one batch', async () => {
    const relay = new Relay(server.running.services.db, queues);
    await relay.relayOnce(); // what start-up wrote (the topics)
    await queues.changes.drain(); // ... and its batch taken
    const waiting = await queues.changes.add('changes', { changes: [] });
    for (let i = 0; i < 3; i++) expect((await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') })).status).to.equal(201);

    expect(await relay.relayOnce()).to.equal(0);
    const held = await unrelayed();
    expect(held).to.be.at.least(3);

    await waiting.remove(); // the matcher took it
    expect(await relay.relayOnce()).to.equal(held);
    expect(await unrelayed()).to.equal(0);
    const jobs = await queues.changes.getWaiting();
    expect(jobs.map((j) => j.data.changes.length)).to.deep.equal([held]);
  });

  // Batches stay in seq order because one relay at a time moves rows: one that finds the lock taken
  // leaves every row as it is, even those the other relay has not locked.
  it('relays nothing while another relay holds the lock', async () => {
    const db = server.running.services.db;
    const relay = new Relay(db, queues);
    await queues.changes.drain();
    expect((await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') })).status).to.equal(201);
    const before = await unrelayed();
    expect(before).to.be.at.least(1);
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [RELAY_LOCK]);
      expect(await relay.relayOnce()).to.equal(0);
    });
    expect(await unrelayed()).to.equal(before);
    expect(await relay.relayOnce()).to.equal(before);
    expect(await unrelayed()).to.equal(0);
  });
});
