import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createRateLimiter, type RateLimiter } from '../../server/abuse/rate-limit.js';
import { FhirError } from '../../server/errors.js';
import { logger } from '../../server/logger.js';

async function refusal(limiter: RateLimiter, client: string): Promise<FhirError | undefined> {
  try {
    await limiter.check(client);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(FhirError);
    return err as FhirError;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function behavesAsALimit(open: (windowMs: number) => RateLimiter): void {
  it('the request after the budget is 429 with Retry-After and a throttled OperationOutcome; other clients are unaffected', async () => {
    const limiter = open(60_000);
    const [a, b] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 5; i++) expect(await refusal(limiter, a)).to.equal(undefined);
    const err = (await refusal(limiter, a))!;
    expect(err.status).to.equal(429);
    expect(Number(err.headers['Retry-After'])).to.be.within(1, 60);
    expect(err.outcome.resourceType).to.equal('OperationOutcome');
    expect(err.outcome.issue[0].code).to.equal('throttled');
    expect(await refusal(limiter, b)).to.equal(undefined);
    await limiter.close();
  });

  it('the budget comes back when the window ends', async () => {
    const limiter = open(300);
    const a = randomUUID();
    for (let i = 0; i < 5; i++) await limiter.check(a);
    expect((await refusal(limiter, a))?.status).to.equal(429);
    await sleep(400);
    expect(await refusal(limiter, a)).to.equal(undefined);
    await limiter.close();
  });
}

describe('per-client rate limit', () => {
  describe('in Redis', () => {
    behavesAsALimit((windowMs) => createRateLimiter({ redisUrl: process.env.TEST_REDIS_URL, perMinute: 5, windowMs, prefix: `test:${randomUUID()}:` }));

    it('two processes (limiters) share one budget', async () => {
      const prefix = `test:${randomUUID()}:`;
      const [one, two] = [1, 2].map(() => createRateLimiter({ redisUrl: process.env.TEST_REDIS_URL, perMinute: 4, prefix }));
      for (let i = 0; i < 2; i++) {
        await one.check('c');
        await two.check('c');
      }
      expect((await refusal(one, 'c'))?.status).to.equal(429);
      expect((await refusal(two, 'c'))?.status).to.equal(429);
      await Promise.all([one.close(), two.close()]);
    });

    it('with Redis unreachable, requests go through', async () => {
      const limiter = createRateLimiter({ redisUrl: 'redis://127.0.0.1:1', perMinute: 1, log: logger.child({}, { level: 'silent' }) });
      for (let i = 0; i < 3; i++) expect(await refusal(limiter, 'c')).to.equal(undefined);
      await limiter.close();
    });
  });

  describe('in process (no Redis)', () => {
    behavesAsALimit((windowMs) => createRateLimiter({ perMinute: 5, windowMs }));
  });

  it('0 turns limiting off', async () => {
    const limiter = createRateLimiter({ perMinute: 0 });
    for (let i = 0; i < 100; i++) await limiter.check('c');
    await limiter.close();
  });
});
