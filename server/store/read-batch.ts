import type { Queryable } from './db.js';
import type { Row } from './rows.js';

interface Waiting {
  id: string;
  resolve(row: Row | undefined): void;
  reject(err: Error): void;
}

/**
 * Reads by id outside a transaction, gathered for the rest of their turn of the event loop and sent
 * as one statement per resource type: the reads that arrive together (at 16 connections about ten)
 * share a round trip, a socket write and PostgreSQL's per-statement work, which were most of a
 * read's cost (BENCHMARKS.md, session 12). By hand, as the batching is one setImmediate and a map.
 */
export class ReadBatch {
  private waiting = new Map<string, Waiting[]>();
  private scheduled = false;

  constructor(private readonly sql: Queryable) {}

  /** The current row (deleted ones too), or undefined: as `SELECT * … WHERE resource_type = $1 AND id = $2`. */
  read(resourceType: string, id: string): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      const ofType = this.waiting.get(resourceType);
      if (ofType) ofType.push({ id, resolve, reject });
      else this.waiting.set(resourceType, [{ id, resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.send());
    });
  }

  private send(): void {
    const batches = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    for (const [resourceType, reads] of batches) void this.readAll(resourceType, reads);
  }

  private async readAll(resourceType: string, reads: Waiting[]): Promise<void> {
    let rows: Row[];
    try {
      // Planned once per connection: an index scan of the primary key for any number of ids.
      rows = await this.sql.query<Row>('SELECT * FROM resources WHERE resource_type = $1 AND id = ANY($2::text[])', [resourceType, reads.map((r) => r.id)], {
        prepared: true,
      });
    } catch (err) {
      // One read's failure is its own: each then goes alone, and only those that fail alone fail.
      if (reads.length > 1) for (const r of reads) void this.readAll(resourceType, [r]);
      else reads[0].reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const r of reads) r.resolve(byId.get(r.id));
  }
}
