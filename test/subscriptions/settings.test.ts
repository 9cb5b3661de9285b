import { expect } from 'chai';
import { settingsHelp } from '../../server/config.js';
import { loadSubscriptionConfig, SUBSCRIPTION_SETTINGS } from '../../server/subscription-config.js';

describe('subscription settings', () => {
  it('npm start -- --help lists every subscription setting with its default, REDIS_URL as a secret', () => {
    const help = settingsHelp();
    for (const s of SUBSCRIPTION_SETTINGS) expect(help).to.match(new RegExp(`^  ${s.env} +${(s.default || '(unset)').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `, 'm'));
    expect(help).to.match(/REDIS_URL .*secret/);
  });

  it('the defaults --help shows are the ones loaded', () => {
    const config = loadSubscriptionConfig({});
    expect(config).to.include({ runWorkers: true, queuePrefix: 'hub', maxAttempts: 10, backoffBaseMs: 1000, backoffMaxMs: 600_000, deliveryTimeoutMs: 10_000, deliveryConcurrency: 256, hostConcurrency: 32 });
    expect(() => loadSubscriptionConfig({ SUBSCRIPTION_MAX_ATTEMPTS: 'ten' })).to.throw(/SUBSCRIPTION_MAX_ATTEMPTS must be a whole number/);
  });
});
