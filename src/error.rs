//! One error type for the whole request path. Each variant has a stable,
//! machine-readable [`ErrorCode`]; internal causes are logged, never sent to
//! clients.

use axum::{
    Json,
    http::{
        HeaderValue, StatusCode,
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::json;

/// Declares [`ErrorCode`] with its wire names, so the names exist once.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident => $name:literal,)+) => {
        /// Every `error.code` the API can answer. Clients may match on these;
        /// they never change meaning. `README.md` lists them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }
        }
    };
}

error_codes! {
    /// 400: the body is not JSON at all, or is cut short.
    MalformedJson => "malformed_json",
    /// 400: the body could not be read.
    UnreadableBody => "unreadable_body",
    /// 400: a path parameter is not what the route expects (e.g. not an id).
    InvalidPath => "invalid_path",
    /// 413: the request body is larger than the API accepts.
    PayloadTooLarge => "payload_too_large",
    /// 400: a JSON body was sent without `Content-Type: application/json`.
    ExpectedJson => "expected_json",
    /// 401: no bearer token, or one that is unknown, expired or revoked.
    Unauthorized => "unauthorized",
    /// 401: login with a wrong email or password.
    InvalidCredentials => "invalid_credentials",
    /// 403: the route needs the admin role.
    Forbidden => "forbidden",
    /// 404: no such record for this landlord (or no such route).
    NotFound => "not_found",
    /// 405: the route exists but not with this method.
    MethodNotAllowed => "method_not_allowed",
    /// 409: a record with these values exists already.
    Conflict => "conflict",
    /// 409: a unit label is taken within its property.
    DuplicateLabel => "duplicate_label",
    /// 409: a lease account reference is taken.
    DuplicateAccountRef => "duplicate_account_ref",
    /// 409: the lease already has rent for that period.
    DuplicateCharge => "duplicate_charge",
    /// 409: a payment with this method and reference exists.
    DuplicateReference => "duplicate_reference",
    /// 409: the M-Pesa shortcode is registered (by this or another landlord).
    ShortcodeTaken => "shortcode_taken",
    /// 409: the payment is allocated to a lease already.
    AlreadyAllocated => "already_allocated",
    /// 409: the unit already has an active lease.
    UnitOccupied => "unit_occupied",
    /// 409: the record is still referred to (e.g. a property with units).
    InUse => "in_use",
    /// 409: a payment cannot move to that status from its current one.
    InvalidTransition => "invalid_transition",
    /// 409: the payment changed between reading and updating it; retry.
    StatusChanged => "status_changed",
    /// 422: well-formed JSON with a missing field, an unknown field or a value of the wrong type.
    InvalidBody => "invalid_body",
    /// 422: a query parameter is missing, unknown or of the wrong type.
    InvalidQuery => "invalid_query",
    /// 422: a required text is empty.
    Required => "required",
    /// 422: a text contains control characters (NUL, line breaks, escapes).
    InvalidText => "invalid_text",
    /// 422: a text is longer than allowed.
    TooLong => "too_long",
    /// 422: a value breaks a database rule (out of range).
    InvalidValue => "invalid_value",
    /// 422: a referenced record does not exist.
    InvalidReference => "invalid_reference",
    /// 422: an amount is not a number of minor units (an M-Pesa `TransAmount` that is not a decimal).
    InvalidAmount => "invalid_amount",
    /// 422: an amount is below one cent or above the configured maximum (`money.max_amount_kes`).
    AmountOutOfRange => "amount_out_of_range",
    /// 422: a date is not exactly `YYYY-MM-DD`, or falls outside 2000-01-01..2099-12-31.
    InvalidDate => "invalid_date",
    /// 422: `from` is after `to`, or an end date is before a start date.
    InvalidDateRange => "invalid_date_range",
    /// 422: a report range spans more than the allowed number of days.
    RangeTooLong => "range_too_long",
    /// 422: `due_day` is outside 1–28.
    InvalidDueDay => "invalid_due_day",
    /// 422: `grace_days` is outside 0–60.
    InvalidGraceDays => "invalid_grace_days",
    /// 422: a phone number is not a Kenyan mobile number.
    InvalidPhone => "invalid_phone",
    /// 422: an account reference is not 1–20 letters, digits or dashes.
    InvalidAccountRef => "invalid_account_ref",
    /// 422: the tenant has moved out.
    TenantMovedOut => "tenant_moved_out",
    /// 422: the unit is off the market.
    UnitOffMarket => "unit_off_market",
    /// 422: a new payment must be `confirmed` or `pending`.
    InvalidStatus => "invalid_status",
    /// 422: M-Pesa and bank payments need their transaction reference.
    ReferenceRequired => "reference_required",
    /// 422: `paid_at` is in the future.
    PaidInFuture => "paid_in_future",
    /// 422: an M-Pesa TransID is not 1–20 letters or digits.
    InvalidTransId => "invalid_trans_id",
    /// 422: an M-Pesa TransTime is not `YYYYMMDDHHmmss`.
    InvalidTransTime => "invalid_trans_time",
    /// 422: an M-Pesa shortcode is not 5–7 digits.
    InvalidShortcode => "invalid_shortcode",
    /// 422: an admin must say which landlord they act for (`?landlord_id=`).
    LandlordIdRequired => "landlord_id_required",
    /// 422: a cache-clear pattern is empty or malformed.
    InvalidPattern => "invalid_pattern",
    /// 429: too many failed logins for this account or address; see `Retry-After`.
    TooManyAttempts => "too_many_attempts",
    /// 503: the database is busy, or a feature is not configured.
    Unavailable => "unavailable",
    /// 500: something failed inside; the cause is logged, not sent.
    Internal => "internal",
}

/// The wire names, as a string enumeration (written out by hand: a derive
/// cannot see the names through the declaring macro).
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request body or parameters could not be read at all.
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
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
    Conflict { code: ErrorCode, message: String },
    /// Well-formed input that breaks a rule (bad date, negative amount, …).
    #[error("{message}")]
    Validation { code: ErrorCode, message: String },
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// Failed logins are locked out for this many more seconds.
    #[error("too many failed logins; retry in {0} seconds")]
    TooManyAttempts(u64),
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Validation {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A copy for each waiter when one failed load is shared (the cache's
    /// single-flight); an internal cause is carried as its message.
    pub fn replicate(&self) -> AppError {
        match self {
            Self::BadRequest { code, message } => Self::bad_request(*code, message.clone()),
            Self::Unauthorized => Self::Unauthorized,
            Self::InvalidCredentials => Self::InvalidCredentials,
            Self::Forbidden(message) => Self::Forbidden(message),
            Self::NotFound(what) => Self::NotFound(what),
            Self::Conflict { code, message } => Self::conflict(*code, message.clone()),
            Self::Validation { code, message } => Self::validation(*code, message.clone()),
            Self::MethodNotAllowed => Self::MethodNotAllowed,
            Self::PayloadTooLarge(limit) => Self::PayloadTooLarge(*limit),
            Self::TooManyAttempts(secs) => Self::TooManyAttempts(*secs),
            Self::Unavailable(message) => Self::Unavailable(message),
            Self::Internal(cause) => Self::Internal(anyhow::anyhow!("{cause:#}")),
        }
    }

    /// What went wrong, with an internal error's whole cause chain (for the
    /// CLI and logs; clients get [`AppError`]'s display text instead).
    pub fn cause(&self) -> String {
        match self {
            Self::Internal(cause) => format!("{cause:#}"),
            other => other.to_string(),
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
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Validation { code, .. } => *code,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::TooManyAttempts(_) => ErrorCode::TooManyAttempts,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &err {
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    return Self::conflict(
                        ErrorCode::Conflict,
                        "a record with these values already exists",
                    );
                }
                ErrorKind::ForeignKeyViolation => {
                    return Self::validation(
                        ErrorCode::InvalidReference,
                        "a referenced record does not exist",
                    );
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return Self::validation(ErrorCode::InvalidValue, "a value is out of range");
                }
                _ => {}
            }
            // A NUL or an invalid byte in text: PostgreSQL refuses it, SQLite
            // would store it. Edge validation should have caught it; this is
            // the net under it, so it is the client's error and not a 500.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Self::validation(
                    ErrorCode::InvalidText,
                    "text must not contain NUL or invalid characters",
                );
            }
        }
        if matches!(err, sqlx::Error::PoolTimedOut) {
            return Self::Unavailable("the database is busy; retry shortly");
        }
        Self::Internal(anyhow::Error::new(err).context("database query"))
    }
}

/// A replica that went away fails a read with a connection error (or a
/// pool timeout): `Database::read` then runs it again on the primary.
impl crate::db::ConnectionFailure for AppError {
    fn is_connection_failure(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Internal(cause) => cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(crate::db::ConnectionFailure::is_connection_failure),
            _ => false,
        }
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
        if let Self::TooManyAttempts(secs) = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
