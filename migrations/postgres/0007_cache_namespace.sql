-- The database's own part of every cache key and of the invalidation
-- channel (keep in step with migrations/sqlite). The generation counters
-- identify a state only within one database: a database made again (a new
-- seed, a second deployment) starts its counters where another's have been,
-- and must not find that one's entries in a shared Redis. After restoring a
-- backup (its counters go back in time), give it a new one:
-- UPDATE cache_namespace SET id = <16 new hex digits>.
CREATE TABLE cache_namespace (id TEXT NOT NULL);
INSERT INTO cache_namespace (id) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16));
