// `npm run import -- [options] FILE...`: loads transaction Bundles (.json) and NDJSON files (one
// resource a line) into a running server or straight into the store. Run with --help for options.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Rejected } from './import-sources.js';
import { runImport } from './import-loader.js';
import { duration, ProgressFile } from './import-progress.js';
import { directTarget, httpTarget, type Target } from './import-targets.js';

const HELP = `usage: npm run import -- [options] FILE...

  FILE                 *.ndjson / *.jsonl: one resource a line, sent in transactions of --chunk
                       resources (resources with an id keep it: PUT Type/id); *.json: a transaction or
                       batch Bundle, sent whole; any other resource or a collection Bundle: its resources
  --url URL            FHIR base of a running server (default $FHIR_URL or http://localhost:8080/fhir)
  --direct             write straight into the store: DATABASE_URL, else PGlite in DATA_DIR
  --token TOKEN        bearer token for --url (default $FHIR_TOKEN)
  --chunk N            resources per transaction for NDJSON (default 500)
  --concurrency N      transactions in flight (default 4)
  --progress FILE      resume record (default .import-progress.json); a rerun skips completed chunks
  --restart            ignore and overwrite the resume record
  --rejects FILE       write every rejected resource with its reason as NDJSON
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      direct: { type: 'boolean', default: false },
      token: { type: 'string' },
      chunk: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '4' },
      progress: { type: 'string', default: '.import-progress.json' },
      restart: { type: 'boolean', default: false },
      rejects: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !positionals.length) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const chunkSize = Number(values.chunk);
  const concurrency = Number(values.concurrency);
  if (!(chunkSize >= 1) || !(concurrency >= 1)) throw new Error('--chunk and --concurrency must be whole numbers of at least 1');
  const target: Target = values.direct ? await directTarget() : httpTarget(values.url ?? process.env.FHIR_URL ?? 'http://localhost:8080/fhir', values.token ?? process.env.FHIR_TOKEN);
  const progress = new ProgressFile(values.progress!, chunkSize, values.restart);
  console.error(`importing ${positionals.length} file(s) into ${target.describe}, ${chunkSize} per chunk, ${concurrency} in flight; resume record ${progress.location}`);
  const stop = { requested: false };
  process.on('SIGINT', () => {
    // First Ctrl-C: let the chunks in flight finish so the resume record is exact; second: leave now.
    if (stop.requested) process.exit(130);
    stop.requested = true;
    console.error('\nstopping after the chunks in flight (Ctrl-C again to leave at once); rerun the same command to resume');
  });
  try {
    const summary = await runImport({ files: positionals, target, chunkSize, concurrency, progress, stop });
    if (stop.requested) {
      console.log(`stopped: loaded ${summary.loaded.toLocaleString('en-GB')} resources this run; rerun the same command to resume`);
      return 130;
    }
    const rate = summary.seconds ? Math.round(summary.loaded / summary.seconds) : 0;
    console.log(`loaded ${summary.loaded.toLocaleString('en-GB')} resources in ${duration(summary.seconds)} (${rate.toLocaleString('en-GB')}/s)`);
    if (summary.skippedChunks) console.log(`skipped ${summary.skippedChunks} chunk(s) loaded by an earlier run (${summary.loadedBefore.toLocaleString('en-GB')} resources)`);
    console.log(`rejected ${summary.rejected.length.toLocaleString('en-GB')}`);
    printReasons(summary.rejected);
    if (values.rejects) writeFileSync(values.rejects, summary.rejected.map((r) => JSON.stringify(r)).join('\n') + (summary.rejected.length ? '\n' : ''));
    return summary.rejected.length ? 1 : 0;
  } finally {
    await target.close();
  }
}

/** Rejections grouped by reason, most frequent first, each with a few places it happened. */
function printReasons(rejected: Rejected[]): void {
  const groups = new Map<string, string[]>();
  for (const r of rejected) {
    const list = groups.get(r.reason) ?? [];
    list.push(r.origin);
    groups.set(r.reason, list);
  }
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
  for (const [reason, origins] of sorted.slice(0, 20)) {
    console.log(`  ${String(origins.length).padStart(6)} × ${reason}\n           e.g. ${origins.slice(0, 3).join(', ')}`);
  }
  if (sorted.length > 20) console.log(`  ... and ${sorted.length - 20} other reasons (--rejects FILE lists them all)`);
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(`\nimport failed: ${err instanceof Error ? err.message : err}\n(the resume record keeps every completed chunk: rerun to continue)`);
    process.exit(1);
  });
