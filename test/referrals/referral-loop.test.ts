import { expect } from 'chai';
import { seedAccessFixtures } from '../access/support.js';
import { DEREK, GOOD_NEIGHBOURS, MEADOW_LANE, NORTH_MH, referral } from './support.js';
import { describeEachDatabase, type FhirReply, type TestServer } from '../support/server.js';

// The closed loop of the HL7 Gravity SDOH Clinical Care IG's referral Task, over HTTP: Meadow Lane
// (B84002, Derek's GP) refers Derek to Good Neighbours (NL0042, a voluntary befriending scheme that
// is on no team of Derek's); North Mental Health (RGD01, on Derek's team) refers him too, so the GP
// hears of a referral it did not make.
const ALL = ['system/*.cruds'];

/** The id a transaction response gives the entry's resource (Location: [base/]Type/id/_history/n). */
const idIn = (r: FhirReply, entry: number): string => /([A-Za-z]+)\/([^/]+)\/_history\//.exec(r.body.entry[entry].response.location)![2];

describeEachDatabase('referrals that close the loop', (server) => {
  const tokens: Record<string, string> = {};
  let s: TestServer;
  const as = (who: string) => ({ as: tokens[who] });
  const read = async (path: string, who = 'admin') => (await s.fhir('GET', path, who === 'admin' ? {} : as(who))).body;
  /** Every version counter the loop touches: a refused write must leave all of them as they were. */
  const snapshot = async (taskId: string, requestId: string) =>
    Promise.all([`Task/${taskId}`, `ServiceRequest/${requestId}`, 'CareTeam/ct-derek-brown'].map(async (p) => (await read(p)).meta.versionId)).then(async (v) => [
      ...v,
      (await read(`Communication?part-of=Task/${taskId}&_summary=count`)).total,
    ]);
  const put = (who: string, task: Record<string, unknown>) => s.fhir('PUT', `Task/${task.id}`, { ...as(who), body: task });
  const issueOf = (r: FhirReply) => r.body.issue[0];

  let taskId: string;
  let requestId: string;

  before(async () => {
    s = server();
    await seedAccessFixtures(s.running.services.store);
    tokens.gp = await s.clientToken({ kind: 'gp-practice', org: 'B84002', scopes: ALL });
    tokens.befriending = await s.clientToken({ kind: 'voluntary', org: 'NL0042', scopes: ALL });
    tokens.mentalHealth = await s.clientToken({ kind: 'care-provider', org: 'RGD01', scopes: ALL });
    tokens.pharmacy = await s.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ALL });
  });

  it('the GP refers: ServiceRequest and Task in one transaction; the request becomes active with its Task', async () => {
    const r = await s.fhir('POST', '', { ...as('gp'), body: referral() });
    expect(r.status, r.text).to.equal(200);
    requestId = idIn(r, 0);
    taskId = idIn(r, 1);
    expect((await read(`ServiceRequest/${requestId}`)).status).to.equal('active');
  });

  it('the befriending service polls as the IG describes and sees the Task, its request, the patient and the supporting information named, nothing else', async () => {
    const polled = await s.fhir('GET', `Task?owner=${GOOD_NEIGHBOURS}&status=requested&_lastUpdated=gt2020-01-01`, as('befriending'));
    expect(polled.status).to.equal(200);
    expect(polled.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.deep.equal([taskId]);
    for (const path of [`Task/${taskId}`, `ServiceRequest/${requestId}`, DEREK, 'Condition/cond-derek-brown-1']) {
      expect((await s.fhir('GET', path, as('befriending'))).status, path).to.equal(200);
    }
    for (const path of ['Condition/cond-derek-brown-2', 'CareTeam/ct-derek-brown', 'AllergyIntolerance?patient=pat-derek-brown']) {
      const r = await s.fhir('GET', path, as('befriending'));
      expect(r.status === 404 || r.status === 403 || r.body.total === 0, path).to.equal(true);
    }
    const conditions = await s.fhir('GET', `Condition?patient=${DEREK}`, as('befriending'));
    expect(conditions.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.deep.equal(['cond-derek-brown-1']);
    expect((await s.fhir('GET', `MedicationRequest?patient=${DEREK}`, as('befriending'))).body.total).to.equal(0);
  });

  it('the requester polls its referrals; an organisation that is neither party nor on the team sees nothing of them', async () => {
    const mine = await s.fhir('GET', `Task?requester=${MEADOW_LANE}&patient=${DEREK}`, as('gp'));
    expect(mine.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).to.deep.equal([taskId]);
    expect((await s.fhir('GET', `Task/${taskId}`, as('pharmacy'))).status).to.equal(404);
  });

  it('wrong order and wrong party are refused (409 naming the allowed next states, 403) and nothing changes', async () => {
    const before = await snapshot(taskId, requestId);
    const task = await read(`Task/${taskId}`);
    const started = await put('befriending', { ...task, status: 'in-progress' });
    expect(started.status).to.equal(409);
    expect(issueOf(started).expression).to.deep.equal(['Task.status']);
    expect(issueOf(started).diagnostics).to.match(/from requested may go to received, accepted, rejected, cancelled, entered-in-error/);
    const gpAccepts = await put('gp', { ...task, status: 'accepted' });
    expect(gpAccepts.status).to.equal(403);
    expect(issueOf(gpAccepts).diagnostics).to.match(/only the owner may set status accepted/);
    const rewrites = await put('befriending', { ...task, priority: 'urgent', description: 'changed' });
    expect(rewrites.status).to.equal(403);
    expect(issueOf(rewrites).diagnostics).to.match(/may change only status, statusReason, businessStatus, output, note/);
    const reasonless = await put('befriending', { ...task, status: 'rejected' });
    expect(reasonless.status).to.equal(422);
    expect(issueOf(reasonless).expression).to.deep.equal(['Task.statusReason']);
    const unfocused = await put('gp', { ...task, focus: undefined, status: 'completed', output: [{ type: { text: 'Outcome' }, valueString: 'x' }] });
    expect(unfocused.status, 'leaving the state machine by dropping the focus').to.equal(422);
    expect(issueOf(unfocused).expression).to.deep.equal(['Task.focus']);
    const deleted = await s.fhir('DELETE', `Task/${taskId}`, as('gp'));
    expect(deleted.status, 'deleted instead of withdrawn').to.equal(409);
    expect(issueOf(deleted).diagnostics).to.match(/entered-in-error/);
    const pharmacy = await put('pharmacy', { ...task, status: 'accepted' });
    expect(pharmacy.status).to.equal(403);
    const patched = await s.fhir('PATCH', `Task/${taskId}`, {
      ...as('befriending'),
      headers: { 'content-type': 'application/json-patch+json' },
      body: [{ op: 'replace', path: '/status', value: 'completed' }],
    });
    expect(patched.status).to.equal(409);
    const inBundle = await s.fhir('POST', '', { ...as('gp'), body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...task, status: 'in-progress' }, request: { method: 'PUT', url: `Task/${taskId}` } }] } });
    expect(inBundle.status).to.equal(409);
    expect(await snapshot(taskId, requestId)).to.deep.equal(before);
  });

  it('the service accepts (FHIRPath Patch) and joins the patient’s care team with a period starting now', async () => {
    const r = await s.fhir('PATCH', `Task/${taskId}`, {
      ...as('befriending'),
      body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Task.status' }, { name: 'value', valueCode: 'accepted' }] }] },
    });
    expect(r.status, r.text).to.equal(200);
    const team = await s.fhir('GET', 'CareTeam/ct-derek-brown', as('befriending'));
    expect(team.status).to.equal(200);
    const joined = team.body.participant.find((p: { id?: string }) => p.id === `referral-${taskId}`);
    expect(joined.member.reference).to.equal(GOOD_NEIGHBOURS);
    expect(joined.period.start).to.equal(r.body.meta.lastUpdated);
    expect(joined.period.end).to.equal(undefined);
    expect(joined.role[0].coding[0].code).to.equal('voluntary-organisation');
    // A team member now, with what the voluntary policy gives team members: still no clinical record.
    expect((await s.fhir('GET', 'Condition/cond-derek-brown-2', as('befriending'))).status).to.equal(404);
  });

  it('it starts, and completes with its outcome: the request completes, the participation ends, and the GP gets the Communication', async () => {
    const started = await put('befriending', { ...(await read(`Task/${taskId}`)), status: 'in-progress', businessStatus: { text: 'Volunteer matched' } });
    expect(started.status, started.text).to.equal(200);
    const before = await snapshot(taskId, requestId);
    const outcomeless = await put('befriending', { ...started.body, status: 'completed' });
    expect(outcomeless.status).to.equal(422);
    expect(issueOf(outcomeless).expression).to.deep.equal(['Task.output']);
    const output = [{ type: { text: 'Outcome' }, valueString: 'x' }];
    expect((await put('gp', { ...started.body, status: 'completed', output })).status, 'the requester completes').to.equal(403);
    expect((await put('befriending', { ...started.body, status: 'entered-in-error' })).status, 'the owner withdraws as entered in error').to.equal(403);
    expect((await put('befriending', { ...started.body, status: 'requested' })).status, 'back to requested').to.equal(409);
    expect(await snapshot(taskId, requestId)).to.deep.equal(before);
    const done = await put('befriending', {
      ...started.body,
      status: 'completed',
      output: [{ type: { text: 'Outcome' }, valueString: 'Weekly visits for 12 weeks; loneliness score improved' }],
    });
    expect(done.status, done.text).to.equal(200);
    expect((await read(`ServiceRequest/${requestId}`)).status).to.equal('completed');
    const team = await read('CareTeam/ct-derek-brown');
    const participation = team.participant.find((p: { id?: string }) => p.id === `referral-${taskId}`);
    expect(participation.period.end).to.equal(done.body.meta.lastUpdated);
    const sent = await s.fhir('GET', `Communication?part-of=Task/${taskId}`, as('gp'));
    expect(sent.body.entry).to.have.length(1);
    const message = sent.body.entry[0].resource;
    expect(message.recipient.map((r: { reference: string }) => r.reference)).to.deep.equal([MEADOW_LANE]);
    expect(message.sender.reference).to.equal(GOOD_NEIGHBOURS);
    expect(message.payload[0].contentString).to.match(/Befriending completed\. Outcome: Weekly visits for 12 weeks/);
  });

  it('a completed referral is final: nobody may change it', async () => {
    const before = await snapshot(taskId, requestId);
    const task = await read(`Task/${taskId}`);
    const cancel = await put('gp', { ...task, status: 'cancelled', statusReason: { text: 'no longer needed' } });
    expect(cancel.status).to.equal(409);
    expect(issueOf(cancel).diagnostics).to.match(/completed, a final state/);
    expect((await put('befriending', { ...task, note: [{ text: 'late note' }] })).status).to.equal(409);
    expect(await snapshot(taskId, requestId)).to.deep.equal(before);
  });

  it('a referral the GP did not make: rejected with a reason, the referrer and the registered GP both read the outcome', async () => {
    const r = await s.fhir('POST', '', { ...as('mentalHealth'), body: referral(NORTH_MH, []) });
    expect(r.status, r.text).to.equal(200);
    const id = idIn(r, 1);
    const srId = idIn(r, 0);
    const task = await read(`Task/${id}`);
    const rejected = await put('befriending', { ...task, status: 'rejected', statusReason: { text: 'Outside our area' } });
    expect(rejected.status, rejected.text).to.equal(200);
    expect((await read(`ServiceRequest/${srId}`)).status).to.equal('revoked');
    for (const who of ['gp', 'mentalHealth']) {
      const got = await s.fhir('GET', `Communication?part-of=Task/${id}`, as(who));
      expect(got.body.entry, who).to.have.length(1);
      expect(got.body.entry[0].resource.recipient.map((x: { reference: string }) => x.reference)).to.deep.equal([NORTH_MH, MEADOW_LANE]);
      expect(got.body.entry[0].resource.payload[0].contentString).to.match(/rejected: Outside our area/);
    }
    // Never accepted, so it never joined the team.
    expect((await read('CareTeam/ct-derek-brown')).participant.some((p: { id?: string }) => p.id === `referral-${id}`)).to.equal(false);
  });

  it('a reason with neither text nor a display or code reads as no reason, not as "undefined"', async () => {
    const r = await s.fhir('POST', '', { ...as('mentalHealth'), body: referral(NORTH_MH, []) });
    const id = idIn(r, 1);
    const rejected = await put('befriending', { ...(await read(`Task/${id}`)), status: 'rejected', statusReason: { coding: [{ system: 'https://example.org/reasons' }] } });
    expect(rejected.status, rejected.text).to.equal(200);
    const got = await s.fhir('GET', `Communication?part-of=Task/${id}`, as('mentalHealth'));
    const said: string = got.body.entry[0].resource.payload[0].contentString;
    expect(said).to.match(/ rejected$/);
    expect(said).to.not.contain('undefined');
  });

  it('the requester may cancel with a reason; the owner may not then complete it', async () => {
    const r = await s.fhir('POST', '', { ...as('gp'), body: referral(MEADOW_LANE, []) });
    const id = idIn(r, 1);
    const accepted = await put('befriending', { ...(await read(`Task/${id}`)), status: 'accepted' });
    expect(accepted.status).to.equal(200);
    const cancelled = await put('gp', { ...accepted.body, status: 'cancelled', statusReason: { text: 'Patient moved away' } });
    expect(cancelled.status, cancelled.text).to.equal(200);
    const participation = (await read('CareTeam/ct-derek-brown')).participant.find((p: { id?: string }) => p.id === `referral-${id}`);
    expect(participation.period.end).to.equal(cancelled.body.meta.lastUpdated);
    const late = await put('befriending', { ...cancelled.body, status: 'completed', output: [{ type: { text: 'Outcome' }, valueString: 'x' }] });
    expect(late.status).to.equal(409);
  });

  it('an accept and a reject sent at once: one wins, the other is refused as out of order', async () => {
    const r = await s.fhir('POST', '', { ...as('gp'), body: referral(MEADOW_LANE, []) });
    const id = idIn(r, 1);
    const task = await read(`Task/${id}`);
    const replies = await Promise.all([
      put('befriending', { ...task, status: 'accepted' }),
      put('befriending', { ...task, status: 'rejected', statusReason: { text: 'No volunteers free' } }),
    ]);
    expect(replies.map((x) => x.status).sort()).to.deep.equal([200, 409]);
    const winner = replies.find((x) => x.status === 200)!.body.status;
    expect((await read(`Task/${id}`)).status).to.equal(winner);
    expect((await read(`Task/${id}/_history`)).total).to.equal(2);
  });

  it('only the requester creates a referral, and only as draft or requested', async () => {
    const accepted = referral(MEADOW_LANE, []);
    (accepted.entry[1].resource as { status: string }).status = 'accepted';
    const r = await s.fhir('POST', '', { ...as('gp'), body: accepted });
    expect(r.status).to.equal(409);
    expect(issueOf(r).diagnostics).to.match(/a new referral may go to draft, requested/);
    const forOther = await s.fhir('POST', '', { ...as('gp'), body: referral(NORTH_MH, []) });
    expect(forOther.status).to.equal(403);
  });
});
