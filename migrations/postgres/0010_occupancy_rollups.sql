-- Occupancy and the dashboard's counts read a row per property and a count
-- of tenants, not every unit and lease: per property with units, its unit
-- counts and active leases (all, and those on units off the market); per
-- tenant with active leases, how many. Writes to units and leases recompute
-- their property's and tenant's rows (db::rollups::occupancy).
CREATE TABLE rollup_occupancy (
    property_id       BIGINT PRIMARY KEY,
    landlord_id       BIGINT NOT NULL,
    units             BIGINT NOT NULL,
    available         BIGINT NOT NULL,
    active_leases     BIGINT NOT NULL,
    active_off_market BIGINT NOT NULL
);
CREATE INDEX rollup_occupancy_landlord ON rollup_occupancy (landlord_id, property_id);
CREATE TABLE rollup_tenant_leases (
    tenant_id     BIGINT PRIMARY KEY,
    landlord_id   BIGINT NOT NULL,
    active_leases BIGINT NOT NULL
);
CREATE INDEX rollup_tenant_leases_landlord ON rollup_tenant_leases (landlord_id, active_leases);

INSERT INTO rollup_occupancy
    (property_id, landlord_id, units, available, active_leases, active_off_market)
SELECT u.property_id, u.landlord_id, COUNT(*),
       SUM(CASE WHEN u.off_market THEN 0 ELSE 1 END),
       SUM(CASE WHEN l.id IS NULL THEN 0 ELSE 1 END),
       SUM(CASE WHEN l.id IS NOT NULL AND u.off_market THEN 1 ELSE 0 END)
FROM units u LEFT JOIN leases l ON l.unit_id = u.id AND l.status = 'active'
GROUP BY u.property_id, u.landlord_id;
INSERT INTO rollup_tenant_leases (tenant_id, landlord_id, active_leases)
SELECT tenant_id, landlord_id, COUNT(*) FROM leases WHERE status = 'active'
GROUP BY tenant_id, landlord_id;

-- Active leases outside their dates on the day of a read (not started yet,
-- or past their end): both ranges start at that day.
CREATE INDEX leases_active_start ON leases (landlord_id, start_date) WHERE status = 'active';
CREATE INDEX leases_active_end ON leases (landlord_id, end_date) WHERE status = 'active';
