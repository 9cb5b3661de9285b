// `npm run bench [-- scenario...]`: runs the named scenarios (all by default) and prints Markdown tables.
import os from 'node:os';
import { runAuthzBenchmark } from './authz.js';
import { runMedicinesBenchmark } from './medicines.js';
import { runIdleBenchmark } from './idle.js';
import { runNotifyBenchmark } from './notify.js';
import { runReferralsBenchmark } from './referrals.js';
import { runRestBenchmark } from './rest.js';
import { runSchedulingBenchmark } from './scheduling.js';
import { runSearchBenchmark } from './search.js';
import { runValidationBenchmark } from './validation.js';

const scenarios: Record<string, () => Promise<void>> = {
  authz: () => runAuthzBenchmark(),
  medicines: () => runMedicinesBenchmark(),
  idle: () => runIdleBenchmark(),
  notify: () => runNotifyBenchmark(),
  referrals: () => runReferralsBenchmark(),
  rest: () => runRestBenchmark({ processes: numberFlag('--processes') ?? 1, rounds: numberFlag('--rounds') ?? 1 }),
  scheduling: () => runSchedulingBenchmark(),
  search: () => runSearchBenchmark({ full: process.argv.includes('--full') }),
  validation: () => runValidationBenchmark(),
};

/** `--processes N`: also run the REST load over N API processes (the scale-out layout); `--rounds N`: run the REST scenarios N times and report the median of each. */
function numberFlag(flag: string): number | undefined {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(`${flag}=`))?.split('=')[1];
  return value ? Number(value) : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const wanted = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--processes' && args[i - 1] !== '--rounds');
  const names = wanted.length ? wanted : Object.keys(scenarios);
  console.log(`# Benchmarks (${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version})`);
  for (const name of names) {
    const run = scenarios[name];
    if (!run) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(scenarios).join(', ')}`);
    await run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
