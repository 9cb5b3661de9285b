import { expect } from 'chai';
import { eventually, subFixture, useSubscriptionServer } from '../subscriptions/support.js';

describe('operator view of queues and deliveries (/metrics, /readyz)', function () {
  this.timeout(120_000);
  const { server, receiver } = useSubscriptionServer('postgres', 'suite');

  const metrics = async (): Promise<string> => (await fetch(`${server().running.url}/metrics`)).text();

  it('/readyz checks Redis as well as the database', async () => {
    const body = (await (await fetch(`${server().running.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks).to.include({ database: 'ok', migrations: 'ok', redis: 'ok' });
  });

  it('/metrics shows BullMQ queue depths by queue and state', async () => {
    const text = await metrics();
    for (const queue of ['changes', 'deliveries', 'exports']) expect(text).to.match(new RegExp(`bullmq_queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+`));
  });

  it('a delivered notification shows in the commit-to-receipt latency histogram', async () => {
    await metrics(); // the histogram counts deliveries after its first scrape
    const sub = subFixture('backport-appointment-id-only.json');
    sub.channel.endpoint = receiver().url;
    const created = await server().fhir('POST', 'Subscription', { body: sub });
    await eventually(() => server().fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active', 30_000);
    await server().fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    await receiver().waitFor(() => receiver().events().length >= 1, 30_000);
    const text = await eventually(metrics, (t) => /subscription_delivery_latency_seconds_count (\d+)/.exec(t)?.[1] !== '0', 10_000);
    expect(Number(/subscription_delivery_latency_seconds_count (\d+)/.exec(text)?.[1])).to.be.at.least(1);
  });

  it('failed deliveries are counted by the status of their subscription', async () => {
    receiver().failWith = 503;
    await server().fhir('POST', 'Appointment', { body: subFixture('appointment-booked-for-ada.json') });
    const text = await eventually(metrics, (t) => /subscription_failed_deliveries\{subscription_status="[a-z]+"\} [1-9]/.test(t), 30_000);
    expect(text).to.match(/subscription_failed_deliveries\{subscription_status="(active|error)"\} [1-9]/);
    receiver().failWith = undefined;
  });
});
