import { expect } from 'chai';
import WebSocket from 'ws';
import { eventNumbers, eventually, notificationType, statusParam, subFixture, useSubscriptionServer } from './support.js';

const CARE_TEAM_TOPIC = 'http://neighbourhood-hub.example/fhir/SubscriptionTopic/care-team-membership';

function topicSubscription(endpoint: string | undefined, content: string, extra: (s: any) => void = () => undefined): any {
  const sub = subFixture('backport-appointment-id-only.json');
  sub.criteria = CARE_TEAM_TOPIC;
  sub._criteria.extension[0].valueString = 'CareTeam?patient=Patient/patient-ada';
  sub.channel.endpoint = endpoint;
  sub.channel._payload.extension[0].valueCode = content;
  extra(sub);
  return sub;
}

describe('Backport channels and shapes: heartbeat, empty payload, topic triggers, websocket', function () {
  this.timeout(60_000);
  const { server, receiver } = useSubscriptionServer('pglite', 'test');

  it('heartbeats arrive every backport-heartbeat-period with type heartbeat and no events', async () => {
    const sub = topicSubscription(receiver().url, 'empty', (s) => {
      s.channel.extension = [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period', valueUnsignedInt: 1 }];
    });
    const res = await server().fhir('POST', 'Subscription', { body: sub });
    await receiver().waitFor((r) => r.filter((x) => notificationType(x) === 'heartbeat').length >= 2, 10_000);
    const beat = receiver().received.find((x) => notificationType(x) === 'heartbeat')!;
    expect(statusParam(beat.json, 'status').valueCode).to.equal('active');
    expect(eventNumbers(beat)).to.deep.equal([]);
    expect(beat.json.entry).to.have.length(1);
    await server().fhir('DELETE', `Subscription/${res.body.id}`);
  });

  it('care team topic: empty payload has no focus and no topic; an update that changes no member is not an event', async () => {
    await server().fhir('POST', 'Subscription', { body: topicSubscription(receiver().url, 'empty') });
    await receiver().waitFor((r) => r.some((x) => notificationType(x) === 'handshake'));
    const team = await server().fhir('POST', 'CareTeam', { body: subFixture('careteam-for-ada.json') });
    await server().fhir('PUT', `CareTeam/${team.body.id}`, { body: { ...team.body, name: 'renamed, same members' } });
    const grown = { ...team.body, participant: [...team.body.participant, { member: { reference: 'Practitioner/gp-amir' } }] };
    await server().fhir('PUT', `CareTeam/${team.body.id}`, { body: grown });
    await receiver().waitFor(() => receiver().events().length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    const events = receiver().events();
    expect(events.flatMap(eventNumbers)).to.deep.equal([1, 2]);
    const first = events[0].json;
    expect(first.entry).to.have.length(1);
    expect(statusParam(first, 'topic')).to.equal(undefined);
    const part = statusParam(first, 'notification-event').part.map((p: { name: string }) => p.name);
    expect(part).to.deep.equal(['event-number', 'timestamp']);
  });

  it('websocket: $get-ws-binding-token, bind-with-token, a handshake, then the same notification Bundles', async () => {
    const sub = topicSubscription(undefined, 'id-only', (s) => {
      s.channel.type = 'websocket';
      delete s.channel.endpoint;
      s._criteria.extension[0].valueString = 'CareTeam?patient=Patient/patient-ws';
    });
    const created = await server().fhir('POST', 'Subscription', { body: sub });
    expect(created.status, created.text).to.equal(201);
    await eventually(() => server().fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active');
    const team = { ...subFixture('careteam-for-ada.json'), subject: { reference: 'Patient/patient-ws' } };
    await server().fhir('POST', 'CareTeam', { body: team }); // before anyone is bound: waits, then arrives on bind

    const tokenRes = await server().fhir('GET', `Subscription/${created.body.id}/$get-ws-binding-token`);
    expect(tokenRes.status, tokenRes.text).to.equal(200);
    const param = (name: string) => tokenRes.body.parameter.find((p: { name: string }) => p.name === name);
    const messages: any[] = [];
    const ws = new WebSocket(param('websocket-url').valueUrl);
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(`bind-with-token ${param('token').valueString}`);
    // The event waited for a bind; under a loaded machine the relay, match and delivery may take a while.
    await eventually(async () => messages.length, (n) => n >= 2, 30_000);
    expect(statusParam(messages[0], 'type').valueCode).to.equal('handshake');
    await server().fhir('POST', 'CareTeam', { body: team });
    await eventually(async () => messages.length, (n) => n >= 3);
    const numbers = messages.slice(1).flatMap((m) => eventNumbers({ json: m } as never));
    expect(numbers).to.deep.equal([1, 2]);
    ws.close();
  });
});
