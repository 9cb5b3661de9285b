// Where Redis is, for every Redis client of the hub (queues, rate limits): one parser of REDIS_URL.

/** ioredis connection options from REDIS_URL: redis://, rediss:// (TLS) or redis-sentinel://. */
export function redisServer(redisUrl: string): Record<string, unknown> {
  const sentinel = /^redis-sentinel:\/\/(?:([^:@/]*):([^@/]*)@)?([^/]+)\/([^/]+)(?:\/(\d+))?$/.exec(redisUrl);
  if (sentinel) {
    const [, username, password, hosts, name, db] = sentinel;
    return {
      sentinels: hosts.split(',').map((h) => ({ host: h.split(':')[0], port: Number(h.split(':')[1] || 26379) })),
      name,
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(username ? { username: decodeURIComponent(username) } : {}),
      ...(db ? { db: Number(db) } : {}),
    };
  }
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
