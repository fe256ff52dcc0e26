-- no-transaction
-- (The line above must stay first: sqlx then runs this file outside its own
-- transaction, so foreign keys can be switched off around the rebuild.)
--
-- Hardening (keep in step with migrations/postgres): per-landlord M-Pesa
-- shortcodes; uniqueness that never spans landlords; held payments; a hard
-- ceiling on stored money so no sum can overflow.
--
-- SQLite cannot alter a CHECK or a column's UNIQUE, so leases, charges and
-- payments are rebuilt (create, copy, drop, rename), SQLite's documented
-- procedure: foreign keys off (dropping `leases` must not touch the rows that
-- refer to it), one transaction, foreign keys back on.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- A landlord's Paybill/Till numbers: a C2B confirmation belongs to whoever
-- registered its BusinessShortCode. (users.mpesa_shortcode is superseded and
-- no longer read; SQLite cannot drop a UNIQUE column.)
CREATE TABLE mpesa_shortcodes (
    shortcode   TEXT    PRIMARY KEY,
    landlord_id INTEGER NOT NULL REFERENCES users (id),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX mpesa_shortcodes_landlord ON mpesa_shortcodes (landlord_id);
INSERT INTO mpesa_shortcodes (shortcode, landlord_id)
    SELECT mpesa_shortcode, id FROM users WHERE mpesa_shortcode IS NOT NULL AND role = 'landlord';

-- Leases: account references are unique per landlord (stored trimmed and
-- upper-case, so the comparison is case-insensitive).
CREATE TABLE leases_new (
    id          INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL REFERENCES properties (id),
    unit_id     INTEGER NOT NULL,
    tenant_id   INTEGER NOT NULL,
    rent        INTEGER NOT NULL CHECK (rent > 0),
    deposit     INTEGER NOT NULL DEFAULT 0 CHECK (deposit >= 0),
    due_day     INTEGER NOT NULL CHECK (due_day BETWEEN 1 AND 28),
    grace_days  INTEGER NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 60),
    start_date  TEXT    NOT NULL,
    end_date    TEXT    CHECK (end_date IS NULL OR end_date >= start_date),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    account_ref TEXT    NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (id, landlord_id),
    FOREIGN KEY (unit_id, landlord_id) REFERENCES units (id, landlord_id),
    FOREIGN KEY (tenant_id, landlord_id) REFERENCES tenants (id, landlord_id)
);
INSERT INTO leases_new
    SELECT id, landlord_id, property_id, unit_id, tenant_id, rent, deposit, due_day, grace_days,
           start_date, end_date, status, upper(trim(account_ref)), created_at
    FROM leases;
DROP TABLE leases;
ALTER TABLE leases_new RENAME TO leases;
CREATE UNIQUE INDEX leases_one_active_per_unit ON leases (unit_id) WHERE status = 'active';
CREATE UNIQUE INDEX leases_account_ref_per_landlord ON leases (landlord_id, account_ref);
CREATE INDEX leases_landlord ON leases (landlord_id, status);
CREATE INDEX leases_tenant ON leases (tenant_id);

-- Charges: at most KES 1,000,000,000 (10^11 cents) each, so a landlord's sum
-- needs ~92 million maximal rows to reach 2^63. Larger ones (only writable
-- before this migration) are voided.
CREATE TABLE charges_new (
    id          INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL REFERENCES properties (id),
    lease_id    INTEGER NOT NULL,
    period      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('rent', 'deposit', 'late_fee', 'other')),
    amount      INTEGER NOT NULL CHECK (amount > 0 AND (void OR amount <= 100000000000)),
    due_date    TEXT    NOT NULL,
    void        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    FOREIGN KEY (lease_id, landlord_id) REFERENCES leases (id, landlord_id)
);
INSERT INTO charges_new
    SELECT id, landlord_id, property_id, lease_id, period, kind, amount, due_date,
           void OR amount > 100000000000, created_at
    FROM charges;
DROP TABLE charges;
ALTER TABLE charges_new RENAME TO charges;
CREATE UNIQUE INDEX charges_one_rent_per_period ON charges (lease_id, period) WHERE kind = 'rent';
CREATE INDEX charges_landlord_due ON charges (landlord_id, due_date, property_id, void, amount);
CREATE INDEX charges_lease_due ON charges (lease_id, due_date);
CREATE INDEX charges_landlord_lease ON charges (landlord_id, lease_id, due_date, period, void, amount);

-- Payments: a `held` status (an M-Pesa confirmation above the amount limit:
-- kept, never summed); the same 10^11 ceiling for every other payment;
-- manual references unique per landlord and method; Safaricom's receipt
-- (TransID) unique across the service in its own column; the C2B body as
-- received; the landlord's notes.
CREATE TABLE payments_new (
    id            INTEGER PRIMARY KEY,
    -- NULL landlord: an M-Pesa payment to a shortcode nobody registered
    -- (kept in suspense for an admin, never dropped).
    landlord_id   INTEGER REFERENCES users (id),
    property_id   INTEGER REFERENCES properties (id),
    lease_id      INTEGER REFERENCES leases (id),
    amount        INTEGER NOT NULL CHECK (amount > 0 AND (status = 'held' OR amount <= 100000000000)),
    method        TEXT    NOT NULL CHECK (method IN ('mpesa', 'cash', 'bank')),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'reversed', 'held')),
    reference     TEXT,
    mpesa_receipt TEXT,
    account_ref   TEXT,
    payer         TEXT,
    notes         TEXT,
    paid_at       TEXT    NOT NULL,
    paid_on       TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    raw_payload   TEXT
);
INSERT INTO payments_new (id, landlord_id, property_id, lease_id, amount, method, status,
                          reference, mpesa_receipt, account_ref, payer, paid_at, paid_on, received_at)
    SELECT id, landlord_id, property_id, lease_id, amount, method,
           CASE WHEN amount > 100000000000 THEN 'held' ELSE status END,
           reference,
           -- C2B rows carry the typed account reference or no landlord.
           CASE WHEN method = 'mpesa' AND (account_ref IS NOT NULL OR landlord_id IS NULL)
                THEN reference END,
           account_ref, payer, paid_at, paid_on, received_at
    FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE UNIQUE INDEX payments_reference_per_landlord ON payments (landlord_id, method, reference);
CREATE UNIQUE INDEX payments_mpesa_receipt ON payments (mpesa_receipt);
CREATE INDEX payments_landlord_paid ON payments (landlord_id, paid_on, status, property_id, method, amount);
CREATE INDEX payments_lease_paid ON payments (lease_id, paid_on);
CREATE INDEX payments_landlord_lease ON payments (landlord_id, lease_id, status, paid_on, amount);

COMMIT;
PRAGMA foreign_keys = ON;
