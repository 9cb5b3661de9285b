import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../server/net.js';

export interface DisposableRedis {
  url: string;
  port: number;
  stop(): void;
  /** Stops and starts the same server (tests of Redis outages). */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/** A redis-server on a free port, without persistence, for tests and benchmarks (npm start's own is server/private-redis.ts). */
export async function startDisposableRedis(): Promise<DisposableRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child.on('error', (err) => console.error(`redis-server could not start (install the redis-server package): ${err.message}`));
    await waitForPort(port);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => child?.kill('SIGKILL'),
    async kill() {
      const c = child;
      if (!c) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
    start,
  };
}
