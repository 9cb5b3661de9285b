import { startDisposableRedis, type DisposableRedis } from '../../scripts/disposable-redis.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../scripts/private-postgres.js';

// Request logs would drown the test report; errors still show.
process.env.LOG_LEVEL ??= 'error';

let postgres: PrivatePostgres | undefined;
let redis: DisposableRedis | undefined;

/**
 * Mocha global fixtures: a private PostgreSQL and Redis for the whole run, unless DATABASE_URL /
 * REDIS_URL name ones to use. Tests read TEST_DATABASE_URL and TEST_REDIS_URL.
 */
export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
  else {
    postgres = await startPrivatePostgres();
    process.env.TEST_DATABASE_URL = postgres.url;
  }
  if (process.env.REDIS_URL) process.env.TEST_REDIS_URL = process.env.REDIS_URL;
  else {
    redis = await startDisposableRedis();
    process.env.TEST_REDIS_URL = redis.url;
  }
  // The servers under test read these; a developer's own settings must not leak in.
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
}

export async function mochaGlobalTeardown(): Promise<void> {
  redis?.stop();
  postgres?.stop();
}
