import { expect } from 'chai';
import { startSeededServer } from '../access/support.js';
import type { TestServer } from '../support/server.js';
import { DEREK, MEADOW_LANE, referral } from './support.js';

const COMMUNITY_HEALTH = 'Organization/org-community-health';

// Community Health (RY6, a care provider) is on no team of Derek's: as the owner of a referral it
// sees what the referral needs; once it accepts, the care-provider policy gives it what a team member sees.
describe('referrals: a care provider as the receiving organisation', function () {
  this.timeout(120_000);
  let server: TestServer;
  let tokens: Record<string, string>;

  before(async () => {
    ({ server, tokens } = await startSeededServer({ gp: { kind: 'gp-practice', org: 'B84002' }, community: { kind: 'care-provider', org: 'RY6' } }));
  });
  after(() => server.stop());

  it('sees the referral, its request, the patient and the supporting information; after accepting, the record a team member sees', async () => {
    const bundle = referral(MEADOW_LANE, ['Condition/cond-derek-brown-1']);
    bundle.entry[0].resource.performer = [{ reference: COMMUNITY_HEALTH }];
    bundle.entry[1].resource.owner = { reference: COMMUNITY_HEALTH };
    const made = await server.fhir('POST', '', { as: tokens.gp, body: bundle });
    expect(made.status, made.text).to.equal(200);
    const polled = await server.fhir('GET', `Task?owner=${COMMUNITY_HEALTH}&status=requested`, { as: tokens.community });
    expect(polled.body.entry).to.have.length(1);
    const task = polled.body.entry[0].resource;
    for (const path of [task.focus.reference, DEREK, 'Condition/cond-derek-brown-1']) expect((await server.fhir('GET', path, { as: tokens.community })).status, path).to.equal(200);
    expect((await server.fhir('GET', 'Condition/cond-derek-brown-2', { as: tokens.community })).status).to.equal(404);

    const accepted = await server.fhir('PUT', `Task/${task.id}`, { as: tokens.community, body: { ...task, status: 'accepted' } });
    expect(accepted.status, accepted.text).to.equal(200);
    expect((await server.fhir('GET', 'Condition/cond-derek-brown-2', { as: tokens.community })).status).to.equal(200);
    const team = await server.fhir('GET', 'CareTeam/ct-derek-brown', { as: tokens.community });
    const joined = team.body.participant.find((p: { id?: string }) => p.id === `referral-${task.id}`);
    expect(joined.role[0].coding[0].code).to.equal('community-health-service');
  });
});
