import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../server/net.js';

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; install the postgresql package (apt-get install postgresql)');
  return path.join(root, versions[0], 'bin');
}

/** Runs a PostgreSQL binary; as root it runs as the postgres user, since PostgreSQL refuses root. */
function runPg(bin: string, args: string[]): void {
  const isRoot = process.getuid?.() === 0;
  const cmd = isRoot ? 'su' : bin;
  const cmdArgs = isRoot ? ['postgres', '-s', '/bin/sh', '-c', [bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')] : args;
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} failed: ${r.stderr || r.stdout}`);
}

export interface PrivatePostgres {
  url: string;
  stop(): void;
}

/** Starts a private PostgreSQL on a free port in a temporary directory (trust auth on loopback). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hub-pg-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', dir]);
  runPg(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c max_connections=300`, 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        runPg(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
