-- :contains (value_norm LIKE '%text%') on a trigram GIN index, where pg_trgm is available: Debian's
-- postgresql-contrib, and PGlite when created with the pg_trgm extension (pglite-db.ts). Without it
-- (or without the right to create it) the search still works, scanning the parameter's rows.
-- One statement: the migration runner splits on ';' at line ends, so none is left at a line end.
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX IF NOT EXISTS search_string_trgm ON search_string USING gin (value_norm gin_trgm_ops); END IF
; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'pg_trgm could not be created: :contains scans the rows of the parameter'
; END $$;
