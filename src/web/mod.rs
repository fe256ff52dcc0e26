//! The web app for landlords, served by mfuko itself: server-rendered pages
//! (askama templates, checked at compile time), the stylesheet embedded in
//! the binary, charts drawn as SVG on the server. Sign-in sets a session
//! cookie holding a bearer token of the API's kind, so the pages and the API
//! share one token check, one landlord isolation and one logout.
//!
//! Every form post carries a CSRF token: on the login form, the value of a
//! pre-session cookie (double submit); once signed in, a digest of the
//! session token, which a page of another site cannot know.

mod charts;
pub mod format;
mod operator;
mod pages;
mod reports;
mod session;

use askama::Template;
use axum::{
    Form, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use sha2::{Digest, Sha256};

use crate::db::payments;
use crate::error::AppError;
use crate::http::{AppState, auth};
use crate::reports::{dashboard::Dashboard, views};
use format::{kes, percent, thousands};
use session::{Landlord, SignedIn, csrf_matches, refuse_forged};

pub use session::SESSION as SESSION_COOKIE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/dashboard", get(dashboard))
        .route("/properties", get(pages::properties))
        .route("/properties/{id}", get(pages::property))
        .route(
            "/payments",
            get(pages::payments).post(pages::record_payment),
        )
        .route("/tenants", get(pages::tenants).post(pages::add_tenant))
        .route("/reports", get(reports::page_of_reports))
        .route("/reports/{file}", get(reports::download))
        .route("/operator", get(operator::page_of_operator))
        .route(
            "/operator/cache/clear",
            axum::routing::post(operator::clear),
        )
        .route("/operator/cache/warm", axum::routing::post(operator::warm))
        .route("/assets/app.css", get(stylesheet))
        .layer(axum::middleware::from_fn(revalidate))
}

/// A page rendered from its template: HTML for this browser only, which it
/// revalidates by ETag (a digest of the page) before showing it again.
fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let digest = Sha256::digest(html.as_bytes());
            let etag = format!("\"{}\"", hex::encode(&digest[..16]));
            (
                [
                    (header::CACHE_CONTROL, "private, no-cache".to_owned()),
                    (header::ETAG, etag),
                ],
                Html(html),
            )
                .into_response()
        }
        Err(err) => {
            AppError::Internal(anyhow::Error::new(err).context("rendering a page")).into_response()
        }
    }
}

/// 304 for a page the browser already holds (its `If-None-Match` names the
/// page's ETag), so an unchanged page costs a render but not its bytes. A
/// response that sets a cookie is always sent whole.
async fn revalidate(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    let Some(if_none_match) = if_none_match else {
        return response;
    };
    let headers = response.headers();
    let unchanged = response.status() == StatusCode::OK
        && !headers.contains_key(header::SET_COOKIE)
        && headers.get(header::ETAG).is_some_and(|etag| {
            crate::http::cached::if_none_match_covers(
                if_none_match.to_str().unwrap_or_default(),
                etag.to_str().unwrap_or_default(),
            )
        });
    if !unchanged {
        return response;
    }
    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
    for name in [header::ETAG, header::CACHE_CONTROL] {
        if let Some(value) = response.headers().get(&name) {
            not_modified.headers_mut().insert(name, value.clone());
        }
    }
    not_modified
}

async fn home(signed_in: Option<SignedIn>) -> Redirect {
    match signed_in {
        Some(user) if user.user.role == crate::types::Role::Admin => Redirect::to("/operator"),
        Some(_) => Redirect::to("/dashboard"),
        None => Redirect::to("/login"),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/app.css"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    signed_in: Option<String>,
    csrf: String,
    email: String,
    error: Option<&'static str>,
}

async fn login_page(headers: HeaderMap, signed_in: Option<SignedIn>) -> Response {
    if signed_in.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    let (csrf, cookie) = session::login_csrf(&headers);
    let mut response = page(&LoginPage {
        signed_in: None,
        csrf,
        email: String::new(),
        error: None,
    });
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let (expected, _) = session::login_csrf(&headers);
    if !session::has_login_cookie(&headers) || !csrf_matches(&expected, &form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the form expired; reload the sign-in page",
        )
            .into_response();
    }
    let address = peer.map(|axum::Extension(ConnectInfo(peer))| peer.ip());
    match auth::sign_in(&state, &form.email, form.password, address).await {
        Ok(signed) => {
            let cookie = session::cookie(&state, &signed.token);
            let home = if signed.user.role == crate::types::Role::Admin {
                "/operator"
            } else {
                "/dashboard"
            };
            ([(header::SET_COOKIE, cookie)], Redirect::to(home)).into_response()
        }
        Err(AppError::InvalidCredentials) => {
            let mut response = page(&LoginPage {
                signed_in: None,
                csrf: expected,
                email: form.email.chars().take(200).collect(),
                error: Some("That email and password do not match."),
            });
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&signed_in.csrf, &form.csrf) {
        return refused;
    }
    if let Err(err) = auth::sign_out(&state, &signed_in.user).await {
        return err.into_response();
    }
    (
        [(header::SET_COOKIE, session::cleared_cookie(&state))],
        Redirect::to("/login"),
    )
        .into_response()
}

struct DebtorRow {
    tenant: String,
    unit: String,
    balance: String,
    days_overdue: i64,
}

struct PaymentRow {
    date: String,
    method: &'static str,
    status: &'static str,
    amount: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    signed_in: Option<String>,
    as_of: String,
    collected: String,
    billed: String,
    collection_rate: String,
    occupancy: String,
    occupied: String,
    available: String,
    arrears: String,
    leases_in_arrears: i64,
    overdue_leases: i64,
    pending_amount: String,
    pending_count: i64,
    aging_chart: String,
    monthly_chart: String,
    debtors: Vec<DebtorRow>,
    payments: Vec<PaymentRow>,
}

/// The dashboard: the API's cached dashboard view (the same bytes), shown.
async fn dashboard(State(state): State<AppState>, viewer: Landlord) -> Response {
    let landlord = viewer.id;
    let report = views::Report::Dashboard {
        today: state.today(),
    };
    let served = match views::serve(&state.db, &state.cache, landlord, None, report).await {
        Ok(served) => served,
        Err(err) => return err.into_response(),
    };
    let figures: Dashboard = match serde_json::from_slice(&served.entry.body) {
        Ok(figures) => figures,
        Err(err) => {
            return AppError::Internal(anyhow::Error::new(err).context("reading the dashboard"))
                .into_response();
        }
    };
    let recent = state
        .db
        .read(landlord, |reader| async move {
            payments::recent(&reader, landlord, 8).await
        })
        .await;
    let recent = match recent {
        Ok(rows) => rows,
        Err(err) => return AppError::from(err).into_response(),
    };
    let metrics = &figures.metrics;
    let total = &figures.occupancy.total;
    page(&DashboardPage {
        signed_in: Some(viewer.csrf),
        as_of: figures.as_of.to_string(),
        collected: kes(metrics.collected_this_month),
        billed: kes(metrics.billed_this_month),
        collection_rate: format!("{} collected", percent(metrics.collection_pct)),
        occupancy: percent(total.occupancy_pct),
        occupied: thousands(total.occupied.unsigned_abs()),
        available: thousands(total.available.unsigned_abs()),
        arrears: kes(figures.arrears.total_arrears),
        leases_in_arrears: figures.arrears.leases_in_arrears,
        overdue_leases: metrics.overdue_leases,
        pending_amount: kes(metrics.pending.amount),
        pending_count: metrics.pending.count,
        aging_chart: charts::aging(&figures.arrears.buckets),
        monthly_chart: charts::monthly(&metrics.monthly),
        debtors: metrics
            .top_debtors
            .iter()
            .map(|debtor| DebtorRow {
                tenant: debtor.tenant.clone(),
                unit: debtor.unit.clone(),
                balance: kes(debtor.balance),
                days_overdue: debtor.days_overdue,
            })
            .collect(),
        payments: recent
            .iter()
            .map(|payment| PaymentRow {
                date: payment.paid_at.date_naive().to_string(),
                method: payment.method.as_str(),
                status: payment.status.as_str(),
                amount: kes(payment.amount),
            })
            .collect(),
    })
}
