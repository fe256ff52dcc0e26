//! `Json`, `Query` and `Path` extractors whose rejections use the app's error
//! shape and codes instead of axum's plain-text bodies.

use axum::extract::{
    FromRequest, FromRequestParts,
    rejection::{JsonRejection, PathRejection, QueryRejection},
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{AppError, ErrorCode};

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                AppError::validation(ErrorCode::InvalidBody, err.body_text())
            }
            JsonRejection::JsonSyntaxError(err) => {
                AppError::bad_request(ErrorCode::MalformedJson, err.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => AppError::bad_request(
                ErrorCode::ExpectedJson,
                "send a JSON body with Content-Type: application/json",
            ),
            // A body without a length that grew past the limit while read.
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge(super::MAX_BODY_BYTES)
            }
            other => AppError::bad_request(ErrorCode::UnreadableBody, other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        AppError::validation(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> AppError {
        AppError::bad_request(ErrorCode::InvalidPath, rejection.body_text())
    }
}
