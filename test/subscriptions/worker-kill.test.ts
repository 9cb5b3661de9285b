import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { eventNumbers, eventually, startReceiver, startSubscriptionServer, subFixture, testSubscriptionConfig, type Receiver } from './support.js';

const ROOT = path.join(__dirname, '..', '..');

/** `npm run worker` as a child process, on the test server's database and Redis. */
async function startWorkerProcess(server: TestServer, queuePrefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: server.running.services.config.databaseUrl,
      REDIS_URL: process.env.TEST_REDIS_URL,
      BASE_URL: server.base,
      QUEUE_PREFIX: queuePrefix,
      SUBSCRIPTION_ENDPOINT_ALLOW: '127.0.0.1',
      SUBSCRIPTION_STALLED_MS: '1000',
      SUBSCRIPTION_TIMEOUT_MS: '2000',
      SUBSCRIPTION_TICK_MS: '200',
      SUBSCRIPTION_RELAY_POLL_MS: '50',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('subscription workers running')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
  return child;
}

describe('a worker killed mid-delivery (SIGKILL)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let receiver: Receiver;
  const children: ChildProcess[] = [];
  const config = testSubscriptionConfig({ runWorkers: false });
  before(async () => {
    server = await startSubscriptionServer('postgres', { ...config });
    receiver = await startReceiver();
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await server?.stop();
    await receiver?.close();
  });

  it('the event is delivered after a restart, with the same notification id; none is lost', async () => {
    children.push(await startWorkerProcess(server, config.queuePrefix));
    const sub = subFixture('backport-appointment-id-only.json');
    sub.channel.endpoint = receiver.url;
    const created = await server.fhir('POST', 'Subscription', { body: sub });
    await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active');

    receiver.hold = true;
    await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    await receiver.waitFor(() => receiver.held.length >= 1);
    children[0].kill('SIGKILL');
    await new Promise((r) => children[0].once('exit', r));
    receiver.hold = false;
    await server.fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') }); // a second event while no worker runs

    children.push(await startWorkerProcess(server, config.queuePrefix));
    await receiver.waitFor(() => receiver.events().flatMap(eventNumbers).includes(2), 30_000);
    const delivered = receiver.events();
    expect(delivered.flatMap(eventNumbers)).to.deep.equal([1, 2]);
    expect(delivered[0].headers['x-notification-id']).to.equal(receiver.held[0].headers['x-notification-id']);
  });
});
