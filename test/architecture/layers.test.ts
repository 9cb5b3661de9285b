import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The layers of ARCHITECTURE.md, checked: a module may import its own layer or lower ones, never a
 * higher one. Imports are read with a regular expression over the source (every import here is a
 * static `from '...'` or `import('...')` of a relative path), which is all this check needs.
 */
const ROOT = path.resolve(__dirname, '..', '..');

/** Layer of a source file, lowest first. Composition roots wire everything and sit on top. */
const LAYERS: Array<[rank: number, name: string, test: RegExp]> = [
  [7, 'composition root', /^(server\/main|server\/services|workers\/main)\.ts$/],
  [0, 'base', /^server\/((errors|logger|metrics|readiness|redis-url|config|subscription-config|auth-config|private-redis|net|heap-growth)\.ts$|fhir\/)/],
  [1, 'store', /^server\/store\//],
  [2, 'search', /^server\/search\//],
  [3, 'validation, authentication, access, subscriptions', /^(profiles\/|server\/(auth|access)\/|subscriptions\/)/],
  [4, 'services under the API (care, scheduling, referrals, medicines, audit, export, workers, the store stack, seed)', /^((server\/(care|scheduling|referrals|medicines|audit|export)|workers)\/|server\/(store-stack|seed)\.ts$)/],
  [5, 'FHIR interactions', /^server\/(rest|messaging)\//],
  [6, 'HTTP (FHIR, CDS Hooks)', /^server\/(http|abuse|cds-hooks)\//],
  [8, 'tools', /^(scripts|bench|test)\//],
];

/**
 * Upward imports still to remove (issue 13), each named: the test fails on any other, and on an entry
 * here that is gone, so the list only shrinks.
 */
const KNOWN_UPWARD = new Set<string>([
]);

function rankOf(file: string): [number, string] {
  const layer = LAYERS.find(([, , test]) => test.test(file));
  if (!layer) throw new Error(`${file} is in no layer: add its folder to LAYERS and ARCHITECTURE.md`);
  return [layer[0], layer[1]];
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) return name === 'node_modules' ? [] : sources(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, '');
    return target.endsWith('.json') ? target : `${target}.ts`;
  });
}

describe('architecture: lower layers never import upper ones', () => {
  const files = ['server', 'profiles', 'subscriptions', 'workers'].flatMap(sources);
  const upward: string[] = [];
  for (const file of files) {
    const [from] = rankOf(file);
    for (const target of importsOf(file)) {
      const [to, name] = rankOf(target);
      if (to > from) upward.push(`${file} -> ${target}` + (KNOWN_UPWARD.has(`${file} -> ${target}`) ? '' : ` (into ${name})`));
    }
  }

  it('no module imports a higher layer, beyond the named ones still to remove', () => {
    expect(upward.filter((e) => !KNOWN_UPWARD.has(e))).to.deep.equal([]);
  });

  it('every named exception still exists (remove it from the list once fixed)', () => {
    expect([...KNOWN_UPWARD].filter((e) => !upward.includes(e))).to.deep.equal([]);
  });

  it('search knows nothing of access policies: it applies a neutral row filter', () => {
    const searchImports = files.filter((f) => f.startsWith('server/search/')).flatMap(importsOf);
    expect(searchImports.filter((t) => t.startsWith('server/access/'))).to.deep.equal([]);
  });

  it('the worker process starts without the HTTP and REST layers: workers/main.ts reaches no server/http/ or server/rest/ file', () => {
    // The named upward imports above are not followed: each is already counted against the list.
    const reached = new Set(['workers/main.ts']);
    for (const file of reached) {
      if (file.endsWith('.ts')) for (const target of importsOf(file)) if (!KNOWN_UPWARD.has(`${file} -> ${target}`)) reached.add(target);
    }
    expect([...reached].filter((f) => /^server\/(http|rest)\//.test(f))).to.deep.equal([]);
    expect(reached.size, 'the walk reached the services').to.be.greaterThan(50);
  });

  it('benchmarks and scripts use no test support: what they share with the tests lives in scripts/', () => {
    const toolImports = ['bench', 'scripts'].flatMap(sources).flatMap((f) => importsOf(f).map((t) => `${f} -> ${t}`));
    expect(toolImports.filter((e) => / -> test\//.test(e))).to.deep.equal([]);
  });

  it('settings are read from the environment in server/config.ts only; everything else is handed what it needs', () => {
    // The logger is made when first imported, before any config exists (and in tests that load none): LOG_LEVEL sets its level.
    const reading = files.filter((f) => f !== 'server/config.ts' && f !== 'server/logger.ts' && /process\.env\b/.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(reading).to.deep.equal([]);
  });
});
