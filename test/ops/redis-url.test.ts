import { expect } from 'chai';
import { redisServer } from '../../server/redis-url.js';

describe('REDIS_URL forms', () => {
  it('redis:// names one server, with user, password and database', () => {
    expect(redisServer('redis://hub:s%40cret@cache.internal:6380/2')).to.deep.equal({ host: 'cache.internal', port: 6380, password: 's@cret', username: 'hub', db: 2 });
  });

  it('rediss:// turns TLS on', () => {
    expect(redisServer('rediss://cache.internal')).to.deep.include({ host: 'cache.internal', port: 6379, tls: {} });
  });

  it('redis-sentinel:// names a Sentinel group and its primary, so failover needs no restart', () => {
    expect(redisServer('redis-sentinel://:pw@s1:26379,s2:26380,s3/hub-primary/1')).to.deep.equal({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      name: 'hub-primary',
      password: 'pw',
      db: 1,
    });
  });
});
