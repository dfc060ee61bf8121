//! One error type for every handler: client errors carry a code and a message, everything else
//! is logged and becomes a plain 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchboard_shared::api::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyAttempts(String),
    /// Refused with a specific status and code (a group action the number cannot do now).
    #[error("{2}")]
    Refused(StatusCode, &'static str, String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest(code, message.into())
    }
}

/// The error body every `/api/v1` failure uses.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.into(), message: message.into() } };
    (status, Json(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, *code),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            AppError::Refused(status, code, _) => (*status, *code),
            AppError::Database(e) => {
                tracing::error!("database error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            AppError::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        error_response(status, code, &self.to_string())
    }
}

impl AppError {
    /// A group provider's refusal or failure, with a code the console shows in the reader's
    /// language.
    pub fn from_group(e: crate::groups::GroupErr, group: Option<&str>) -> AppError {
        use crate::groups::GroupErr;
        use switchboard_shared::groups::Refusal;
        let on = group.map(|g| format!(" ({g})")).unwrap_or_default();
        match e {
            GroupErr::Refused(r) => {
                let message = match r {
                    Refusal::Provider => "The Cloud API cannot do this; a linked device of the number can.",
                    Refusal::NotAdmin | Refusal::AdminsOnly => "The number is not an admin of this group.",
                    Refusal::Offline => "The number is offline right now; nothing was done.",
                    Refusal::LoggedOut => "The number's linked device was logged out; pair it again.",
                    Refusal::Banned => "WhatsApp has banned this number.",
                };
                AppError::Refused(StatusCode::CONFLICT, r.code(), format!("{message}{on}"))
            }
            GroupErr::RateLimited => AppError::Refused(
                StatusCode::TOO_MANY_REQUESTS,
                "group_rate_limited",
                format!("WhatsApp asked us to slow down; try again in a minute{on}."),
            ),
            GroupErr::NotFound => AppError::NotFound,
            GroupErr::Invalid(m) => AppError::BadRequest("group_refused", m),
            GroupErr::Unreachable(m) => AppError::Refused(
                StatusCode::CONFLICT,
                "group_number_offline",
                format!("The number could not be reached ({m}); nothing was done."),
            ),
            GroupErr::Unknown(m) => AppError::Refused(
                StatusCode::BAD_GATEWAY,
                "group_outcome_unknown",
                format!("WhatsApp did not answer ({m}); the change may or may not have been made. The group list will show it."),
            ),
        }
    }
}

/// Parses a JSON request body into its type; a bad body is a 400 that says what is wrong.
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request("invalid_body", format!("the request body is not what this call takes: {e}")))
}

/// A JSON request body, parsed into its type: the one extractor every handler takes its body
/// with, so a bad body always gets our error shape (400 `invalid_body`, saying what is wrong)
/// and changes nothing. Unlike axum's `Json`, it does not insist on a content type.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| AppError::bad_request("invalid_body", format!("the request body could not be read: {}", e.body_text())))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether a database error is a unique constraint refusing a second row.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl AppError {
    /// A unique violation as 409 with `message`; any other database error as it is. Inserts
    /// rely on the constraint instead of looking first, which races.
    pub fn conflict_if_unique(e: sqlx::Error, message: impl FnOnce() -> String) -> AppError {
        if is_unique_violation(&e) {
            AppError::Conflict(message())
        } else {
            AppError::Database(e)
        }
    }
}
