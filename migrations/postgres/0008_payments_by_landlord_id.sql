-- A landlord's payments newest first (the web app's recent payments) and
-- paged by id (`GET /payments`): walked in index order, never sorted, and
-- never a scan of other landlords' payments.
CREATE INDEX payments_landlord_id ON payments (landlord_id, id);
