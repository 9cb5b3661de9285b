import { expect } from 'chai';
import { seedAccessFixtures } from '../access/support.js';
import { eventually, notificationType, subFixture, useSubscriptionServer } from '../subscriptions/support.js';
import { fixture } from '../support/examples.js';
import { referral } from './support.js';

const ALL = ['system/*.cruds'];

describe('referrals: the referral-status topic', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('postgres', 'suite');

  it('the receiving organisation subscribed by owner hears of a new referral and of each status it moves to, and not of other changes', async () => {
    await seedAccessFixtures(server().running.services.store);
    const befriending = await server().clientToken({ kind: 'voluntary', org: 'NL0042', scopes: ALL });
    const gp = await server().clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ALL });
    const body = subFixture('referral-status-for-good-neighbours.json');
    body.channel.endpoint = receiver().url;
    const sub = await server().fhir('POST', 'Subscription', { as: befriending, body });
    expect(sub.status, sub.text).to.equal(201);
    await eventually(() => server().fhir('GET', `Subscription/${sub.body.id}`, { as: befriending }), (r) => r.body.status === 'active');

    const made = await server().fhir('POST', '', { as: gp, body: referral() });
    expect(made.status, made.text).to.equal(200);
    const taskId = /Task\/([^/]+)/.exec(made.body.entry[1].response.location)![1];
    const task = (await server().fhir('GET', `Task/${taskId}`, { as: befriending })).body;
    // A note alone is not a status change: no event.
    const noted = await server().fhir('PUT', `Task/${taskId}`, { as: befriending, body: { ...task, note: [{ text: 'Will call the patient' }] } });
    expect(noted.status, noted.text).to.equal(200);
    expect((await server().fhir('PUT', `Task/${taskId}`, { as: befriending, body: { ...noted.body, status: 'accepted' } })).status).to.equal(200);

    const taskStatuses = () =>
      receiver()
        .events()
        .flatMap((r) => (r.json?.entry ?? []).slice(1).map((e: { resource?: { resourceType: string; status: string } }) => e.resource))
        .filter((x: { resourceType?: string } | undefined) => x?.resourceType === 'Task')
        .map((x: { status: string }) => x.status);
    await receiver().waitFor(() => taskStatuses().includes('accepted'));
    expect(taskStatuses()).to.deep.equal(['requested', 'accepted']);
    expect(receiver().events().every((r) => notificationType(r) === 'event-notification')).to.equal(true);
  });
});

describe('referrals: the consultation-summary topic', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('postgres', 'suite');

  it('the registered practice subscribed by its ODS code hears of a pharmacy’s consultation summary for its patient', async () => {
    await seedAccessFixtures(server().running.services.store);
    const practice = await server().clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ALL });
    const pharmacy = await server().clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ALL });
    const body = subFixture('consultation-summary-for-meadow-lane.json');
    body.channel.endpoint = receiver().url;
    const sub = await server().fhir('POST', 'Subscription', { as: practice, body });
    expect(sub.status, sub.text).to.equal(201);
    await eventually(() => server().fhir('GET', `Subscription/${sub.body.id}`, { as: practice }), (r) => r.body.status === 'active');

    const sent = await server().fhir('POST', '$process-message', { as: pharmacy, body: fixture('referrals/consultation-summary-derek.json') });
    expect(sent.status, sent.text).to.equal(200);
    const headers = () =>
      receiver()
        .events()
        .flatMap((r) => (r.json?.entry ?? []).slice(1).map((e: { resource?: { resourceType: string } }) => e.resource))
        .filter((x: { resourceType?: string } | undefined) => x?.resourceType === 'MessageHeader');
    await receiver().waitFor(() => headers().length > 0);
    expect(headers()[0].destination[0].receiver.identifier.value).to.equal('B84002');
  });
});
