//! Responses served through the cache: the stored JSON bytes as they are
//! (no re-serialization), with `X-Cache`, a strong `ETag`, `Cache-Control:
//! private`, and 304 when the client already holds the same bytes. A report
//! asked for `?format=csv` is rendered from those bytes, with its own ETag.

use axum::{
    extract::FromRequestParts,
    http::{
        HeaderValue, StatusCode,
        header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_NONE_MATCH},
        request::Parts,
    },
    response::{IntoResponse, Response},
};

use crate::cache::Served;
use crate::error::{AppError, AppResult};
use crate::reports::{csv, views::Report};

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
        self.0
            .as_deref()
            .is_some_and(|header| if_none_match_covers(header, etag))
    }
}

/// Whether an `If-None-Match` header value names `etag` (or `*`).
pub fn if_none_match_covers(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

pub use crate::cache::entry::json_body as json_bytes;

/// `?format=`: how a report is sent.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    /// A spreadsheet's CSV (quoted cells, formulas defused), as a download.
    Csv,
}

pub struct Cached {
    pub served: Served,
    pub if_none_match: IfNoneMatch,
    /// `Some` to send the report as CSV instead of its JSON.
    pub csv: Option<Report>,
}

impl Cached {
    pub fn json(served: Served, if_none_match: IfNoneMatch) -> Cached {
        Cached {
            served,
            if_none_match,
            csv: None,
        }
    }
}

impl IntoResponse for Cached {
    fn into_response(self) -> Response {
        let entry = &self.served.entry;
        let etag = match self.csv {
            None => entry.etag_header.clone(),
            Some(_) => csv_etag(&entry.etag_header),
        };
        let not_modified = self
            .if_none_match
            .matches(etag.to_str().unwrap_or_default());
        let mut response = if not_modified {
            StatusCode::NOT_MODIFIED.into_response()
        } else if let Some(report) = self.csv {
            match csv::from_json(&report, &entry.body) {
                Some(Ok(file)) => (
                    [
                        (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                        (
                            CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{}\"", file.name),
                        ),
                    ],
                    file.text,
                )
                    .into_response(),
                Some(Err(err)) => {
                    return AppError::Internal(
                        anyhow::Error::new(err).context("reading a cached report for its CSV"),
                    )
                    .into_response();
                }
                None => {
                    return AppError::validation(
                        crate::error::ErrorCode::InvalidQuery,
                        "this view has no CSV form; leave out format=csv",
                    )
                    .into_response();
                }
            }
        } else {
            let mut response = entry.body.clone().into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, etag);
        headers.insert(
            "x-cache",
            HeaderValue::from_static(self.served.tier.header()),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        response
    }
}

/// The CSV's ETag: the JSON's with `-csv` inside the quotes, so a client
/// holding one form never gets a 304 for the other.
fn csv_etag(json: &HeaderValue) -> HeaderValue {
    let tag = json.to_str().unwrap_or_default().trim_matches('"');
    HeaderValue::from_str(&format!("\"{tag}-csv\"")).unwrap_or_else(|_| json.clone())
}
