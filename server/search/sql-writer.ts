/** Collects bind parameters and fresh table aliases while one query is written. */
export class SqlWriter {
  readonly values: unknown[] = [];
  private aliases = 0;
  /** The client's visibility condition, applied to every resource a query reaches through chains and _has too. */
  access?: (w: SqlWriter, r: string, type: string) => string;
  constructor(
    readonly baseUrl: string,
    /** Expansions of the ValueSets named by :in / :not-in, fetched before the SQL is written. */
    readonly valueSets: Map<string, { system: string | null; code: string }[]>,
    readonly now = Date.now(),
  ) {}
  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  alias(prefix: string): string {
    return `${prefix}${++this.aliases}`;
  }
}
