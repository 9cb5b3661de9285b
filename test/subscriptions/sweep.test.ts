import { expect } from 'chai';
import type { Db } from '../../server/store/db.js';
import type { Store } from '../../server/store/store.js';
import type { EventStore } from '../../subscriptions/event-store.js';
import type { SubscriptionIndex } from '../../subscriptions/subscription-index.js';
import type { Queues } from '../../workers/queues.js';
import { Ticker } from '../../workers/ticker.js';

// The sweep (the safety net behind lost delivery jobs) looks for undelivered events every tick only
// while a recent commit or work it found calls for it; an idle server sweeps once per grace.
describe('the sweep of undelivered events', () => {
  const TICK = 1000;
  const GRACE = 10_000;
  let sweeps: number[];
  let pending: { subscriptionId: string; next: number }[];
  let kicked: string[];
  let ticker: Ticker;

  beforeEach(() => {
    sweeps = [];
    pending = [];
    kicked = [];
    const events = { undelivered: async () => (sweeps.push(sweeps.length), pending) } as unknown as EventStore;
    const index = { all: () => [], get: (id: string) => ({ id, status: 'active' }) } as unknown as SubscriptionIndex;
    const queues = { kick: async (id: string) => void kicked.push(id) } as unknown as Queues;
    ticker = new Ticker({ db: {} as Db, store: {} as Store, events, index, queues }, TICK, GRACE);
  });

  const ticks = async (from: number, to: number): Promise<void> => {
    for (let t = from; t < to; t += TICK) await ticker.tick(t);
  };

  it('runs once per grace while nothing is written', async () => {
    await ticks(0, 30 * TICK);
    expect(sweeps).to.have.length(3);
  });

  it('runs every tick after a commit until its events are past the grace, then once per grace again', async () => {
    await ticker.tick(0);
    ticker.changed(0);
    await ticks(TICK, 30 * TICK);
    // Ticks at 0..11 s: inside the commit's window (grace + two ticks); then 21 s, one grace after the last.
    expect(sweeps).to.have.length(13);
  });

  it('keeps running every tick while it finds events to kick', async () => {
    pending = [{ subscriptionId: 'a', next: 1 }];
    await ticks(0, 5 * TICK);
    expect(sweeps).to.have.length(5);
    expect(kicked).to.have.length(5);
  });
});
