//! mfuko: rent collection for landlords, with reads served through a tiered cache
//! over a database with read/write separation. See `docs/ARCHITECTURE.md`.

pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod freshness;
pub mod http;
pub mod reports;
pub mod startup;
pub mod telemetry;
pub mod types;
pub mod web;
pub mod write;
