import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../server/net.js';

const ROOT = path.join(__dirname, '..', '..');

export interface HubProcess {
  child: ChildProcess;
  /** FHIR base URL (API processes only). */
  base?: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `npm start` (an API process) or `npm run worker` as its own node process, the way a
 * deployment runs them, and waits until it is ready: /readyz answers 200, or the worker says it runs.
 */
export async function startHubProcess(kind: 'api' | 'worker', env: Record<string, string>): Promise<HubProcess> {
  const port = await freePort();
  const entry = kind === 'api' ? 'server/main.ts' : 'workers/main.ts';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    // Processes behind one load balancer share its BASE_URL (it is the token audience); alone, each names its own port.
    env: { ...process.env, LOG_LEVEL: 'info', BASE_URL: `http://127.0.0.1:${port}/fhir`, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before it was ready:\n${out.slice(-3000)}`))));
  const ready = async (): Promise<void> => {
    for (const until = Date.now() + 90_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      if (kind === 'worker' && out.includes('subscription workers running')) return;
      if (kind === 'api') {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (res?.status === 200) return;
      }
    }
    throw new Error(`${entry} not ready within 90 s:\n${out.slice(-3000)}`);
  };
  await Promise.race([ready(), exited]);
  exited.catch(() => undefined);
  return {
    child,
    ...(kind === 'api' ? { base: `http://127.0.0.1:${port}/fhir` } : {}),
    output: () => out,
    kill: (signal = 'SIGKILL') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
