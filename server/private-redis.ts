import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './net.js';

/**
 * `npm start` without REDIS_URL: a private redis-server (Debian package redis-server) on a free
 * loopback port, with append-only persistence in dataDir/redis so queued jobs survive a restart.
 * It dies with the server. For production, run Redis yourself and set REDIS_URL.
 */
export async function startPrivateRedis(dataDir: string): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new Error(`could not start redis-server (apt-get install redis-server, or set REDIS_URL): ${err.message}`))),
  );
  const ready = waitForPort(port).catch(() => {
    throw new Error('redis-server did not start');
  });
  await Promise.race([ready, failed]);
  process.once('exit', () => child.kill('SIGTERM'));
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
