//! Authentication: login/logout, and the extractors every data route uses.
//!
//! - [`AuthUser`]: a valid bearer token (else 401).
//! - [`AdminUser`]: an admin's token (else 403).
//! - [`Landlord`]: whose data the request touches — a landlord's own id, or for
//!   an admin the `?landlord_id=` they act for. Another landlord's rows then
//!   simply are not found (404), so nothing leaks.

use std::net::SocketAddr;

use axum::{
    Extension,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{StatusCode, header::AUTHORIZATION, request::Parts},
};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::cache::CachedToken;
use crate::db::{tokens, users, users::User};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::{AppState, extract::Json, extract::Query};
use crate::types::{Id, Role};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Id,
    pub role: Role,
    token_hash: String,
}

pub struct AdminUser(pub AuthUser);

/// The landlord whose data a request reads or writes.
#[derive(Debug, Clone, Copy)]
pub struct Landlord(pub Id);

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<AuthUser> {
        let token = bearer_token(parts).ok_or(AppError::Unauthorized)?;
        AuthUser::from_token(state, token).await
    }
}

impl AuthUser {
    /// The owner of a bearer token (the API's header, the web app's session
    /// cookie): from the cache when checked recently, else the database.
    pub async fn from_token(state: &AppState, token: &str) -> AppResult<AuthUser> {
        let token_hash = auth::token_hash(token);
        if let Some(cached) = state.cache.token_owner(&token_hash).await {
            return Ok(AuthUser {
                id: cached.user_id,
                role: cached.role,
                token_hash,
            });
        }
        let owner = tokens::owner(state.db.reader_prefer_primary(), &token_hash, Utc::now())
            .await?
            .ok_or(AppError::Unauthorized)?;
        state
            .cache
            .remember_token(
                token_hash.clone(),
                CachedToken {
                    user_id: owner.user_id,
                    role: owner.role,
                    expires_at: owner.expires_at,
                },
            )
            .await;
        Ok(AuthUser {
            id: owner.user_id,
            role: owner.role,
            token_hash,
        })
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<AdminUser> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(AppError::Forbidden("this route needs the admin role"));
        }
        Ok(AdminUser(user))
    }
}

#[derive(Deserialize)]
struct ActingFor {
    landlord_id: Option<Id>,
}

impl FromRequestParts<AppState> for Landlord {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Landlord> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let Query(acting) = Query::<ActingFor>::from_request_parts(parts, state).await?;
        match (user.role, acting.landlord_id) {
            (Role::Landlord, None) => Ok(Landlord(user.id)),
            (Role::Landlord, Some(id)) if id == user.id => Ok(Landlord(id)),
            // Naming another landlord is answered like a missing one.
            (Role::Landlord, Some(_)) => Err(AppError::NotFound("landlord")),
            (Role::Admin, None) => Err(AppError::validation(
                ErrorCode::LandlordIdRequired,
                "admins choose the landlord with ?landlord_id=",
            )),
            (Role::Admin, Some(id)) => {
                if users::is_landlord(state.db.reader_prefer_primary(), id).await? {
                    Ok(Landlord(id))
                } else {
                    Err(AppError::NotFound("landlord"))
                }
            }
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    token: String,
    token_type: &'static str,
    expires_at: chrono::DateTime<Utc>,
    user: User,
}

/// Logs in. Failed attempts are counted per account and per client address
/// ([`LoginGuard`]); past the limit the answer is 429 before any password is
/// hashed. The client address is the TCP peer: behind a proxy, that proxy
/// (forwarded headers are not trusted, since clients can forge them).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, description = "OK", body = LoginResponse)), security(()))]
async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<LoginRequest>,
) -> AppResult<Json<LoginResponse>> {
    let address = peer.map(|Extension(ConnectInfo(peer))| peer.ip());
    let session = sign_in(&state, &body.email, body.password, address).await?;
    Ok(Json(LoginResponse {
        token: session.token,
        token_type: "Bearer",
        expires_at: session.expires_at,
        user: session.user,
    }))
}

/// A new bearer token, for the API's login and the web app's session.
pub struct Session {
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub user: User,
}

/// Checks a password (throttled per account and client address) and issues a
/// token: the one sign-in of the API and of the web app.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: String,
    address: Option<std::net::IpAddr>,
) -> AppResult<Session> {
    let email = email.trim();
    // The email as typed reaches the log: bounded, and Debug-quoted so a line
    // break in it cannot forge another log line.
    let logged: String = email.chars().take(100).collect();
    if let Err(locked) = state.login.admit(email, address) {
        tracing::warn!(client = ?address, email = ?logged, "login refused: too many failed attempts");
        return Err(locked);
    }
    // No account has an email with control characters (NUL among them, which
    // PostgreSQL refuses) or one longer than an address can be: such an email
    // is not looked up, but its password is still hashed, so the answer takes
    // as long as any other failed login.
    let credentials = if email.chars().any(char::is_control) || email.len() > 320 {
        None
    } else {
        users::credentials_by_email(state.db.reader_prefer_primary(), email).await?
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let valid = state.login.verify(password, stored).await?;
    let user_id = match (valid, credentials) {
        (true, Some(credentials)) => credentials.id,
        _ => {
            state.login.failed(address);
            tracing::warn!(client = ?address, email = ?logged, "login failed");
            return Err(AppError::InvalidCredentials);
        }
    };
    state.login.succeeded(email);
    let token = auth::new_token();
    let now = crate::types::whole_seconds(Utc::now());
    let expires_at = now + Duration::hours(state.settings.auth.token_ttl_hours);
    let token_hash = auth::token_hash(&token);
    state
        .writes
        .run(async |write| {
            Ok(tokens::insert(write.tx(), user_id, &token_hash, now, expires_at).await?)
        })
        .await?;
    let user = users::get(state.db.reader_prefer_primary(), user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    tracing::info!(user_id, "login");
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

/// Revokes the token behind `user`, here and (through the cache) on every
/// instance.
pub async fn sign_out(state: &AppState, user: &AuthUser) -> AppResult<()> {
    state
        .writes
        .run(async |write| {
            tokens::revoke(write.tx(), &user.token_hash, Utc::now()).await?;
            write.forget_token(&user.token_hash);
            Ok(())
        })
        .await
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "token revoked")))]
async fn logout(State(state): State<AppState>, user: AuthUser) -> AppResult<StatusCode> {
    sign_out(&state, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, description = "OK", body = User)))]
async fn me(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<User>> {
    let found = users::get(state.db.reader_prefer_primary(), user.id).await?;
    found.map(Json).ok_or(AppError::Unauthorized)
}
