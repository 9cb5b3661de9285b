import { setFlagsFromString } from 'node:v8';

/**
 * Bounds how far V8 lets a process's heap grow past what survived its last full collection
 * (HEAP_GROWTH_PERCENT; 0 leaves V8's own choice, up to about four times what is live under a
 * steady load: BENCHMARKS.md, import). Called first thing by each process entry point, before the
 * heap fills: the API server and the worker process alike.
 */
export function boundHeapGrowth(percent: number): void {
  if (percent) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
