//! The HTTP API: one router per resource, merged here under `/api/v1`.
//! Handlers are short: extract, call the write, report or db layer, return.

mod admin;
pub mod auth;
pub(crate) mod cached;
mod charges;
pub mod extract;
mod leases;
pub mod login_guard;
mod mpesa;
mod openapi;
mod ops;
mod payments;
mod properties;
mod reports;
mod tenants;

use std::{sync::Arc, time::Duration};

use std::{convert::Infallible, future::Future};

use axum::{
    Router,
    body::Body,
    extract::DefaultBodyLimit,
    http::{
        HeaderName, HeaderValue, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH},
    },
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::NaiveDate;
use chrono_tz::Tz;
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_http::{
    cors::{AllowMethods, AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
};
use utoipa_axum::router::OpenApiRouter;

use crate::cache::Cache;
use crate::config::Settings;
use crate::db::Database;
use crate::error::AppError;
use crate::write::WritePath;

/// The largest request body accepted (API bodies are a few hundred bytes;
/// an M-Pesa confirmation about one kilobyte).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read (and dropped) before the 413, so
/// the client gets the answer; past this the connection is simply closed.
pub const DRAIN_BYTES: usize = 32 * 1024 * 1024;

/// Shared by every handler. One `Arc`: axum clones the state for every
/// request, and one reference count is cheaper than one per pool and cache.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    pub db: Database,
    pub cache: Cache,
    /// The single write path (the writer plus the cache it invalidates).
    pub writes: WritePath,
    pub settings: Arc<Settings>,
    pub tz: Tz,
    pub clock: crate::clock::Clock,
    /// Login throttling and the password-hashing slots.
    pub login: Arc<login_guard::LoginGuard>,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Shared {
    /// Today's date where the landlords are (the configured time zone).
    pub fn today(&self) -> NaiveDate {
        self.clock.today(self.tz)
    }
}

/// Every documented route: the API under `/api/v1`, and the operator routes.
pub fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(auth::router())
        .merge(admin::router())
        .merge(properties::router())
        .merge(tenants::router())
        .merge(leases::router())
        .merge(charges::router())
        .merge(payments::router())
        .merge(mpesa::router())
        .merge(reports::router());
    OpenApiRouter::new()
        .nest("/api/v1", api)
        .merge(ops::router())
}

/// One CORS policy: the configured origins may call the API with a bearer
/// token (any method, `Authorization` and `Content-Type` headers); others get
/// no CORS headers, so browsers refuse them. Preflights (`OPTIONS`) are
/// answered by this layer.
fn cors(settings: &Settings) -> CorsLayer {
    let origins: Vec<HeaderValue> = settings
        .server
        .cors_allowed_origins
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::warn!(origin = ?origin, "ignoring an invalid CORS origin");
                None
            }
        })
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, IF_NONE_MATCH])
        .expose_headers([ETAG, HeaderName::from_static("x-cache")])
        .max_age(Duration::from_secs(600))
}

/// The whole HTTP service. The layers every request passes wrap the router
/// once, as one service: applied with `Router::layer` they would wrap each
/// route, and every request would clone (and allocate) each layer anew.
pub fn app(
    state: AppState,
) -> impl Service<
    Request<Body>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
+ Send
+ Sync
+ 'static {
    let cors = cors(&state.settings);
    ServiceBuilder::new()
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(ops::limit_body))
        .service(router(state))
        .map_response(IntoResponse::into_response)
}

/// The routes, each with its access line and metrics (`ops::record` needs
/// the matched route, so it is the one per-route layer).
fn router(state: AppState) -> Router {
    let (router, api) = routes().split_for_parts();
    let document: Arc<str> = serde_json::to_string(&openapi::document(api))
        .unwrap_or_else(|err| format!(r#"{{"error":"{err}"}}"#))
        .into();
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { openapi::json_response(&document) }),
        )
        .route("/docs", get(openapi::docs_page))
        .merge(crate::web::router())
        .fallback(|| async { AppError::NotFound("route") })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(ops::record))
        .with_state(state)
}
