import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEREK = 'Patient/pat-derek-brown';
export const MEADOW_LANE = 'Organization/org-meadow-lane-practice';
export const GOOD_NEIGHBOURS = 'Organization/org-good-neighbours';
export const NORTH_MH = 'Organization/org-north-mental-health';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'referrals', 'referral-derek-to-befriending.json');

/** The fixture referral (ServiceRequest and Task in a transaction), from another requester or naming other supporting information. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are edited per test
export function referral(requester = MEADOW_LANE, supportingInfo?: string[]): any {
  const bundle = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  bundle.entry[0].resource.requester = bundle.entry[1].resource.requester = { reference: requester };
  if (supportingInfo) bundle.entry[0].resource.supportingInfo = supportingInfo.length ? supportingInfo.map((reference) => ({ reference })) : undefined;
  return bundle;
}

