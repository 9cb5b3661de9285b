import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Embedded PGlite is one process's database. The server that holds a data directory says so in it
 * (its pid and base URL), so `npm run client` goes through that server instead of opening the files.
 */
const FILE = 'server.json';

export function claimDataDir(dataDir: string, baseUrl: string): () => void {
  const file = path.join(dataDir, FILE);
  writeFileSync(file, JSON.stringify({ pid: process.pid, baseUrl }));
  return () => rmSync(file, { force: true });
}

/** The base URL of the live server holding the data directory, if there is one. */
export function dataDirOwner(dataDir: string): string | undefined {
  try {
    const { pid, baseUrl } = JSON.parse(readFileSync(path.join(dataDir, FILE), 'utf8')) as { pid: number; baseUrl: string };
    process.kill(pid, 0); // throws when no such process is alive
    return baseUrl;
  } catch {
    return undefined;
  }
}
