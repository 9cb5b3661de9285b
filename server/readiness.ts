/** A dependency /readyz checks (database, migrations, Redis); returns a reason when not ready. */
export type ReadinessCheck = () => Promise<string | undefined>;
