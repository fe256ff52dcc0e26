-- Roll-ups (keep in step with migrations/postgres): running totals kept by
-- every write in its own transaction (`db::rollups`), so today's reports read
-- a few rows instead of a landlord's whole history. `mfuko rollups verify`
-- compares them with the history; `mfuko rollups rebuild` recomputes them.
-- property_id 0 stands for "no property" (payments allocated to no lease).

-- Non-void charges per landlord, property and due month.
CREATE TABLE rollup_charge_months (
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL,
    month       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    PRIMARY KEY (landlord_id, property_id, month)
) WITHOUT ROWID;

-- Payments (all statuses but held) per landlord, property, paid month,
-- status and method.
CREATE TABLE rollup_payment_months (
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL,
    month       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    PRIMARY KEY (landlord_id, property_id, month, status, method)
) WITHOUT ROWID;

-- Per lease: every non-void charge, and every confirmed payment.
CREATE TABLE rollup_leases (
    lease_id    INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL,
    charged     INTEGER NOT NULL,
    paid        INTEGER NOT NULL
);
CREATE INDEX rollup_leases_landlord ON rollup_leases (landlord_id, property_id);

INSERT INTO rollup_charge_months (landlord_id, property_id, month, count, amount)
    SELECT landlord_id, property_id, substr(due_date, 1, 7), COUNT(*), SUM(amount)
    FROM charges WHERE NOT void GROUP BY landlord_id, property_id, substr(due_date, 1, 7);
INSERT INTO rollup_payment_months (landlord_id, property_id, month, status, method, count, amount)
    SELECT landlord_id, COALESCE(property_id, 0), substr(paid_on, 1, 7), status, method, COUNT(*), SUM(amount)
    FROM payments WHERE landlord_id IS NOT NULL AND status <> 'held'
    GROUP BY landlord_id, COALESCE(property_id, 0), substr(paid_on, 1, 7), status, method;
INSERT INTO rollup_leases (lease_id, landlord_id, property_id, charged, paid)
    SELECT l.id, l.landlord_id, l.property_id,
           COALESCE((SELECT SUM(amount) FROM charges c WHERE c.lease_id = l.id AND NOT c.void), 0),
           COALESCE((SELECT SUM(amount) FROM payments p WHERE p.lease_id = l.id AND p.status = 'confirmed'), 0)
    FROM leases l;
