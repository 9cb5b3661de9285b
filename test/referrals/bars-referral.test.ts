import { expect } from 'chai';
import { startSeededServer } from '../access/support.js';
import { fixture } from '../support/examples.js';
import type { TestServer } from '../support/server.js';
import { GOOD_NEIGHBOURS, MEADOW_LANE } from './support.js';

describe('referrals: a BaRS servicerequest-request message', function () {
  this.timeout(120_000);
  let server: TestServer;
  let tokens: Record<string, string>;

  before(async () => {
    ({ server, tokens } = await startSeededServer({ gp: { kind: 'gp-practice', org: 'B84002' }, befriending: { kind: 'voluntary', org: 'NL0042' } }));
  });
  after(() => server.stop());

  it('creates the ServiceRequest and its referral Task, which the receiving service then takes through the same loop', async () => {
    const sent = await server.fhir('POST', '$process-message', { as: tokens.gp, body: fixture('referrals/bars-servicerequest-request.json') });
    expect(sent.status, sent.text).to.equal(200);
    expect(sent.body.issue[0].diagnostics).to.match(/Referral received for Organization\/org-good-neighbours/);
    const polled = await server.fhir('GET', `Task?owner=${GOOD_NEIGHBOURS}&status=requested`, { as: tokens.befriending });
    expect(polled.body.entry).to.have.length(1);
    const task = polled.body.entry[0].resource;
    expect(task.requester.reference).to.equal(MEADOW_LANE);
    const request = await server.fhir('GET', task.focus.reference, { as: tokens.befriending });
    expect(request.status).to.equal(200);
    expect(request.body.identifier[0].value).to.equal('REF-2026-0042');
    const accepted = await server.fhir('PUT', `Task/${task.id}`, { as: tokens.befriending, body: { ...task, status: 'accepted' } });
    expect(accepted.status, accepted.text).to.equal(200);
  });

  it('a repeat of the message is recognised and makes no second Task', async () => {
    const again = await server.fhir('POST', '$process-message', { as: tokens.gp, body: fixture('referrals/bars-servicerequest-request.json') });
    expect(again.status).to.equal(200);
    expect(again.body.issue[0].diagnostics).to.contain('already processed');
    expect((await server.fhir('GET', `Task?owner=${GOOD_NEIGHBOURS}&_summary=count`)).body.total).to.equal(1);
  });

  it('a referral message naming no receiving service is 400 and stores nothing', async () => {
    const message = fixture('referrals/bars-servicerequest-request.json') as unknown as { identifier: { value: string }; entry: Array<{ resource: Record<string, unknown> }> };
    message.identifier.value = 'no-receiver';
    delete message.entry[0].resource.destination;
    delete message.entry[1].resource.performer;
    const res = await server.fhir('POST', '$process-message', { as: tokens.gp, body: message });
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].expression).to.deep.equal(['Bundle.entry[1].resource.performer']);
    expect((await server.fhir('GET', 'ServiceRequest?_summary=count')).body.total).to.equal(1);
  });

  it('the message path holds the state machine too: a referral message may not send its Task already accepted by the requester', async () => {
    const message = fixture('referrals/bars-servicerequest-request.json') as unknown as { identifier: { value: string }; entry: Array<{ fullUrl?: string; resource: Record<string, unknown> }> };
    message.identifier.value = 'task-in-message';
    message.entry[1].resource.identifier = [{ system: 'https://meadow-lane.example/referrals', value: 'REF-2026-0043' }];
    message.entry.push({
      resource: { resourceType: 'Task', status: 'accepted', intent: 'order', focus: { reference: message.entry[1].fullUrl }, for: { reference: 'Patient/pat-derek-brown' }, requester: { reference: MEADOW_LANE }, owner: { reference: GOOD_NEIGHBOURS } },
    });
    const res = await server.fhir('POST', '$process-message', { as: tokens.gp, body: message });
    expect(res.status).to.equal(409);
    expect((await server.fhir('GET', 'ServiceRequest?_summary=count')).body.total).to.equal(1);
  });
});
