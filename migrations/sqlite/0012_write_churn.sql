-- What every payment rewrites, kept cheap to rewrite and to read (keep in
-- step with migrations/postgres, which says why; SQLite rewrites a row in
-- place and has no autovacuum to tune).

-- The payments report's latest payments, newest first straight from an index.
CREATE INDEX payments_landlord_recent ON payments (landlord_id, paid_on, id);

-- Leases in credit keyed on a flag, as on PostgreSQL (the reads name it).
ALTER TABLE rollup_leases ADD COLUMN in_credit INTEGER GENERATED ALWAYS AS (paid > charged) VIRTUAL;
DROP INDEX rollup_leases_credit;
CREATE INDEX rollup_leases_credit
    ON rollup_leases (landlord_id, property_id, charged, paid) WHERE in_credit;
