-- What the reports' roll-up reads seek by (keep in step with migrations/sqlite;
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

-- Prepayments: the few leases paid beyond their charges.
DROP INDEX rollup_leases_landlord;
CREATE INDEX rollup_leases_credit
    ON rollup_leases (landlord_id, property_id, charged, paid) WHERE paid > charged;

-- Each lease's open charges under FIFO, all time: its newest non-void charges
-- whose sum reaches what it owes (the last one only partly open). Every write
-- to a lease's charges or payments recomputes its rows (`db::rollups::open`),
-- so arrears as of today read these instead of the leases' histories.
CREATE TABLE rollup_open_charges (
    lease_id    BIGINT NOT NULL,
    charge_id   BIGINT NOT NULL,
    landlord_id BIGINT NOT NULL,
    property_id BIGINT NOT NULL,
    due_date    DATE NOT NULL,
    amount      BIGINT NOT NULL,
    PRIMARY KEY (lease_id, charge_id)
);
CREATE INDEX rollup_open_charges_lease
    ON rollup_open_charges (landlord_id, lease_id, due_date, amount, property_id);
CREATE INDEX rollup_open_charges_due
    ON rollup_open_charges (landlord_id, due_date, amount, property_id, lease_id);
INSERT INTO rollup_open_charges (lease_id, charge_id, landlord_id, property_id, due_date, amount)
SELECT lease_id, charge_id, landlord_id, property_id, due_date, amount FROM (
    SELECT c.lease_id, c.id AS charge_id, c.landlord_id, c.property_id, c.due_date,
           CASE WHEN c.newer <= b.unpaid THEN c.amount ELSE b.unpaid - (c.newer - c.amount) END AS amount
    FROM (SELECT id, lease_id, landlord_id, property_id, due_date, amount,
                 SUM(amount) OVER (PARTITION BY lease_id ORDER BY due_date DESC, id DESC
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS newer
          FROM charges WHERE NOT void) c
    JOIN (SELECT lease_id, CAST(SUM(amount) AS BIGINT) AS unpaid FROM (
              SELECT lease_id, amount FROM charges WHERE NOT void
              UNION ALL
              SELECT lease_id, -amount FROM payments WHERE status = 'confirmed' AND lease_id IS NOT NULL
          ) entries GROUP BY lease_id) b ON b.lease_id = c.lease_id
    WHERE c.newer - c.amount < b.unpaid
) open_charges;

-- Per lease with open charges: their total, the oldest and newest due date,
-- and the day it counts as overdue (the oldest open due date + grace days + 1).
-- The dashboard counts and ranks debtors from these rows' indexes.
CREATE TABLE rollup_open_leases (
    lease_id    BIGINT PRIMARY KEY,
    landlord_id BIGINT NOT NULL,
    property_id BIGINT NOT NULL,
    open_total  BIGINT NOT NULL,
    oldest_due  DATE NOT NULL,
    newest_due  DATE NOT NULL,
    overdue_on  DATE NOT NULL
);
CREATE INDEX rollup_open_leases_oldest ON rollup_open_leases (landlord_id, oldest_due, property_id);
CREATE INDEX rollup_open_leases_overdue ON rollup_open_leases (landlord_id, overdue_on, property_id);
CREATE INDEX rollup_open_leases_total
    ON rollup_open_leases (landlord_id, open_total, lease_id, newest_due, property_id);
INSERT INTO rollup_open_leases
    (lease_id, landlord_id, property_id, open_total, oldest_due, newest_due, overdue_on)
SELECT o.lease_id, o.landlord_id, o.property_id, CAST(SUM(o.amount) AS BIGINT), MIN(o.due_date),
       MAX(o.due_date), MIN(o.due_date) + l.grace_days + 1
FROM rollup_open_charges o JOIN leases l ON l.id = o.lease_id
GROUP BY o.lease_id, o.landlord_id, o.property_id, l.grace_days;

-- Occupancy and the dashboard's counts read indexes only: units per property
-- with their market state, and the leases in force.
CREATE INDEX units_landlord_market ON units (landlord_id, property_id, off_market);
CREATE INDEX units_off_market ON units (landlord_id) WHERE off_market;
CREATE INDEX leases_landlord_active
    ON leases (landlord_id, property_id, start_date, end_date, tenant_id, unit_id) WHERE status = 'active';

-- Arrears as of a date subtract what was charged or paid after it: both
-- scans start at that date and read only the index.
DROP INDEX charges_landlord_due;
CREATE INDEX charges_landlord_due
    ON charges (landlord_id, due_date, property_id, void, amount, period, lease_id);
DROP INDEX payments_landlord_paid;
CREATE INDEX payments_landlord_paid
    ON payments (landlord_id, paid_on, status, property_id, method, amount, lease_id);
