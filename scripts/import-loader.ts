import { statSync } from 'node:fs';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { chunksOf, type Chunk, type Rejected } from './import-sources.js';
import { ProgressFile, ProgressLine } from './import-progress.js';
import type { Target } from './import-targets.js';

export interface ImportOptions {
  files: string[];
  target: Target;
  chunkSize: number;
  concurrency: number;
  progress?: ProgressFile;
  /** Called after each chunk (the benchmark samples the server's memory). */
  onChunk?: (loaded: number) => void;
  /** No progress line (tests, and the benchmark, which prints its own). */
  quiet?: boolean;
  /** Set to stop dispatching; chunks in flight still finish and are recorded. */
  stop?: { requested: boolean };
}

export interface ImportSummary {
  loaded: number;
  rejected: Rejected[];
  skippedChunks: number;
  loadedBefore: number;
  seconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Loads every chunk of every file, `concurrency` chunks in flight, skipping chunks an earlier run completed. */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const totalBytes = options.files.reduce((n, f) => n + statSync(f).size, 0);
  const line = new ProgressLine(totalBytes, options.quiet);
  const state = { loaded: 0, rejected: 0, skipped: 0, bytes: 0 };
  const rejected: Rejected[] = [];
  let loadedBefore = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  for (const file of options.files) {
    const resume = options.progress?.start(file) ?? { skip: new Set<number>(), loaded: 0 };
    loadedBefore += resume.loaded;
    let previousBytes = 0;
    for await (const chunk of chunksOf(file, options.chunkSize)) {
      const chunkBytes = chunk.bytesThrough - previousBytes;
      previousBytes = chunk.bytesThrough;
      if (resume.skip.has(chunk.index)) {
        state.skipped++;
        state.bytes += chunkBytes;
        continue;
      }
      while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      if (failure || options.stop?.requested) break;
      const task = loadChunk(options.target, chunk)
        .then((result) => {
          state.loaded += result.loaded;
          state.rejected += result.rejected.length;
          state.bytes += chunkBytes;
          rejected.push(...result.rejected);
          options.progress?.complete(file, chunk.index, result.loaded);
          options.onChunk?.(state.loaded);
          line.update(state);
        })
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    if (failure || options.stop?.requested) break;
  }
  await Promise.all(inFlight);
  line.update(state, true);
  line.finish();
  if (failure) throw failure;
  return { loaded: state.loaded, rejected, skippedChunks: state.skipped, loadedBefore, seconds: line.elapsedSeconds() };
}

/**
 * One chunk as one transaction. If the server refuses it and the chunk is independent resources
 * (NDJSON), it is re-sent as a batch so the good resources load and each bad one gets its reason.
 */
export async function loadChunk(target: Target, chunk: Chunk): Promise<{ loaded: number; rejected: Rejected[] }> {
  const rejected = [...chunk.rejected];
  const entries = chunk.bundle.entry ?? [];
  if (!entries.length) return { loaded: 0, rejected };
  const tx = await sendWithRetry(target, chunk.bundle);
  if (tx.status === 200) return { loaded: entries.length, rejected };
  if (!chunk.splittable) {
    rejected.push({ origin: chunk.file, reason: `transaction refused (${tx.status}): ${reasonOf(tx.body as OperationOutcome)}` });
    return { loaded: 0, rejected };
  }
  const batch = await sendWithRetry(target, { ...chunk.bundle, type: 'batch' });
  if (batch.status !== 200) throw new Error(`the server refused a batch of ${chunk.file} chunk ${chunk.index} (${batch.status}): ${reasonOf(batch.body as OperationOutcome)}`);
  let loaded = 0;
  (batch.body as Bundle).entry?.forEach((e, i) => {
    const status = Number(e.response?.status?.split(' ')[0]);
    if (status >= 200 && status < 300) loaded++;
    else rejected.push({ origin: chunk.origins[i] ?? `${chunk.file} chunk ${chunk.index} entry ${i}`, reason: `${e.response?.status}: ${reasonOf(e.response?.outcome as OperationOutcome, true)}` });
  });
  return { loaded, rejected };
}

/** 409 with Retry-After (deadlock), 429, 503 and network errors are retried with backoff; anything else is an answer. */
async function sendWithRetry(target: Target, bundle: Bundle): Promise<Awaited<ReturnType<Target['send']>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await target.send(bundle);
      const transient = (res.status === 409 && res.retryAfterMs !== undefined) || res.status === 429 || res.status === 503;
      if (!transient || attempt >= 6) return res;
      await sleep((res.retryAfterMs ?? 500) * attempt);
    } catch (err) {
      if (attempt >= 6) throw err;
      await sleep(500 * 2 ** attempt);
    }
  }
}

/** The diagnostics of an OperationOutcome; for one entry of a chunk, without the entry number (the origin says where; it varies with --chunk). */
export function reasonOf(oo: OperationOutcome | undefined, ofEntry = false): string {
  const text = (oo?.issue ?? []).map((i) => `${i.diagnostics ?? i.code}${i.expression?.length ? ` [${i.expression.join(', ')}]` : ''}`).join('; ');
  if (!ofEntry) return text || 'no reason given';
  return text.replace(/Bundle\.entry\[\d+\] \([^)]*\): /g, '').replace(/Bundle\.entry\[\d+\]\.resource/g, 'resource') || 'no reason given';
}
