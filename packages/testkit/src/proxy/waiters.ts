interface Waiter {
  n: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Pending waitForConnections() calls: each is bounded, and close() rejects what is left. */
export class ConnectionWaiters {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly open: () => number) {}

  wait(n: number, timeoutMs: number): Promise<void> {
    if (this.open() >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`${this.open()} of ${n} connections open after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Called whenever a connection opens. */
  settle(): void {
    for (const waiter of this.waiters) {
      if (this.open() < waiter.n) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  rejectAll(reason: string): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(reason));
    }
    this.waiters.clear();
  }
}
