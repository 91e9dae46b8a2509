//! One error shape for every client: `{"error": "...", "code": "...", "field": "..."}`, and
//! extractors whose rejections use it too, naming the field that was wrong.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use otklik_domain::error::Error;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in words.
    pub error: String,
    /// Stable identifier: `bad_json`, `invalid`, `not_found`, `conflict`, `unauthorized`, ...
    pub code: &'static str,
    /// The request field at fault, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Sent as `Retry-After` (seconds) with a 429 or 503.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, error: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                code,
                field: None,
            },
            retry_after_secs: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match &e {
            Error::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            Error::Invalid { field, .. } => {
                let field = field.clone();
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
                    .field(field)
            }
            Error::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            Error::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            Error::Unauthorized(_) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
            }
            Error::TooSoon {
                retry_after_secs, ..
            } => ApiError {
                retry_after_secs: Some(*retry_after_secs),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_soon", e.to_string())
            },
            Error::Busy {
                retry_after_secs, ..
            } => ApiError {
                retry_after_secs: Some(*retry_after_secs),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            },
            Error::ShuttingDown => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            _ => {
                tracing::error!(%e, "request failed on the server's side");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body: 415 if it is not JSON, 413 if too large, 400 naming the field if malformed.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_content_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes =
            axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e: BytesRejection| {
                    let status = e.status();
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::new(
                            status,
                            "too_large",
                            "the request body is too large (limit 64 KiB)",
                        )
                    } else {
                        ApiError::new(status, "bad_body", e.body_text())
                    }
                })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let field = (path != ".")
                    .then_some(path.clone())
                    .or_else(|| missing_field(&inner.to_string()));
                let msg = if path == "." {
                    format!("malformed JSON body: {inner}")
                } else {
                    format!("{path}: {inner}")
                };
                let err = ApiError::new(StatusCode::BAD_REQUEST, "bad_json", msg);
                Err(match field {
                    Some(f) => err.field(f),
                    None => err,
                })
            }
        }
    }
}

/// serde names a missing field only inside its message: "missing field `desk_id` at line 1 ...".
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// serde_urlencoded names the parameter at fault only in its message:
/// "Failed to deserialize query string: period: unknown variant `year`, ...".
fn query_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("Failed to deserialize query string: ")?;
    if let Some(f) = missing_field(rest) {
        return Some(f);
    }
    let (name, _) = rest.split_once(": ")?;
    name.bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_')
        .then(|| name.to_string())
}

/// A numeric id in the path; anything else is a 400 naming it.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|p| Id(p.0))
            .map_err(|e: PathRejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_path",
                    format!("id: {}", e.body_text()),
                )
                .field("id")
            })
    }
}

/// Query parameters; a malformed one is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                let text = e.body_text();
                let err = ApiError::new(StatusCode::BAD_REQUEST, "bad_query", &text);
                match query_field(&text) {
                    Some(f) => err.field(f),
                    None => err,
                }
            })
    }
}

/// A list's `limit`: 1 to 1000, 100 when not given.
pub fn page_limit(limit: Option<i64>) -> Result<i64, Error> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::invalid("limit", "must be between 1 and 1000"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_client_statuses() {
        let e: ApiError = Error::invalid("score", "4 is outside").into();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body.field.as_deref(), Some("score"));
        let e: ApiError = Error::NotFound {
            what: "desk",
            id: 9,
        }
        .into();
        assert_eq!(
            (e.status, e.body.error.as_str()),
            (StatusCode::NOT_FOUND, "desk 9 does not exist")
        );
        let e: ApiError = Error::Conflict("x".into()).into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = Error::ShuttingDown.into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_missing_field_is_named() {
        assert_eq!(
            missing_field("missing field `desk_id` at line 1 column 2").as_deref(),
            Some("desk_id")
        );
        assert_eq!(missing_field("expected value"), None);
        assert_eq!(
            query_field("Failed to deserialize query string: period: unknown variant `year`")
                .as_deref(),
            Some("period")
        );
        assert_eq!(
            query_field("Failed to deserialize query string: invalid digit found in string"),
            None
        );
    }
}
