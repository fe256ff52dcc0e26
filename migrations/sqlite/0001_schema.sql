-- mfuko schema, SQLite dialect. Keep in step with migrations/postgres.
-- Money is INTEGER minor units (KES cents). Dates are ISO-8601 TEXT (YYYY-MM-DD);
-- instants are RFC 3339 TEXT in UTC, truncated to whole seconds by the app so
-- that text order is time order.
-- landlord_id (and property_id) are copied onto child rows so that every report
-- is an index range scan on one landlord; composite foreign keys make a row that
-- points at another landlord's parent impossible.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    phone           TEXT,
    role            TEXT    NOT NULL CHECK (role IN ('landlord', 'admin')),
    password_hash   TEXT    NOT NULL,
    mpesa_shortcode TEXT    UNIQUE,
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE properties (
    id          INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL DEFAULT '',
    county      TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (id, landlord_id)
);
CREATE INDEX properties_landlord ON properties (landlord_id, id);

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    property_id INTEGER NOT NULL,
    landlord_id INTEGER NOT NULL,
    label       TEXT    NOT NULL,
    market_rent INTEGER NOT NULL CHECK (market_rent >= 0),
    off_market  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (property_id, label),
    UNIQUE (id, landlord_id),
    FOREIGN KEY (property_id, landlord_id) REFERENCES properties (id, landlord_id)
);
CREATE INDEX units_landlord ON units (landlord_id, property_id);

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    national_id TEXT,
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'notice', 'moved_out')),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (id, landlord_id)
);
CREATE INDEX tenants_landlord ON tenants (landlord_id, id);

CREATE TABLE leases (
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
    account_ref TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (id, landlord_id),
    FOREIGN KEY (unit_id, landlord_id) REFERENCES units (id, landlord_id),
    FOREIGN KEY (tenant_id, landlord_id) REFERENCES tenants (id, landlord_id)
);
-- At most one active lease per unit, enforced by the database.
CREATE UNIQUE INDEX leases_one_active_per_unit ON leases (unit_id) WHERE status = 'active';
CREATE INDEX leases_landlord ON leases (landlord_id, status);
CREATE INDEX leases_tenant ON leases (tenant_id);

CREATE TABLE charges (
    id          INTEGER PRIMARY KEY,
    landlord_id INTEGER NOT NULL,
    property_id INTEGER NOT NULL REFERENCES properties (id),
    lease_id    INTEGER NOT NULL,
    period      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('rent', 'deposit', 'late_fee', 'other')),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    due_date    TEXT    NOT NULL,
    void        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    FOREIGN KEY (lease_id, landlord_id) REFERENCES leases (id, landlord_id)
);
-- The monthly charge run is idempotent: one rent charge per lease and period.
CREATE UNIQUE INDEX charges_one_rent_per_period ON charges (lease_id, period) WHERE kind = 'rent';
CREATE INDEX charges_landlord_due ON charges (landlord_id, due_date);
CREATE INDEX charges_lease_due ON charges (lease_id, due_date);

CREATE TABLE payments (
    id          INTEGER PRIMARY KEY,
    -- NULL landlord: an M-Pesa payment that matched no lease and no shortcode
    -- (kept in suspense for an admin, never dropped).
    landlord_id INTEGER REFERENCES users (id),
    property_id INTEGER REFERENCES properties (id),
    lease_id    INTEGER REFERENCES leases (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    method      TEXT    NOT NULL CHECK (method IN ('mpesa', 'cash', 'bank')),
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'reversed')),
    reference   TEXT,
    account_ref TEXT,
    payer       TEXT,
    paid_at     TEXT    NOT NULL,
    -- paid_at's calendar date in the service time zone: reports group by it.
    paid_on     TEXT    NOT NULL,
    received_at TEXT    NOT NULL
);
-- Idempotency of M-Pesa confirmations (TransID) and bank references.
CREATE UNIQUE INDEX payments_method_reference ON payments (method, reference);
CREATE INDEX payments_landlord_paid ON payments (landlord_id, paid_on);
CREATE INDEX payments_lease_paid ON payments (lease_id, paid_on);
