//! `mfuko serve [--demo] [--bind ADDR] [--no-migrate]`.

use std::net::SocketAddr;

use clap::Args;

use crate::config::Settings;
use crate::db::{Database, users};
use crate::demo::{self, SeedSpec};
use crate::startup::Application;
use crate::types::Period;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Seed a small demo data set when the database is empty.
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Do not apply migrations at start-up (for production roll-outs).
    #[arg(long)]
    pub no_migrate: bool,
}

pub async fn run(mut settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        settings.server.bind = bind;
    }
    if args.no_migrate {
        settings.database.migrate = false;
    }
    let db = Database::connect(&settings.database).await?;
    if settings.database.migrate {
        db.migrate().await?;
    }
    if args.demo {
        seed_demo_if_empty(&db, &settings).await?;
    }
    let app = Application::with_database(settings.clone(), db).await?;
    let url = format!("http://{}:{}", settings.server.bind.ip(), app.port());
    tracing::info!(%url, "listening");
    println!("mfuko is listening on {url}");
    if args.demo {
        println!("demo login: demo@mfuko.local / demo   (admin: admin@mfuko.local / admin)");
        println!(
            "try: curl -s {url}/api/v1/auth/login -H 'content-type: application/json' \
             -d '{{\"email\":\"demo@mfuko.local\",\"password\":\"demo\"}}'"
        );
    }
    app.run_until_stopped().await
}

async fn seed_demo_if_empty(db: &Database, settings: &Settings) -> anyhow::Result<()> {
    if users::count(db.reader_prefer_primary()).await? > 0 {
        tracing::info!("database already has data; not seeding demo data");
        return Ok(());
    }
    let tz = settings.timezone()?;
    let today = settings.clock()?.today(tz);
    let spec = SeedSpec::small(Period::containing(today));
    let hidden = indicatif::ProgressBar::hidden();
    let summary = demo::load_as_of(db, &spec, tz, today, &hidden).await?;
    tracing::info!(?summary, "seeded demo data");
    Ok(())
}
