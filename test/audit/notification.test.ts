import { expect } from 'chai';
import type { AuditRecord } from '../../server/audit/record.js';
import type { SubscriptionConfig } from '../../server/subscription-config.js';
import type { EndpointPolicy } from '../../subscriptions/endpoint-policy.js';
import { toModel } from '../../subscriptions/model.js';
import type { Limiter } from '../../workers/limiter.js';
import { sendNotification, type SendDeps } from '../../workers/send.js';
import { SearchRegistry } from '../../server/search/registry.js';

describe('notification delivery is audited', () => {
  before(function () {
    this.timeout(60_000);
    new SearchRegistry(); // indexes the search parameters patient compartment membership is read from
  });

  it('each attempt records the subscription, the resources notified, their patients and the outcome', async () => {
    const audited: AuditRecord[] = [];
    const deps = {
      policy: {} as EndpointPolicy,
      config: {} as SubscriptionConfig,
      baseUrl: () => 'http://hub/fhir',
      publish: async () => 1,
      limiter: {} as Limiter,
      audit: async (rec: AuditRecord) => void audited.push(rec),
    } satisfies SendDeps;
    const sub = toModel({ resourceType: 'Subscription', id: 's1', status: 'active', reason: 'x', criteria: 'Observation?status=final', channel: { type: 'websocket' } });
    const event = { subscriptionId: 's1', eventNumber: 7, changeSeq: 1, resourceType: 'Observation', resourceId: 'o1', versionId: 1, interaction: 'create' as const, occurredAt: new Date() };
    const resource = { resourceType: 'Observation' as const, id: 'o1', status: 'final' as const, code: { text: 'x' }, subject: { reference: 'Patient/p1' } };
    const sent = await sendNotification(deps, sub, 'event-notification', [{ event, resource }], 7, 'active');
    expect(sent.ok).to.equal(true);
    expect(audited).to.have.length(1);
    expect(audited[0]).to.deep.include({ interaction: 'notification', status: 200, subscription: 'Subscription/s1', resources: ['Observation/o1'], patients: ['p1'] });
    expect(audited[0].principal).to.equal(undefined);
  });
});
