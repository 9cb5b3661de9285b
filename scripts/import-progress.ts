import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface FileProgress {
  /** The file as it was when its chunks were recorded; a changed file starts over. */
  size: number;
  mtimeMs: number;
  chunkSize: number;
  done: number[];
  loaded: number;
}

/**
 * The resume record: which chunks of which files have been loaded. Written after every completed
 * chunk (write then rename, so an interruption never leaves half a file); a rerun skips them.
 */
export class ProgressFile {
  private readonly files: Record<string, FileProgress>;
  private readonly done = new Map<string, Set<number>>();

  constructor(
    readonly location: string,
    private readonly chunkSize: number,
    restart = false,
  ) {
    this.files = !restart && existsSync(location) ? (JSON.parse(readFileSync(location, 'utf8')) as { files: Record<string, FileProgress> }).files : {};
  }

  /** Chunks of `file` already loaded by an earlier run (none if the file or chunk size changed). */
  start(file: string): { skip: Set<number>; loaded: number } {
    const key = path.resolve(file);
    const { size, mtimeMs } = statSync(file);
    const prior = this.files[key];
    if (!prior || prior.size !== size || prior.mtimeMs !== mtimeMs || prior.chunkSize !== this.chunkSize) {
      this.files[key] = { size, mtimeMs, chunkSize: this.chunkSize, done: [], loaded: 0 };
    }
    const set = new Set(this.files[key].done);
    this.done.set(key, set);
    return { skip: new Set(set), loaded: this.files[key].loaded };
  }

  complete(file: string, index: number, loaded: number): void {
    const key = path.resolve(file);
    this.done.get(key)!.add(index);
    const record = this.files[key];
    record.done = [...this.done.get(key)!].sort((a, b) => a - b);
    record.loaded += loaded;
    const tmp = `${this.location}.tmp`;
    writeFileSync(tmp, JSON.stringify({ files: this.files }, null, 1));
    renameSync(tmp, this.location);
  }
}

/** One status line on stderr, redrawn at most four times a second: count, resources/s, ETA. */
export class ProgressLine {
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly tty = process.stderr.isTTY;

  constructor(
    private readonly totalBytes: number,
    private readonly quiet = false,
  ) {}

  update(s: { loaded: number; rejected: number; skipped: number; bytes: number }, force = false): void {
    if (this.quiet) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < (this.tty ? 250 : 5000)) return;
    this.lastDraw = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? s.loaded / secs : 0;
    const fraction = this.totalBytes ? Math.min(1, s.bytes / this.totalBytes) : 0;
    const eta = fraction > 0 && fraction < 1 ? (secs / fraction) * (1 - fraction) : 0;
    const bar = '#'.repeat(Math.round(fraction * 20)).padEnd(20, '.');
    const line =
      `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}%  loaded ${s.loaded.toLocaleString('en-GB')}  rejected ${s.rejected.toLocaleString('en-GB')}` +
      `${s.skipped ? `  skipped ${s.skipped} done chunks` : ''}  ${Math.round(rate).toLocaleString('en-GB')}/s  ETA ${duration(eta)}`;
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(): void {
    if (this.tty && !this.quiet) process.stderr.write('\n');
  }

  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}

export function duration(seconds: number): string {
  if (!seconds) return '-';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
