-- Search index: one table per search value type (https://hl7.org/fhir/R4/search.html#ptypes).
-- Rows belong to the current, non-deleted version of a resource and are rewritten in the same
-- transaction as it. `param` is the SearchParameter code; derived rows use `code:text`,
-- `code:identifier`, `identifier:of-type`, and composite components `code#n` with `grp` tying the
-- components found on one element together.
-- Every value index leads with (resource_type, param) and INCLUDEs id so a selective search is an
-- index-only scan; the (resource_type, id, param) indexes serve deletes, sorting and _include.

CREATE TABLE search_string (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  value_norm text COLLATE "C" NOT NULL,
  value_exact text NOT NULL
);
CREATE INDEX search_string_value ON search_string (resource_type, param, value_norm) INCLUDE (id);
CREATE INDEX search_string_resource ON search_string (resource_type, id, param);

CREATE TABLE search_token (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  system text,
  code text
);
CREATE INDEX search_token_value ON search_token (resource_type, param, code, system) INCLUDE (id);
CREATE INDEX search_token_resource ON search_token (resource_type, id, param);

-- Dates as half-open ranges [low, high): a partial date covers its whole period; open Period ends are +-infinity.
CREATE TABLE search_date (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  low timestamptz NOT NULL,
  high timestamptz NOT NULL
);
CREATE INDEX search_date_low ON search_date (resource_type, param, low) INCLUDE (high, id);
CREATE INDEX search_date_high ON search_date (resource_type, param, high) INCLUDE (low, id);
CREATE INDEX search_date_resource ON search_date (resource_type, id, param);

-- Numbers as closed ranges [low, high] (a single value has low = high; a Range may be open: +-Infinity).
CREATE TABLE search_number (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  low numeric NOT NULL,
  high numeric NOT NULL
);
CREATE INDEX search_number_low ON search_number (resource_type, param, low) INCLUDE (high, id);
CREATE INDEX search_number_resource ON search_number (resource_type, id, param);

CREATE TABLE search_quantity (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  low numeric NOT NULL,
  high numeric NOT NULL,
  system text,
  code text,
  unit text
);
CREATE INDEX search_quantity_low ON search_quantity (resource_type, param, low) INCLUDE (high, id);
CREATE INDEX search_quantity_resource ON search_quantity (resource_type, id, param);

-- target_type/target_id for relative references (Type/id); url keeps the reference as written
-- (absolute URLs, canonicals, contained #ids).
CREATE TABLE search_reference (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  target_type text,
  target_id text,
  url text
);
CREATE INDEX search_reference_target ON search_reference (resource_type, param, target_id, target_type) INCLUDE (id);
CREATE INDEX search_reference_reverse ON search_reference (target_type, target_id, resource_type, param) INCLUDE (id);
CREATE INDEX search_reference_url ON search_reference (resource_type, param, url) INCLUDE (id);
CREATE INDEX search_reference_resource ON search_reference (resource_type, id, param);

CREATE TABLE search_uri (
  resource_type text NOT NULL,
  id text NOT NULL,
  param text NOT NULL,
  grp integer,
  value text COLLATE "C" NOT NULL
);
CREATE INDEX search_uri_value ON search_uri (resource_type, param, value) INCLUDE (id);
CREATE INDEX search_uri_resource ON search_uri (resource_type, id, param);
