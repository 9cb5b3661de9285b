-- Bulk Data $export (https://hl7.org/fhir/uv/bulkdata/export.html): jobs and their NDJSON output.
-- Output lives in the database, not on local disk, so any API process behind a load balancer can
-- answer the status poll and serve the files of a job another process (or a worker) ran.

-- One row per kick-off. status: accepted, in-progress, completed or failed (a cancelled job is deleted).
CREATE TABLE export_job (
  id text PRIMARY KEY,
  status text NOT NULL,
  request_url text NOT NULL,
  level text NOT NULL,
  group_id text,
  types text[],
  since timestamptz,
  output_format text NOT NULL,
  runner text NOT NULL,
  transaction_time timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  progress text,
  error text,
  attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX export_job_completed ON export_job (completed_at);

-- One row per output file of a job (one resource type per file), with the resources written so far.
CREATE TABLE export_file (
  job_id text NOT NULL REFERENCES export_job (id) ON DELETE CASCADE,
  file_no integer NOT NULL,
  resource_type text NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (job_id, file_no)
);

-- A file's NDJSON text in order, a few hundred lines a row, so serving a file streams row by row.
-- The foreign keys make a cancel (DELETE of the job) stop a running export at its next write.
CREATE TABLE export_chunk (
  job_id text NOT NULL,
  file_no integer NOT NULL,
  chunk_no integer NOT NULL,
  content text NOT NULL,
  PRIMARY KEY (job_id, file_no, chunk_no),
  FOREIGN KEY (job_id, file_no) REFERENCES export_file (job_id, file_no) ON DELETE CASCADE
);
