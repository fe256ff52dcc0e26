//! Black-box tests of the HTTP API, each run on SQLite and on PostgreSQL.

mod helpers;
mod pg_cluster;
mod redis_server;
mod support;

mod auth;
mod browser;
mod cache;
mod charges;
mod cli;
mod crud;
mod freshness;
mod leases;
mod migrations;
mod mpesa;
mod openapi;
mod ops;
mod oracle;
mod patches;
mod payments;
mod redis_cache;
mod replicas;
mod reports;
mod validation;
mod web;
