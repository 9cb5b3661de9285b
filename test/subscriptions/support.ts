import { assert } from 'chai';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSubscriptionConfig, type SubscriptionConfig } from '../../server/subscription-config.js';
import { startTestServer, type DbKind, type TestServer } from '../support/server.js';

export interface Received {
  method?: string;
  /** Path and query as requested (an R4 payload goes to [endpoint]/[type]/[id]). */
  path?: string;
  headers: IncomingHttpHeaders;
  body: string;
  json?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- notification bodies are read loosely
  at: number;
}

/** A rest-hook receiver on loopback that records what arrives; `failWith` makes it answer an error. */
export interface Receiver {
  url: string;
  received: Received[];
  failWith?: number;
  /** While set, requests are recorded in `held` and never answered (a receiver stuck mid-delivery). */
  hold?: boolean;
  held: Received[];
  /** Notifications that carry events (not handshakes/heartbeats). */
  events(): Received[];
  waitFor(predicate: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    held: [],
    events: () => received.filter((r) => !['handshake', 'heartbeat'].includes(notificationType(r) ?? '')),
    async waitFor(predicate, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > until) throw new Error(`receiver: condition not met within ${timeoutMs} ms (${received.length} received)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiver.hold) {
        receiver.held.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        return;
      }
      if (receiver.failWith) {
        res.writeHead(receiver.failWith).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      received.push({ method: req.method, path: req.url, headers: req.headers, body, json, at: Date.now() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return receiver;
}

/** The SubscriptionStatus `type` of a backport notification. */
export function notificationType(r: Received): string | undefined {
  return statusParam(r.json, 'type')?.valueCode;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Parameters read loosely
export function statusParam(bundle: any, name: string): any {
  return bundle?.entry?.[0]?.resource?.parameter?.find((p: { name: string }) => p.name === name);
}

/** Event numbers a backport notification carries. */
export function eventNumbers(r: Received): number[] {
  const params = (r.json?.entry?.[0]?.resource?.parameter ?? []) as { name: string; part?: { name: string; valueString?: string }[] }[];
  return params.filter((p) => p.name === 'notification-event').map((p) => Number(p.part?.find((x) => x.name === 'event-number')?.valueString));
}

let prefixCounter = 0;

/** Settings for tests: the test Redis, loopback allowed, fast retries and ticks, a private queue prefix. */
export function testSubscriptionConfig(overrides: Partial<SubscriptionConfig> = {}): SubscriptionConfig {
  return {
    ...loadSubscriptionConfig({}),
    redisUrl: process.env.TEST_REDIS_URL,
    endpointAllowList: ['127.0.0.1', 'localhost'],
    maxAttempts: 4,
    backoffBaseMs: 100,
    backoffMaxMs: 400,
    deliveryTimeoutMs: 2000,
    tickMs: 200,
    relayPollMs: 50,
    stalledIntervalMs: 1000,
    queuePrefix: `t${process.pid}_${++prefixCounter}_${Date.now()}`,
    ...overrides,
  };
}

export function startSubscriptionServer(kind: DbKind, overrides: Partial<SubscriptionConfig> = {}): Promise<TestServer> {
  return startTestServer(kind, { subscriptions: testSubscriptionConfig(overrides) });
}

/**
 * Mocha hooks for a suite's subscription server (started once) and its loopback receiver, fresh for
 * each test or shared by the suite; the getters read them inside tests.
 */
export function useSubscriptionServer(kind: DbKind, receiverPer: 'suite' | 'test'): { server: () => TestServer; receiver: () => Receiver } {
  let server: TestServer | undefined;
  let receiver: Receiver | undefined;
  const openReceiver = async (): Promise<void> => {
    receiver = await startReceiver();
  };
  const closeReceiver = async (): Promise<void> => {
    await receiver?.close();
    receiver = undefined;
  };
  before(async () => {
    server = await startSubscriptionServer(kind);
  });
  after(async () => {
    await server?.stop();
  });
  if (receiverPer === 'suite') {
    before(openReceiver);
    after(closeReceiver);
  } else {
    beforeEach(openReceiver);
    afterEach(closeReceiver);
  }
  return {
    server: () => server ?? assert.fail('the subscription test server is not running'),
    receiver: () => receiver ?? assert.fail('no receiver is open'),
  };
}

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'subscriptions');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are edited per test
export function subFixture(name: string): any {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** Polls a FHIR read until the predicate holds (subscription status changes are asynchronous). */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
