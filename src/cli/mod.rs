//! The `mfuko` command line: `serve`, `migrate`, `seed`, `user add`, `charges run`,
//! `rollups verify|rebuild`, `bench`.

mod bench;
mod charges;
mod rollups;
mod seed;
mod serve;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Secret, Settings};
use crate::db::Database;

#[derive(Debug, Parser)]
#[command(name = "mfuko", version, about = "Rent collection for landlords")]
pub struct Cli {
    /// Configuration file (default: ./mfuko.toml when present).
    #[arg(long, global = true, env = "MFUKO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (`sqlite://FILE` or `postgres://…`); overrides the configuration.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with deterministic demo data.
    Seed(seed::SeedArgs),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Rent charges.
    #[command(subcommand)]
    Charges(charges::ChargesCommand),
    /// The reports' running totals.
    #[command(subcommand)]
    Rollups(rollups::RollupsCommand),
    /// Measure the service over HTTP, scenario by scenario.
    Bench(bench::BenchArgs),
    /// The `floor` scenario's server (started by `bench`).
    #[command(hide = true)]
    BenchFloor(bench::floor::FloorArgs),
}

/// Loads the settings, applies global flags, and runs the command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_ref())?;
    if let Some(url) = cli.database_url {
        settings.database.url = Secret::new(url);
    }
    let _log_guard = crate::telemetry::init(&settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(settings, args).await,
            Command::Migrate => {
                let db = connect_migrated(&settings).await?;
                db.close().await;
                println!(
                    "migrations applied to {}",
                    settings.database.url.redacted_url()
                );
                Ok(())
            }
            Command::Seed(args) => seed::run(settings, args).await,
            Command::User(command) => user::run(settings, command).await,
            Command::Charges(command) => charges::run(settings, command).await,
            Command::Rollups(command) => rollups::run(settings, command).await,
            Command::Bench(args) => bench::run(settings, args).await,
            Command::BenchFloor(args) => bench::floor::run(args).await,
        }
    })
}

/// Every command works on an up-to-date schema.
async fn connect_migrated(settings: &Settings) -> anyhow::Result<Database> {
    let db = Database::connect(&settings.database).await?;
    db.migrate().await?;
    Ok(db)
}
