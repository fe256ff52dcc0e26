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
mod dashboard;
pub mod format;
mod leases;
mod operator;
mod pages;
mod payments;
mod properties;
mod reports;
mod session;
mod tenants;

use askama::Template;
use axum::{
    Form, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use crate::error::AppError;
use crate::http::{AppState, auth};
use session::{SignedIn, csrf_matches, refuse_forged};

pub use session::SESSION as SESSION_COOKIE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/dashboard", get(dashboard::page_of_dashboard))
        .route("/properties", get(properties::list).post(properties::add))
        .route(
            "/properties/{id}",
            get(properties::show).post(properties::edit),
        )
        .route("/properties/{id}/units", post(properties::add_unit))
        .route(
            "/units/{id}",
            get(properties::unit).post(properties::edit_unit),
        )
        .route("/tenants", get(tenants::list).post(tenants::add))
        .route("/tenants/{id}", get(tenants::show).post(tenants::edit))
        .route("/tenants/{id}/statement", get(tenants::statement))
        .route("/leases", get(leases::list).post(leases::start))
        .route("/leases/{id}", get(leases::show))
        .route("/leases/{id}/end", post(leases::end))
        .route("/payments", get(payments::list).post(payments::record))
        .route("/payments/{id}/allocate", post(payments::allocate))
        .route("/reports", get(reports::page_of_reports))
        .route("/reports/{file}", get(reports::download))
        .route("/operator", get(operator::page_of_operator))
        .route("/operator/cache/clear", post(operator::clear))
        .route("/operator/cache/warm", post(operator::warm))
        .route("/assets/app.css", get(stylesheet))
        .layer(axum::middleware::from_fn(revalidate))
}

/// A page rendered from its template: HTML for this browser only, which it
/// revalidates by ETag (a digest of the page) before showing it again.
fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let digest = crate::cache::entry::digest(html.as_bytes());
            let etag = format!("\"{}\"", hex::encode(digest));
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
