import { expect } from 'chai';
import { loadSubscriptionConfig } from '../../server/subscription-config.js';
import { EndpointPolicy } from '../../subscriptions/endpoint-policy.js';

describe('subscription endpoint policy defaults', () => {
  it('with no allow-list set, loopback receivers may use plain http (tests and development)', async () => {
    const policy = new EndpointPolicy(loadSubscriptionConfig({}).endpointAllowList);
    expect(await policy.problem('http://127.0.0.1:9000/hook')).to.equal(undefined);
    expect(await policy.problem('http://localhost:9000/hook')).to.equal(undefined);
  });

  it('private and link-local networks stay refused by default (no SSRF)', async () => {
    const policy = new EndpointPolicy(loadSubscriptionConfig({}).endpointAllowList);
    expect(await policy.problem('https://10.1.2.3/hook')).to.match(/private, loopback or link-local/);
    expect(await policy.problem('https://169.254.169.254/latest')).to.match(/private, loopback or link-local/);
    expect(await policy.problem('http://192.168.1.5/hook')).to.match(/must use https/);
  });

  it('SUBSCRIPTION_ENDPOINT_ALLOW=none refuses loopback too', async () => {
    const policy = new EndpointPolicy(loadSubscriptionConfig({ SUBSCRIPTION_ENDPOINT_ALLOW: 'none' }).endpointAllowList);
    expect(await policy.problem('http://127.0.0.1:9000/hook')).to.match(/must use https/);
    expect(await policy.problem('https://127.0.0.1:9000/hook')).to.match(/private, loopback or link-local/);
  });

  it('an https host that does not resolve yet is accepted; delivery checks the address it connects to', async () => {
    const policy = new EndpointPolicy([]);
    expect(await policy.problem('https://receiver.invalid/hook')).to.equal(undefined);
  });
});
