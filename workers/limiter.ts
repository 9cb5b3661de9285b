/** A counting semaphore whose released slot passes straight to the next waiter (none can overtake it). */
class Slots {
  active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async take(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * Caps requests in flight per receiver host and in all: a slow receiver can hold at most its own
 * host's share of the slots, so subscriptions of other receivers keep flowing. Hand-written: a
 * counter and a queue per key is all it takes, and no library we use offers keyed limits.
 */
export class Limiter {
  private readonly all: Slots;
  private readonly hosts = new Map<string, Slots>();

  constructor(
    total: number,
    private readonly perHost: number,
  ) {
    this.all = new Slots(total);
  }

  async run<T>(host: string, fn: () => Promise<T>): Promise<T> {
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = new Slots(this.perHost)));
    await h.take();
    try {
      await this.all.take();
      try {
        return await fn();
      } finally {
        this.all.give();
      }
    } finally {
      h.give();
      if (!h.active) this.hosts.delete(host);
    }
  }
}
