//! `mfuko bench-floor`: the physical limit of this machine for the
//! dashboard, run by `mfuko bench` in a process of its own. A bare axum
//! server answers `GET /api/v1/dashboard` with the bytes of a real dashboard
//! from memory: no authentication, cache, logging or metrics.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use axum::{Router, body::Bytes, http::header, routing::get};
use clap::Args;

#[derive(Debug, Args)]
pub struct FloorArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// The body to serve.
    #[arg(long)]
    pub body: PathBuf,
}

pub async fn run(args: FloorArgs) -> anyhow::Result<()> {
    let body = Bytes::from(
        std::fs::read(&args.body).with_context(|| format!("reading {}", args.body.display()))?,
    );
    let app = Router::new().route(
        "/api/v1/dashboard",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    println!("mfuko is listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
