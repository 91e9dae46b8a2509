//! Supervisor reports over any period, as JSON for the console and the clinic's information
//! system.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiQuery, ApiResult, ErrorBody};
use otklik_domain::error::Error;
use otklik_domain::time::span_for;
use otklik_domain::time::{PeriodName, now_ms, parse_bounds, parse_rfc3339};
use otklik_reports::figures::{self, Filter, Report};
use otklik_reports::{export, render};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    Ok(Json(compute(&e, &q).await?))
}

async fn compute(e: &AppState, q: &ReportQuery) -> ApiResult<Report> {
    let bounds = parse_bounds(q.period, q.from.as_deref(), q.to.as_deref())?;
    if bounds.is_some_and(|(f, t)| t - f > MAX_SPAN_MS) {
        return Err(Error::invalid("to", "a report covers at most 3 years").into());
    }
    let (from, to) = (bounds.map(|b| b.0), bounds.map(|b| b.1));
    let s = e.store.settings();
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
    Ok(e.store
        .reads
        .read(move |c| figures::report(c, span, filter, tz, s.scale))
        .await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (one table), `xlsx` (every table, a sheet each) or `pdf` (printable, with a chart).
    pub format: ExportFormat,
    /// For CSV: `registrars` (default), `desks`, `hours`, `days`, `reasons_registrars` or
    /// `reasons_desks`.
    pub table: Option<String>,
    pub period: Option<PeriodName>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub registrar_id: Option<i64>,
    pub desk_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
    Pdf,
}

/// The report as a file: CSV, XLSX or PDF, headings in the installation's language.
#[utoipa::path(get, path = "/api/v1/reports/export", operation_id = "export_report", params(ExportQuery), security(("token" = [])),
    responses((status = 200, description = "text/csv, XLSX or PDF"), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let rq = ReportQuery {
        period: q.period,
        from: q.from.clone(),
        to: q.to.clone(),
        registrar_id: q.registrar_id,
        desk_id: q.desk_id,
    };
    let report = compute(&e, &rq).await?;
    let s = e.store.settings();
    let tz = s.tz();
    let tables = render::tables(&report, s.language, tz);
    let day = report.from.get(..10).unwrap_or("report").to_string();
    let (bytes, mime, ext) = match q.format {
        ExportFormat::Csv => {
            let name = q.table.as_deref().unwrap_or("registrars");
            let t = tables.iter().find(|t| t.name == name).ok_or_else(|| {
                Error::invalid(
                    "table",
                    format!(
                        "'{name}' is not a table: registrars, desks, hours, days, reasons_registrars or reasons_desks"
                    ),
                )
            })?;
            (export::csv(t), "text/csv; charset=utf-8", "csv")
        }
        ExportFormat::Xlsx => {
            let t = tables.clone();
            let b = tokio::task::spawn_blocking(move || export::xlsx(&t))
                .await
                .map_err(|err| Error::CommitFailed(err.to_string()))?
                .map_err(Error::CommitFailed)?;
            (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        }
        ExportFormat::Pdf => {
            let (lang, clinic) = (s.language, s.clinic_name.clone());
            let doc = e
                .store
                .reads
                .read(move |c| render::document(c, &report, lang, tz, &clinic))
                .await?;
            let b = tokio::task::spawn_blocking(move || export::document_pdf(&doc))
                .await
                .map_err(|err| Error::CommitFailed(err.to_string()))?
                .map_err(Error::CommitFailed)?;
            (b, "application/pdf", "pdf")
        }
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"otklik-{day}.{ext}\""),
        )
        .body(Body::from(bytes))
        .expect("a valid response"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RawExportQuery {
    /// `csv` or `xlsx`.
    pub format: ExportFormat,
    /// RFC 3339: the ratings given in [from, to).
    pub from: String,
    pub to: String,
    pub registrar_id: Option<i64>,
    pub desk_id: Option<i64>,
}

/// Rows in one raw export: a year of a busy clinic; longer spans go in several files.
const RAW_LIMIT: usize = 500_000;

/// The raw ratings of a period as CSV or XLSX: one row per rating, times in the clinic's zone.
#[utoipa::path(get, path = "/api/v1/ratings/export", params(RawExportQuery), security(("token" = [])),
    responses((status = 200, description = "text/csv or XLSX"), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_ratings(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<RawExportQuery>,
) -> ApiResult<Response> {
    let from = parse_rfc3339("from", &q.from)?;
    let to = parse_rfc3339("to", &q.to)?;
    if from >= to {
        return Err(Error::invalid("to", "must be later than from").into());
    }
    if matches!(q.format, ExportFormat::Pdf) {
        return Err(Error::invalid("format", "raw ratings export as csv or xlsx").into());
    }
    let s = e.store.settings();
    let (registrar_id, desk_id) = (q.registrar_id, q.desk_id);
    let table = e
        .store
        .reads
        .read(move |c| {
            render::raw_ratings(
                c,
                from,
                to,
                registrar_id,
                desk_id,
                s.language,
                s.tz(),
                RAW_LIMIT,
            )
        })
        .await?;
    let (bytes, mime, ext) = match q.format {
        ExportFormat::Xlsx => {
            let b = tokio::task::spawn_blocking(move || export::xlsx(&[table]))
                .await
                .map_err(|err| Error::CommitFailed(err.to_string()))?
                .map_err(Error::CommitFailed)?;
            (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        }
        _ => (export::csv(&table), "text/csv; charset=utf-8", "csv"),
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"otklik-ratings.{ext}\""),
        )
        .body(Body::from(bytes))
        .expect("a valid response"))
}
