//! The hub's errors as HTTP answers: a status and `{"error": "..."}` naming the problem.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use otklik_domain::Error;
use otklik_domain::link::Gap;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// A batch that does not continue the site's sequence: the site resends from `expected`.
    #[error("the hub expects seq {expected} next")]
    Gap { expected: i64 },
}

pub type HubResult<T> = Result<T, HubError>;

/// The database's failures, kept as the storage error they are (the message names the cause).
pub fn db(e: impl std::error::Error + Send + Sync + 'static) -> HubError {
    HubError::Domain(Error::Storage(Box::new(e)))
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        if let HubError::Gap { expected } = self {
            let error = self.to_string();
            return (StatusCode::CONFLICT, Json(Gap { expected, error })).into_response();
        }
        let HubError::Domain(e) = self else {
            unreachable!()
        };
        let status = match &e {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Busy { .. } | Error::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{e}");
        }
        (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
    }
}
