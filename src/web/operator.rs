//! The operator's page (admin role): cache hit rates per view and tier, L1
//! size, recent invalidations, clear and warm buttons; the database pools
//! and each replica's state and lag; links to `/metrics` and `/docs`.

use askama::Template;
use axum::{
    Form,
    extract::{FromRequestParts, Query, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::http::AppState;
use crate::types::Role;
use crate::web::{
    format::{percent, thousands},
    page,
    session::{SignedIn, refuse_forged},
};

/// A signed-in admin; anyone else gets 403.
pub struct Operator {
    csrf: String,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Operator, Response> {
        let signed_in =
            <SignedIn as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if signed_in.user.role != Role::Admin {
            return Err((
                StatusCode::FORBIDDEN,
                "the operator page needs the admin role",
            )
                .into_response());
        }
        Ok(Operator {
            csrf: signed_in.csrf,
        })
    }
}

struct ViewRow {
    name: &'static str,
    requests: String,
    l1: String,
    l2: String,
    misses: String,
    hit_rate: String,
    load: String,
}

struct InvalidationRow {
    at: String,
    landlord: String,
    what: String,
    origin: &'static str,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct OperatorPage {
    signed_in: Option<String>,
    csrf: String,
    notice: Option<String>,
    engine: &'static str,
    l2: &'static str,
    l1_items: String,
    l1_bytes: String,
    l1_max: String,
    l1_evictions: String,
    views: Vec<ViewRow>,
    invalidations: Vec<InvalidationRow>,
    pools: Vec<(String, u32, usize, usize, u32)>,
    replicas: Vec<(String, &'static str, String, String, u64)>,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

pub async fn page_of_operator(
    State(state): State<AppState>,
    operator: Operator,
    Query(notice): Query<Notice>,
) -> Response {
    let cache = state.cache.stats().await;
    let db = state.db.stats();
    let mut pools = vec![
        (
            "writer".to_owned(),
            db.writer.size,
            db.writer.idle,
            db.writer.in_use,
            db.writer.max,
        ),
        (
            "reader".to_owned(),
            db.reader.size,
            db.reader.idle,
            db.reader.in_use,
            db.reader.max,
        ),
    ];
    let mut replicas = Vec::new();
    if let Some(section) = &db.replicas {
        for replica in &section.replicas {
            let pool = &replica.pool;
            pools.push((
                replica.name.clone(),
                pool.size,
                pool.idle,
                pool.in_use,
                pool.max,
            ));
            let state = match (replica.healthy, replica.usable) {
                (true, true) => "in use",
                (true, false) => "lagging",
                _ => "down",
            };
            replicas.push((
                replica.name.clone(),
                state,
                replica.replay_lsn.clone(),
                format!(
                    "{} bytes, {:.1} s",
                    thousands(replica.lag_bytes),
                    replica.lag_seconds
                ),
                replica.reads,
            ));
        }
    }
    let notice = match notice.done.as_deref() {
        Some("cleared") => Some("The cache was cleared on every instance.".to_owned()),
        Some(warmed) => warmed
            .strip_prefix("warmed-")
            .map(|count| format!("Warmed {count} dashboards.")),
        None => None,
    };
    page(&OperatorPage {
        signed_in: Some(operator.csrf.clone()),
        csrf: operator.csrf,
        notice,
        engine: db.engine,
        l2: cache.l2,
        l1_items: thousands(cache.l1.items),
        l1_bytes: mib(cache.l1.bytes),
        l1_max: mib(cache.l1.max_bytes),
        l1_evictions: thousands(cache.l1.evictions),
        views: cache
            .views
            .iter()
            .map(|view| ViewRow {
                name: view.view.name(),
                requests: thousands(view.requests),
                l1: thousands(view.hits_l1),
                l2: thousands(view.hits_l2),
                misses: thousands(view.misses),
                hit_rate: percent(view.hit_rate.map(|rate| rate * 100.0)),
                load: view
                    .load_ms_mean
                    .map_or_else(|| "–".to_owned(), |ms| format!("{ms:.2} ms")),
            })
            .collect(),
        invalidations: state
            .cache
            .recent_invalidations()
            .into_iter()
            .map(|invalidation| InvalidationRow {
                at: invalidation.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                landlord: invalidation
                    .landlord
                    .map_or_else(|| "every landlord".to_owned(), |id| id.to_string()),
                what: invalidation.what,
                origin: invalidation.origin.as_str(),
            })
            .collect(),
        pools,
        replicas,
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn clear(
    State(state): State<AppState>,
    operator: Operator,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&operator.csrf, &form.csrf) {
        return refused;
    }
    state.cache.clear_all().await;
    tracing::info!("cache cleared by an admin (operator page)");
    Redirect::to("/operator?done=cleared").into_response()
}

pub async fn warm(
    State(state): State<AppState>,
    operator: Operator,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&operator.csrf, &form.csrf) {
        return refused;
    }
    match crate::reports::warm::warm(&state.db, &state.cache, state.today()).await {
        Ok(count) => Redirect::to(&format!("/operator?done=warmed-{count}")).into_response(),
        Err(err) => err.into_response(),
    }
}
