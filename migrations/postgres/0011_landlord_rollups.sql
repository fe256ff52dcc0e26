-- Roll-ups of a landlord's whole portfolio (keep in step with
-- migrations/sqlite): the dashboard of all properties reads a row per month
-- and per day instead of a row per property, method and open charge. Every
-- write keeps them in its own transaction with the per-property ones
-- (`db::rollups`); a property's own reports still read those.

-- Non-void charges per landlord and due month.
CREATE TABLE rollup_landlord_charge_months (
    landlord_id BIGINT NOT NULL,
    month       TEXT   NOT NULL,
    count       BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    PRIMARY KEY (landlord_id, month)
);
INSERT INTO rollup_landlord_charge_months (landlord_id, month, count, amount)
SELECT landlord_id, month, SUM(count), SUM(amount) FROM rollup_charge_months
GROUP BY landlord_id, month;

-- Payments (all statuses but held) per landlord, status, paid month and method.
CREATE TABLE rollup_landlord_payment_months (
    landlord_id BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    month       TEXT   NOT NULL,
    method      TEXT   NOT NULL,
    count       BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    PRIMARY KEY (landlord_id, status, month, method)
);
INSERT INTO rollup_landlord_payment_months (landlord_id, status, month, method, count, amount)
SELECT landlord_id, status, month, method, SUM(count), SUM(amount) FROM rollup_payment_months
GROUP BY landlord_id, status, month, method;

-- Per landlord and day: the open charges due that day (`amount`), the leases
-- whose oldest open charge is due that day (`arrears_leases`) and the leases
-- that count as overdue from that day (`overdue_leases`). Arrears aged as of
-- any day are range sums of these rows. A row that comes to zero stays (one
-- statement cannot both add to a row and delete it); the partial index the
-- reads use holds only the others.
CREATE TABLE rollup_open_days (
    landlord_id    BIGINT NOT NULL,
    day            DATE   NOT NULL,
    amount         BIGINT NOT NULL,
    arrears_leases BIGINT NOT NULL,
    overdue_leases BIGINT NOT NULL,
    PRIMARY KEY (landlord_id, day)
);
CREATE INDEX rollup_open_days_live
    ON rollup_open_days (landlord_id, day, amount, arrears_leases, overdue_leases)
    WHERE amount <> 0 OR arrears_leases <> 0 OR overdue_leases <> 0;
INSERT INTO rollup_open_days (landlord_id, day, amount, arrears_leases, overdue_leases)
SELECT landlord_id, day, SUM(amount), SUM(arrears_leases), SUM(overdue_leases) FROM (
    SELECT landlord_id, due_date AS day, amount, 0 AS arrears_leases, 0 AS overdue_leases
    FROM rollup_open_charges
    UNION ALL
    SELECT landlord_id, oldest_due, 0, 1, 0 FROM rollup_open_leases
    UNION ALL
    SELECT landlord_id, overdue_on, 0, 0, 1 FROM rollup_open_leases
) days GROUP BY landlord_id, day;

-- Per landlord, its tenants with an active lease: recomputed from
-- rollup_tenant_leases by the writes that change a tenant's row.
CREATE TABLE rollup_landlord_tenants (
    landlord_id BIGINT PRIMARY KEY,
    tenants     BIGINT NOT NULL
);
INSERT INTO rollup_landlord_tenants (landlord_id, tenants)
SELECT landlord_id, COUNT(*) FROM rollup_tenant_leases GROUP BY landlord_id;

-- The few active leases outside their dates on the day of a read, from the
-- index alone (the planner preferred scanning every active lease of the
-- landlord in a covering index to fetching the rows of these).
DROP INDEX leases_active_start;
CREATE INDEX leases_active_start ON leases (landlord_id, start_date, property_id, tenant_id, unit_id)
    WHERE status = 'active';
DROP INDEX leases_active_end;
CREATE INDEX leases_active_end ON leases (landlord_id, end_date, property_id, tenant_id, unit_id)
    WHERE status = 'active';
