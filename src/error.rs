//! One error type for the whole request path. Each variant has a stable,
//! machine-readable `code`; internal causes are logged, never sent to clients.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
};
use serde_json::json;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body or parameters could not be read at all.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The row does not exist *or belongs to another landlord*: no leak.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Well-formed input that breaks a rule (bad date, negative amount, …).
    #[error("{message}")]
    Validation { code: &'static str, message: String },
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A copy for each waiter when one failed load is shared (the cache's
    /// single-flight); an internal cause is carried as its message.
    pub fn replicate(&self) -> AppError {
        match self {
            Self::BadRequest { code, message } => Self::bad_request(code, message.clone()),
            Self::Unauthorized => Self::Unauthorized,
            Self::InvalidCredentials => Self::InvalidCredentials,
            Self::Forbidden(message) => Self::Forbidden(message),
            Self::NotFound(what) => Self::NotFound(what),
            Self::Conflict { code, message } => Self::conflict(code, message.clone()),
            Self::Validation { code, message } => Self::validation(code, message.clone()),
            Self::MethodNotAllowed => Self::MethodNotAllowed,
            Self::Unavailable(message) => Self::Unavailable(message),
            Self::Internal(cause) => Self::Internal(anyhow::anyhow!("{cause:#}")),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Validation { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    return Self::conflict("conflict", "a record with these values already exists");
                }
                ErrorKind::ForeignKeyViolation => {
                    return Self::validation(
                        "invalid_reference",
                        "a referenced record does not exist",
                    );
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return Self::validation("invalid_value", "a value is out of range");
                }
                _ => {}
            }
        }
        if matches!(err, sqlx::Error::PoolTimedOut) {
            return Self::Unavailable("the database is busy; retry shortly");
        }
        Self::Internal(anyhow::Error::new(err).context("database query"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
