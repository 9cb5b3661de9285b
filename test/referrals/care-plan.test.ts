import { expect } from 'chai';
import { countOf, seedAccessFixtures } from '../access/support.js';
import { fixture } from '../support/examples.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { referral } from './support.js';

const ALL = ['system/*.cruds'];
const RIVERSIDE = 'Organization/org-riverside-surgery';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are edited per test
const plan = (): any => fixture('referrals/careplan-margaret-jones.json');

// Margaret Jones is registered with Riverside (B84001), whose Jo Walker is her team's care coordinator.
describe('referrals: the shared care plan (NeighbourhoodCarePlan)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let riverside: string;
  let planId: string;

  before(async () => {
    server = await startTestServer('postgres');
    await seedAccessFixtures(server.running.services.store);
    riverside = await server.clientToken({ kind: 'gp-practice', org: 'B84001', scopes: ALL });
  });
  after(() => server.stop());

  it('the named care coordinator’s plan for the patient’s team is stored', async () => {
    const res = await server.fhir('POST', 'CarePlan', { as: riverside, body: plan() });
    expect(res.status, res.text).to.equal(201);
    planId = res.body.id;
  });

  it('a second active plan for the same patient is refused (409), and nothing is stored', async () => {
    const res = await server.fhir('POST', 'CarePlan', { as: riverside, body: plan() });
    expect(res.status).to.equal(409);
    expect(res.body.issue[0].diagnostics).to.contain(`CarePlan/${planId}`);
    expect(await countOf(server, 'CarePlan?patient=Patient/pat-margaret-jones')).to.equal(1);
  });

  it('in one transaction with a new patient, a second active plan is refused (409) at its entry, naming the first; one plan is stored', async () => {
    const newPlan = () => ({ ...plan(), subject: { reference: 'urn:uuid:plan-patient' }, careTeam: [{ reference: 'urn:uuid:plan-team' }], addresses: undefined, activity: undefined });
    const entries = (plans: number) => [
      { fullUrl: 'urn:uuid:plan-patient', resource: { resourceType: 'Patient', name: [{ family: 'PlannedInBundle' }] }, request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: 'urn:uuid:plan-team',
        resource: {
          resourceType: 'CareTeam',
          status: 'active',
          subject: { reference: 'urn:uuid:plan-patient' },
          participant: [{ role: [{ coding: [{ system: 'http://snomed.info/sct', code: '768820003' }] }], member: { reference: 'PractitionerRole/role-walker-care-coordinator' } }],
        },
        request: { method: 'POST', url: 'CareTeam' },
      },
      ...Array.from({ length: plans }, () => ({ resource: newPlan(), request: { method: 'POST', url: 'CarePlan' } })),
    ];
    const two = await server.fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: entries(2) } });
    expect(two.status, two.text).to.equal(409);
    expect(two.body.issue[0].diagnostics).to.match(/^Bundle\.entry\[3\].*already has an active neighbourhood care plan \(CarePlan\/[^)]+\)/);
    expect(await countOf(server, 'Patient?family=PlannedInBundle')).to.equal(0);
    const one = await server.fhir('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: entries(1) } });
    expect(one.status, one.text).to.equal(200);
    const patient = /Patient\/[^/]+/.exec(one.body.entry[0].response.location)?.[0];
    expect(await countOf(server, `CarePlan?patient=${patient}&status=active`)).to.equal(1);
  });

  it('a plan authored by someone other than the team’s care coordinator is 422 naming CarePlan.author', async () => {
    const res = await server.fhir('POST', 'CarePlan', { as: riverside, body: { ...plan(), status: 'draft', author: { reference: 'PractitionerRole/role-okafor-gp' } } });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0].expression).to.deep.equal(['CarePlan.author']);
    expect(res.body.issue[0].diagnostics).to.contain('role-walker-care-coordinator');
  });

  it('Patient/$care-team includes the active plan', async () => {
    const res = await server.fhir('GET', 'Patient/pat-margaret-jones/$care-team', { as: riverside });
    expect(res.status).to.equal(200);
    const included = res.body.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'CarePlan');
    expect(included.map((e: { resource: { id: string }; search: { mode: string } }) => [e.resource.id, e.search.mode])).to.deep.equal([[planId, 'include']]);
    expect(res.body.entry.at(-1).resource.issue[0].diagnostics).to.contain(`shared care plan CarePlan/${planId}`);
  });

  it('a referral for the patient becomes an activity of the plan, and the plan shows its state through the ServiceRequest', async () => {
    const bundle = referral(RIVERSIDE, []);
    for (const e of bundle.entry) e.resource[e.resource.resourceType === 'Task' ? 'for' : 'subject'] = { reference: 'Patient/pat-margaret-jones' };
    const made = await server.fhir('POST', '', { as: riverside, body: bundle });
    expect(made.status, made.text).to.equal(200);
    const requestId = /ServiceRequest\/([^/]+)/.exec(made.body.entry[0].response.location)![1];
    const withActivities = await server.fhir('GET', `CarePlan?_id=${planId}&_include=CarePlan:activity-reference`, { as: riverside });
    const current = withActivities.body.entry.find((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'CarePlan').resource;
    expect(current.activity.map((a: { reference: { reference: string } }) => a.reference.reference)).to.deep.equal(['Appointment/appt-margaret-mdt-review', `ServiceRequest/${requestId}`]);
    const request = withActivities.body.entry.find((e: { resource: { resourceType: string; id: string } }) => e.resource.id === requestId).resource;
    expect(request.status).to.equal('active');
  });
});
