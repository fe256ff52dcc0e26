//! The API described: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` annotations (the routes are registered from the same
//! annotations, so none can be missing), served at `/api/v1/openapi.json`,
//! with a page at `/docs` that reads it and needs nothing from the internet.
//!
//! What every route shares is added here once rather than on each handler:
//! the error answers with their shape, the bearer security, and the admin's
//! `?landlord_id=`.

use axum::{
    http::{HeaderValue, header::CONTENT_TYPE},
    response::{Html, IntoResponse, Response},
};
use utoipa::{
    OpenApi, ToSchema,
    openapi::{
        self, Components, Required,
        path::{Operation, Parameter, ParameterBuilder, ParameterIn},
        response::ResponseBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::ErrorCode;
use utoipa::PartialSchema;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mfuko",
        description = "Rent collection for landlords: properties, units, tenants, leases, \
                       charges, M-Pesa, cash and bank payments, and their reports. Money is \
                       an integer number of KES cents.",
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode)),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// Every error answer.
#[derive(serde::Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable; never changes meaning.
    code: ErrorCode,
    /// For people; may change.
    message: String,
}

/// Routes anyone may call (no bearer token).
const PUBLIC: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/payments/mpesa/c2b",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// The statuses an error may answer with, and when.
const ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "the body or a parameter could not be read (broken JSON, a bad id)",
    ),
    (
        "401",
        "no valid bearer token (or, at login, wrong credentials)",
    ),
    ("403", "the route needs the admin role"),
    ("404", "no such record for this landlord, or no such route"),
    (
        "409",
        "the change conflicts with the data (a duplicate, a transition not allowed)",
    ),
    ("413", "the body is larger than 64 KiB"),
    ("422", "well-formed input that breaks a rule"),
    ("429", "too many failed logins; see Retry-After"),
    ("500", "an internal error (logged, never detailed)"),
    (
        "503",
        "the database is busy or a feature is not configured; retry",
    ),
];

/// The base document merged with the routes' paths, completed.
pub fn document(paths: openapi::OpenApi) -> openapi::OpenApi {
    let mut api = ApiDoc::openapi().merge_from(paths);
    let components = api.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("a token from POST /api/v1/auth/login"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "c2b_secret",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Mpesa-Secret",
            "the shared secret of the C2B confirmation URL (mpesa.c2b_secret)",
        ))),
    );
    components.add_security_scheme(
        "c2b_secret_query",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("secret"))),
    );
    for (path, item) in api.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        let acts_for_landlord = !public
            && !path.contains("/admin/")
            && !path.contains("/auth/")
            && !path.contains("/landlords/");
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            complete(operation, public, acts_for_landlord);
        }
    }
    api
}

fn complete(operation: &mut Operation, public: bool, acts_for_landlord: bool) {
    for (status, description) in ERRORS {
        if !operation.responses.responses.contains_key(*status) {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    openapi::ContentBuilder::new()
                        .schema(Some(openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            operation
                .responses
                .responses
                .insert((*status).to_owned(), response.into());
        }
    }
    if public && operation.security.is_none() {
        operation.security = Some(vec![openapi::security::SecurityRequirement::default()]);
    }
    if acts_for_landlord {
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        parameters.push(acting_for());
    }
}

/// `?landlord_id=`: which landlord an admin acts for (a landlord may only
/// name themselves).
fn acting_for() -> Parameter {
    ParameterBuilder::new()
        .name("landlord_id")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(
            "for an admin, the landlord to act for (required for admins); a landlord may \
             only name themselves",
        ))
        .schema(Some(i64::schema()))
        .build()
}

/// `/api/v1/openapi.json`.
pub fn json_response(document: &str) -> Response {
    let mut response = document.to_owned().into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `/docs`: a page that lists the operations of `openapi.json` with their
/// parameters, bodies and answers; plain HTML and a little script, all in
/// the binary.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
