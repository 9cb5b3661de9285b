-- $find's proposals are a cache for $hold and $book, not a record (a crash may forget a few): an
-- unlogged table lets each $find write them in one statement without waiting for the WAL.
ALTER TABLE appointment_proposal SET UNLOGGED;
