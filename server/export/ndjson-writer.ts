import type { ExportFile, ExportJobs } from './jobs.js';

export interface WriterLimits {
  /** Lines (or bytes) buffered per file before they are written as one chunk row. */
  chunkLines: number;
  chunkBytes: number;
  /** Resources per output file; a type with more is split over several files. */
  fileLines: number;
}

export const DEFAULT_LIMITS: WriterLimits = { chunkLines: 500, chunkBytes: 1 << 20, fileLines: 50_000 };

interface OpenFile {
  file: ExportFile;
  /** Lines in the file so far, including the buffered ones. */
  lines: number;
  nextChunk: number;
  buffer: string[];
  bufferBytes: number;
}

/**
 * Writes resources as NDJSON (https://github.com/ndjson/ndjson-spec): one file per resource type
 * (split at fileLines), buffered per type and appended to the database a chunk at a time, so
 * patient-by-patient exports that interleave types still yield one stream per type.
 */
export class NdjsonWriter {
  private readonly open = new Map<string, OpenFile>();
  private nextFileNo = 1;
  written = 0;

  constructor(
    private readonly jobs: ExportJobs,
    private readonly jobId: string,
    private readonly limits: WriterLimits = DEFAULT_LIMITS,
  ) {}

  /** Adds one resource given as its stored JSON text. */
  async add(resourceType: string, json: string): Promise<void> {
    let f = this.open.get(resourceType);
    if (f && f.lines >= this.limits.fileLines) {
      await this.flush(f);
      f = undefined;
    }
    if (!f) {
      f = { file: { fileNo: this.nextFileNo++, resourceType, count: 0 }, lines: 0, nextChunk: 0, buffer: [], bufferBytes: 0 };
      this.open.set(resourceType, f);
    }
    // NDJSON needs each resource on one line; stored JSON is compact already, but never trust that blindly.
    const line = json.includes('\n') ? JSON.stringify(JSON.parse(json)) : json;
    f.buffer.push(line);
    f.bufferBytes += line.length;
    f.lines++;
    this.written++;
    if (f.buffer.length >= this.limits.chunkLines || f.bufferBytes >= this.limits.chunkBytes) await this.flush(f);
  }

  /** Writes every buffered line. */
  async finish(): Promise<void> {
    for (const f of this.open.values()) await this.flush(f);
  }

  private async flush(f: OpenFile): Promise<void> {
    if (!f.buffer.length) return;
    const lines = f.buffer.length;
    const content = `${f.buffer.join('\n')}\n`;
    f.buffer = [];
    f.bufferBytes = 0;
    await this.jobs.appendChunk(this.jobId, f.file, f.nextChunk++, content, lines);
  }
}
