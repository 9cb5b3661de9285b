import { connect, createServer } from 'node:net';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Resolves once something accepts connections on the loopback port. */
export function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve();
      });
      s.on('error', () => (Date.now() > until ? reject(new Error(`nothing listening on port ${port} after ${timeoutMs} ms`)) : setTimeout(attempt, 50)));
    };
    attempt();
  });
}
