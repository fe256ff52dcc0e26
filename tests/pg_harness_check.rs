#[path = "api/pg_cluster.rs"]
mod pg_cluster;
