-- A date searched between two bounds (birthdate=ge1980-03-01&birthdate=le1980-03-31) is a window
-- on both ends of the stored range; a btree can bound only one of them, a GiST over the range both.
CREATE INDEX search_date_span ON search_date USING gist (tstzrange(low, high, '[)'));
