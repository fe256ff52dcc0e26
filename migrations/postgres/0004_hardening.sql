-- Hardening (keep in step with migrations/sqlite): per-landlord M-Pesa
-- shortcodes; uniqueness that never spans landlords; held payments; a hard
-- ceiling on stored money so no sum can overflow.

-- A landlord's Paybill/Till numbers: a C2B confirmation belongs to whoever
-- registered its BusinessShortCode. (users.mpesa_shortcode is superseded and
-- no longer read; kept so both engines have the same columns.)
CREATE TABLE mpesa_shortcodes (
    shortcode   TEXT        PRIMARY KEY,
    landlord_id BIGINT      NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX mpesa_shortcodes_landlord ON mpesa_shortcodes (landlord_id);
INSERT INTO mpesa_shortcodes (shortcode, landlord_id)
    SELECT mpesa_shortcode, id FROM users WHERE mpesa_shortcode IS NOT NULL AND role = 'landlord';

-- Leases: account references are unique per landlord (stored trimmed and
-- upper-case, so the comparison is case-insensitive).
ALTER TABLE leases DROP CONSTRAINT leases_account_ref_key;
UPDATE leases SET account_ref = upper(btrim(account_ref)) WHERE account_ref <> upper(btrim(account_ref));
CREATE UNIQUE INDEX leases_account_ref_per_landlord ON leases (landlord_id, account_ref);

-- Charges: at most KES 1,000,000,000 (10^11 cents) each, so a landlord's sum
-- needs ~92 million maximal rows to reach 2^63. Larger ones (only writable
-- before this migration) are voided.
UPDATE charges SET void = TRUE WHERE amount > 100000000000;
ALTER TABLE charges DROP CONSTRAINT charges_amount_check;
ALTER TABLE charges ADD CONSTRAINT charges_amount_check
    CHECK (amount > 0 AND (void OR amount <= 100000000000));

-- Payments: a `held` status (an M-Pesa confirmation above the amount limit:
-- kept, never summed); the same 10^11 ceiling for every other payment;
-- manual references unique per landlord and method; Safaricom's receipt
-- (TransID) unique across the service in its own column; the C2B body as
-- received; the landlord's notes.
ALTER TABLE payments
    ADD COLUMN mpesa_receipt TEXT,
    ADD COLUMN notes TEXT,
    ADD COLUMN raw_payload TEXT;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'confirmed', 'failed', 'reversed', 'held'));
UPDATE payments SET status = 'held' WHERE amount > 100000000000;
ALTER TABLE payments DROP CONSTRAINT payments_amount_check;
ALTER TABLE payments ADD CONSTRAINT payments_amount_check
    CHECK (amount > 0 AND (status = 'held' OR amount <= 100000000000));
-- C2B rows carry the typed account reference or no landlord.
UPDATE payments SET mpesa_receipt = reference
    WHERE method = 'mpesa' AND (account_ref IS NOT NULL OR landlord_id IS NULL);
DROP INDEX payments_method_reference;
CREATE UNIQUE INDEX payments_reference_per_landlord ON payments (landlord_id, method, reference);
CREATE UNIQUE INDEX payments_mpesa_receipt ON payments (mpesa_receipt);
