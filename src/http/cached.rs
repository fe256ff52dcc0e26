//! Responses served through the cache: the stored JSON bytes as they are
//! (no re-serialization), with `X-Cache`, a strong `ETag`, `Cache-Control:
//! private`, and 304 when the client already holds the same bytes.

use axum::{
    extract::FromRequestParts,
    http::{
        HeaderValue, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH},
        request::Parts,
    },
    response::{IntoResponse, Response},
};

use crate::cache::Served;
use crate::error::{AppError, AppResult};

/// The `If-None-Match` header of the request, if any.
pub struct IfNoneMatch(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> AppResult<IfNoneMatch> {
        let value = parts
            .headers
            .get(IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(IfNoneMatch(value))
    }
}

impl IfNoneMatch {
    fn matches(&self, etag: &str) -> bool {
        self.0.as_deref().is_some_and(|header| {
            header
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
    }
}

pub use crate::cache::entry::json_body as json_bytes;

pub struct Cached {
    pub served: Served,
    pub if_none_match: IfNoneMatch,
}

impl IntoResponse for Cached {
    fn into_response(self) -> Response {
        let entry = &self.served.entry;
        let etag = entry.etag_header.to_str().unwrap_or_default();
        let not_modified = self.if_none_match.matches(etag);
        let mut response = if not_modified {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = entry.body.clone().into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, entry.etag_header.clone());
        headers.insert(
            "x-cache",
            HeaderValue::from_static(self.served.tier.header()),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        response
    }
}
