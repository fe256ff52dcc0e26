-- Covering indexes for the reports (keep in step with migrations/postgres).
-- Each report reads one landlord's slice of an index and never the table, so
-- its cost follows that landlord's rows, not the table's size or how rows of
-- different landlords interleave on disk.

-- Financial and the 12-month series: charges by due date.
DROP INDEX charges_landlord_due;
CREATE INDEX charges_landlord_due ON charges (landlord_id, due_date, property_id, void, amount);
-- Arrears: per-lease sums in lease order, without a sort.
CREATE INDEX charges_landlord_lease ON charges (landlord_id, lease_id, due_date, period, void, amount);

-- Financial and payments reports: payments by the payer's date.
DROP INDEX payments_landlord_paid;
CREATE INDEX payments_landlord_paid ON payments (landlord_id, paid_on, status, property_id, method, amount);
-- Arrears: confirmed payments per lease.
CREATE INDEX payments_landlord_lease ON payments (landlord_id, lease_id, status, paid_on, amount);
