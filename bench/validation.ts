// Validation time per resource, per profile (`npm run bench validation`, or `npx tsx bench/validation.ts`).
// Reports the profile stage alone (the rules a profile adds) and the whole write validator
// (base R4 schema, primitives, invariants, bindings, then claimed profiles).
import { performance } from 'node:perf_hooks';
import type { Resource } from '@medplum/fhirtypes';
import { issuesAgainstProfiles } from '../profiles/profile-registry';
import { initValidator, validationIssues } from '../profiles/validator';
import { neighbourhoodFixtures } from '../server/seed';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ITERATIONS = 5_000;

function timePerCall(fn: () => unknown): number {
  for (let i = 0; i < 500; i++) fn(); // warm up the JIT and FHIRPath caches
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return ((performance.now() - start) / ITERATIONS) * 1000;
}

export async function runValidationBenchmark(): Promise<void> {
  const t0 = performance.now();
  initValidator();
  const init = Math.round(performance.now() - t0);
  global.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const mb = (n: number): string => `${Math.round(n / 1024 / 1024)} MB`;
  console.log(`\n## Validation per resource (initValidator ${init} ms, then rss ${mb(rss)}, heap ${mb(heapUsed)}; ${ITERATIONS} runs each)\n`);
  console.log('| profile | fixture | profile rules µs | whole validator µs |');
  console.log('| --- | --- | ---: | ---: |');
  const seen = new Set<string>();
  for (const resource of [...neighbourhoodFixtures(), ...ukCoreExamples()]) {
    const profile = resource.meta?.profile?.[0];
    if (!profile || seen.has(profile)) continue;
    seen.add(profile);
    const r = resource as Resource;
    const profileOnly = timePerCall(() => issuesAgainstProfiles(r, [profile]));
    const whole = timePerCall(() => validationIssues(r));
    console.log(`| ${profile.split('/').pop()} | ${r.resourceType}/${r.id} | ${profileOnly.toFixed(1)} | ${whole.toFixed(1)} |`);
  }
}

/** The UK Core examples (fixtures/nhs-examples/ukcore), each claiming its UK Core profile. */
function ukCoreExamples(): Resource[] {
  const dir = path.join(__dirname, '..', 'fixtures', 'nhs-examples', 'ukcore');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8'), (k, v) => (k === 'fhir_comments' ? undefined : v)) as Resource)
    .map((r) => ({ ...r, meta: { profile: [`https://fhir.hl7.org.uk/StructureDefinition/UKCore-${r.resourceType}`] } }) as Resource);
}

if (require.main === module) {
  runValidationBenchmark().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
