-- The generation counters of the cached views: one row per landlord and kind
-- of data (landlord_id 0: writes that touch every landlord), bumped by every
-- write inside its own transaction. The database is their source of truth, so
-- a number exists exactly when the data it stands for does, survives Redis
-- restarts, and never repeats. Redis only announces new values.
CREATE TABLE cache_generations (
    landlord_id BIGINT  NOT NULL,
    data        SMALLINT NOT NULL,
    generation  BIGINT  NOT NULL,
    PRIMARY KEY (landlord_id, data)
);
