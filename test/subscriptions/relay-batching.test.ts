import { expect } from 'chai';
import { Queues } from '../../workers/queues.js';
import type { Db } from '../../server/store/db.js';
import { HELD_RECHECK_MS, Relay, RELAY_LOCK } from '../../workers/relay.js';
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

  // A finished match job wakes the relay only for rows it held back: otherwise each commit has had a
  // pass of its own already, and a probe would find nothing.
  it('a finished batch makes no pass unless rows were held back for it; held rows go once it is taken, even unheard', async () => {
    const db = server.running.services.db;
    let statements = 0;
    const counted = new Proxy(db, {
      get: (target, name, receiver) => (name === 'query' ? (...args: Parameters<Db['query']>) => (statements++, target.query(...args)) : Reflect.get(target, name, receiver)),
    }) as Db;
    const relay = new Relay(counted, queues);
    await relay.relayOnce();
    await queues.changes.drain();
    statements = 0;
    relay.batchTaken();
    await new Promise((r) => setTimeout(r, 4 * HELD_RECHECK_MS));
    expect(statements).to.equal(0);

    const waiting = await queues.changes.add('changes', { changes: [] });
    expect((await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') })).status).to.equal(201);
    expect(await relay.relayOnce()).to.equal(0);
    expect(await unrelayed()).to.be.at.least(1);
    // Taken by a matcher this process does not hear from: no batchTaken, no commit; the re-check finds it gone.
    await waiting.remove();
    const until = Date.now() + 5000;
    while ((await unrelayed()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, HELD_RECHECK_MS));
    expect(await unrelayed()).to.equal(0);
    await relay.stop();
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
