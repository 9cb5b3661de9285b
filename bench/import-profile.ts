import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where the server's CPU time went, from a V8 .cpuprofile (node --cpu-prof): each sample is charged
 * to the nearest frame on its stack that belongs to a part of the server, so FHIRPath evaluated
 * by @medplum/core counts as validation or as index extraction depending on who called it.
 */
const CATEGORIES: [string, RegExp][] = [
  ['validation (profiles/)', /\/profiles\//],
  ['search-index extraction (FHIRPath, server/search/)', /\/server\/search\//],
  ['SQL driver (pg, client side)', /node_modules\/(pg|pg-protocol|pg-pool|pg-types)\//],
  ['store (server/store/)', /\/server\/store\//],
  ['bundle processing (server/rest/bundle)', /\/server\/rest\/bundle/],
  ['REST interactions (server/rest/)', /\/server\/rest\//],
  ['HTTP, body parsing (express, server/http/)', /\/server\/http\/|node_modules\/(express|body-parser|raw-body|router)\//],
  ['subscriptions and workers', /\/subscriptions\/|\/workers\/|node_modules\/(bullmq|ioredis)\//],
];

export function summariseProfile(dir: string): Array<{ part: string; ms: number; share: string }> {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, string>();
  const categorise = (id: number): string => {
    const hit = cache.get(id);
    if (hit) return hit;
    const leaf = byId.get(id)!.callFrame;
    let result: string | undefined;
    if (leaf.functionName === '(idle)') result = 'idle (waiting: PostgreSQL, network)';
    else if (leaf.functionName === '(garbage collector)') result = 'garbage collection';
    else if (leaf.functionName === '(program)') result = 'V8/native (program)';
    else if (!leaf.url && /^(parse|stringify)$/.test(leaf.functionName)) result = 'JSON parse/stringify';
    for (let cur: number | undefined = id; !result && cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      result = CATEGORIES.find(([, re]) => re.test(url))?.[0];
    }
    result ??= 'other (node internals, libraries)';
    cache.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    all += us;
    const part = categorise(id);
    totals.set(part, (totals.get(part) ?? 0) + us);
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([part, us]) => ({ part, ms: Math.round(us / 1000), share: `${((100 * us) / all).toFixed(1)}%` }));
}

/** Hottest functions by self time, outside idle/GC: the first places to look for a speed-up. */
export function hottestFunctions(dir: string, top = 15): Array<{ fn: string; ms: number }> {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName.startsWith('(')) return;
    const where = url.replace(/^.*\/work\/main\//, '').replace(/^.*node_modules\//, '~');
    const key = `${functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, ms: Math.round(us / 1000) }));
}
