-- What the reports' roll-up reads seek by (keep in step with migrations/postgres;
-- the queries are in src/db/rollups/read.rs).

-- Rows that sum to nothing are deleted from now on (see `Delta::apply`), so
-- what a landlord's reports read grows with their activity, not their age.
DELETE FROM rollup_charge_months WHERE count = 0;
DELETE FROM rollup_payment_months WHERE count = 0;
DELETE FROM rollup_leases WHERE charged = 0 AND paid = 0;

-- A month range across all of a landlord's properties.
CREATE INDEX rollup_charge_months_by_month
    ON rollup_charge_months (landlord_id, month, property_id, count, amount);
-- One status (confirmed: collected; pending: awaiting) over a month range.
CREATE INDEX rollup_payment_months_by_status
    ON rollup_payment_months (landlord_id, status, month, property_id, method, count, amount);

-- Arrears read only the leases whose charges and payments differ.
DROP INDEX rollup_leases_landlord;
CREATE INDEX rollup_leases_open
    ON rollup_leases (landlord_id, property_id, charged, paid) WHERE charged <> paid;

-- Arrears as of a date subtract what was charged or paid after it: both
-- scans start at that date and read only the index.
DROP INDEX charges_landlord_due;
CREATE INDEX charges_landlord_due
    ON charges (landlord_id, due_date, property_id, void, amount, period, lease_id);
DROP INDEX payments_landlord_paid;
CREATE INDEX payments_landlord_paid
    ON payments (landlord_id, paid_on, status, property_id, method, amount, lease_id);
