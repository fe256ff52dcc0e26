-- What every payment rewrites, kept cheap to rewrite and to read (keep in
-- step with migrations/sqlite; docs/PERFORMANCE.md has the measurements).

-- The payments report's latest payments, newest first straight from an
-- index: `payments_landlord_paid` orders a day's payments by status and
-- property, not id, so the latest 20 of a busy 1st were the top of all of
-- that day's thousands, sorted.
CREATE INDEX payments_landlord_recent ON payments (landlord_id, paid_on, id);

-- A lease's roll-up row changes with every payment to it. The partial index
-- of leases in credit named `charged` and `paid`, so no update could be HOT
-- (rewritten in place, no index touched): the index gained an entry per
-- payment and, bloated, lost the planner to a scan of every lease. It now
-- keys on a stored flag that changes only when a lease goes into or out of
-- credit, with room on each page for the new versions.
ALTER TABLE rollup_leases SET (fillfactor = 70);
ALTER TABLE rollup_leases ADD COLUMN in_credit BOOLEAN GENERATED ALWAYS AS (paid > charged) STORED;
DROP INDEX rollup_leases_credit;
CREATE INDEX rollup_leases_credit ON rollup_leases (landlord_id, property_id) WHERE in_credit;

-- The other roll-ups a payment changes are indexed by what it changes (their
-- reads are index-only), so their updates cannot be HOT: each leaves a dead
-- version and index entries behind. The default autovacuum waits for a fifth
-- of a table to be dead, hundreds of payments to each landlord's current
-- rows; these tables are small, so vacuum them after a few hundred.
ALTER TABLE rollup_payment_months SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
ALTER TABLE rollup_landlord_payment_months SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
ALTER TABLE rollup_leases SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
ALTER TABLE rollup_open_charges SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
ALTER TABLE rollup_open_leases SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
ALTER TABLE rollup_open_days SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
