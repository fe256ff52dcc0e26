-- The arrears list as of today reads one row per lease with open charges,
-- with everything it shows: the unit's label, the tenant's name, the grace
-- days and the open charges themselves (newest first, as text:
-- `due_date:amount` pairs joined by commas), aged at read time. No grouping
-- of the open charges and no lookups of leases, units and tenants per debtor.
DROP TABLE rollup_open_leases;
CREATE TABLE rollup_open_leases (
    lease_id    BIGINT PRIMARY KEY,
    landlord_id BIGINT NOT NULL,
    property_id BIGINT NOT NULL,
    open_total  BIGINT NOT NULL,
    oldest_due  DATE NOT NULL,
    newest_due  DATE NOT NULL,
    overdue_on  DATE NOT NULL,
    unit_label  TEXT NOT NULL,
    tenant_name TEXT NOT NULL,
    grace_days  INTEGER NOT NULL,
    charges     TEXT NOT NULL
);
CREATE INDEX rollup_open_leases_oldest ON rollup_open_leases (landlord_id, oldest_due, property_id);
CREATE INDEX rollup_open_leases_overdue ON rollup_open_leases (landlord_id, overdue_on, property_id);
CREATE INDEX rollup_open_leases_total
    ON rollup_open_leases (landlord_id, open_total, lease_id, newest_due, property_id);
-- Renaming a tenant or relabelling a unit updates their leases' rows.
CREATE INDEX leases_unit ON leases (unit_id);
INSERT INTO rollup_open_leases
    (lease_id, landlord_id, property_id, open_total, oldest_due, newest_due, overdue_on,
     unit_label, tenant_name, grace_days, charges)
SELECT o.lease_id, o.landlord_id, o.property_id, CAST(SUM(o.amount) AS BIGINT), MIN(o.due_date),
       MAX(o.due_date), MIN(o.due_date) + l.grace_days + 1,
       u.label, t.name, l.grace_days,
       string_agg(to_char(o.due_date, 'YYYY-MM-DD') || ':' || o.amount, ',' ORDER BY o.due_date DESC, o.charge_id DESC)
FROM rollup_open_charges o JOIN leases l ON l.id = o.lease_id
JOIN units u ON u.id = l.unit_id JOIN tenants t ON t.id = l.tenant_id
GROUP BY o.lease_id, o.landlord_id, o.property_id, l.grace_days, u.label, t.name;
