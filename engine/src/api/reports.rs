//! Supervisor reports over any period, as JSON for the console and the clinic's information
//! system.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::{ApiQuery, ApiResult, ErrorBody};
use crate::error::Error;
use crate::leaderboard::span_for;
use crate::reports::figures::{self, Filter, Report};
use crate::time::{PeriodName, now_ms, parse_rfc3339};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `today`, `week` or `month` (default), in the clinic's time zone.
    pub period: Option<PeriodName>,
    /// RFC 3339; with `to`, any period instead of `period` (at most 3 years).
    pub from: Option<String>,
    pub to: Option<String>,
    pub registrar_id: Option<i64>,
    pub desk_id: Option<i64>,
}

const MAX_SPAN_MS: i64 = 3 * 366 * 24 * 3_600_000;

#[utoipa::path(get, path = "/api/v1/reports", params(ReportQuery), security(("token" = [])),
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Report>> {
    let from = q
        .from
        .as_deref()
        .map(|t| parse_rfc3339("from", t))
        .transpose()?;
    let to =
        q.to.as_deref()
            .map(|t| parse_rfc3339("to", t))
            .transpose()?;
    match (from, to) {
        (Some(f), Some(t)) if f >= t => {
            return Err(Error::invalid("to", "must be later than from").into());
        }
        (Some(f), Some(t)) if t - f > MAX_SPAN_MS => {
            return Err(Error::invalid("to", "a report covers at most 3 years").into());
        }
        (Some(_), None) => return Err(Error::invalid("to", "is needed with from").into()),
        (None, Some(_)) => return Err(Error::invalid("from", "is needed with to").into()),
        _ => {}
    }
    if q.period.is_some() && from.is_some() {
        return Err(Error::invalid("period", "give either period or from/to, not both").into());
    }
    let s = e.settings();
    let tz = s.tz();
    let span = span_for(
        Some(q.period.unwrap_or(PeriodName::Month)),
        from,
        to,
        tz,
        now_ms(),
    );
    let filter = Filter {
        registrar_id: q.registrar_id,
        desk_id: q.desk_id,
    };
    Ok(Json(
        e.reads
            .read(move |c| figures::report(c, span, filter, tz, s.scale))
            .await?,
    ))
}
