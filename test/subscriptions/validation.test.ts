import { expect } from 'chai';
import type { TestServer } from '../support/server.js';
import { startSubscriptionServer, subFixture } from './support.js';

/** 422 with an OperationOutcome naming the element. */
async function refused(server: TestServer, sub: unknown, expression: string, diagnostics: RegExp): Promise<void> {
  const res = await server.fhir('POST', 'Subscription', { body: sub });
  expect(res.status, res.text).to.equal(422);
  expect(res.body.resourceType).to.equal('OperationOutcome');
  const hit = res.body.issue.find((i: { expression?: string[] }) => i.expression?.[0]?.startsWith(expression));
  expect(hit, res.text).to.not.equal(undefined);
  expect(hit.diagnostics).to.match(diagnostics);
}

describe('Subscription checks at create (422 with expression; nothing stored)', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startSubscriptionServer('pglite', { runWorkers: false });
  });
  after(async () => {
    await server?.stop();
  });

  it('an unknown topic is refused', async () => {
    const sub = subFixture('backport-appointment-id-only.json');
    sub.criteria = 'http://neighbourhood-hub.example/fhir/SubscriptionTopic/weather';
    await refused(server, sub, 'Subscription.criteria', /Unknown subscription topic/);
  });

  it('a filter the topic does not offer is refused', async () => {
    const sub = subFixture('backport-appointment-id-only.json');
    sub._criteria.extension[0].valueString = 'Appointment?colour=blue';
    await refused(server, sub, 'Subscription.criteria.extension[0]', /cannot filter by Appointment\?colour/);
  });

  it('an unknown payload content is refused', async () => {
    const sub = subFixture('backport-appointment-id-only.json');
    sub.channel._payload.extension[0].valueCode = 'everything';
    await refused(server, sub, 'Subscription.channel.payload', /Unknown payload content/);
  });

  it('R4 criteria that are not a valid search are refused', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.criteria = 'CareTeam?no-such-parameter=1';
    await refused(server, sub, 'Subscription.criteria', /not a valid search/);
  });

  it('criteria on AuditEvent are refused: the audit trail has no change log to notify from', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.criteria = 'AuditEvent?patient=Patient/p1';
    await refused(server, sub, 'Subscription.criteria', /AuditEvents are not notified.*\$export/);
  });

  it('an unsupported channel type is refused', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.channel.type = 'email';
    sub.channel.endpoint = 'mailto:gp@example.org';
    await refused(server, sub, 'Subscription.channel.type', /not supported/);
  });

  it('plain http to a host not on the allow-list is refused', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.channel.endpoint = 'http://receiver.example.org/hook';
    await refused(server, sub, 'Subscription.channel.endpoint', /must use https/);
  });

  for (const address of ['10.1.2.3', '169.254.169.254', '192.168.0.10', '[fd00::1]', '[::ffff:127.0.0.2]']) {
    it(`https to the private or link-local address ${address} is refused (no SSRF)`, async () => {
      const sub = subFixture('r4-careteam-criteria-ping.json');
      sub.channel.endpoint = `https://${address}/hook`;
      await refused(server, sub, 'Subscription.channel.endpoint', /private, loopback or link-local/);
    });
  }

  it('a valid subscription is stored as requested, whatever status the client sent', async () => {
    const sub = subFixture('r4-careteam-criteria-ping.json');
    sub.status = 'active';
    const res = await server.fhir('POST', 'Subscription', { body: sub });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.status).to.equal('requested');
  });

  it('the topics are served as Basic resources and listed in the CapabilityStatement', async () => {
    const basics = await server.fhir('GET', 'Basic?code=SubscriptionTopic');
    const urls = basics.body.entry.map((e: any) => e.resource.extension.find((x: any) => x.url.endsWith('artifact-url')).valueUri);
    expect(urls).to.include.members([
      'http://neighbourhood-hub.example/fhir/SubscriptionTopic/care-team-membership',
      'http://neighbourhood-hub.example/fhir/SubscriptionTopic/prescription-issued-or-cancelled',
      'http://neighbourhood-hub.example/fhir/SubscriptionTopic/appointment-booked-changed-cancelled',
      'http://neighbourhood-hub.example/fhir/SubscriptionTopic/patient-demographics',
    ]);
    const cs = await server.fhir('GET', 'metadata');
    const subscription = cs.body.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    expect(subscription.supportedProfile).to.include('http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription');
    expect(subscription.extension.map((e: any) => e.valueCanonical)).to.include(urls[0]);
    expect(subscription.operation.map((o: { name: string }) => o.name)).to.include.members(['status', 'events', 'get-ws-binding-token']);
  });
});
