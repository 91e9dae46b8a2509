//! The hub's HTTP API: sites post their batches with their key; the network's figures, the
//! site list and the event stream are for holders of the hub token.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Deserialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use otklik_domain::Error;
use otklik_domain::leaderboard::Leaderboard;
use otklik_domain::link::{Ack, Batch, Person, Roster};
use otklik_domain::time::{PeriodName, now_ms, parse_bounds, span_for};

use crate::board::{self, DeskTotals, Scope, SiteTotals};
use crate::db::no_connection;
use crate::error::HubResult;
use crate::sites::{self, Site};
use crate::{Hub, ingest};

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/hub/v1/ingest", post(ingest))
        .route("/hub/v1/sites", get(list_sites))
        .route("/hub/v1/roster", get(pull_roster))
        .route("/hub/v1/people", get(list_people))
        .route("/hub/v1/people/{id}/merge", post(merge_people))
        .route("/hub/v1/template", axum::routing::put(put_template))
        .route("/api/v1/leaderboard", get(leaderboard))
        .route("/api/v1/network/sites", get(site_totals))
        .route("/api/v1/network/desks", get(desk_totals))
        .route("/api/v1/events", get(events))
        // The same screens as a site's: the app asks /healthz and opens the network screen.
        .fallback(otklik_ui::serve)
        .with_state(hub)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn reader(hub: &Hub, headers: &HeaderMap) -> HubResult<()> {
    match bearer(headers) {
        Some(t) if hub.is_token(t) => Ok(()),
        Some(_) => Err(Error::Unauthorized("this is not the hub token".into()).into()),
        None => Err(Error::Unauthorized(
            "the hub's figures need its token: Authorization: Bearer <otklik hub token>".into(),
        )
        .into()),
    }
}

async fn healthz(State(hub): State<Arc<Hub>>) -> HubResult<Json<serde_json::Value>> {
    let client = hub.pool.get().await.map_err(no_connection)?;
    client
        .query_one("SELECT 1", &[])
        .await
        .map_err(crate::error::db)?;
    // `role` tells the screens (the same bundle as a site's) that this is the hub.
    Ok(Json(serde_json::json!({ "status": "ok", "role": "hub" })))
}

/// The site a request's key belongs to.
async fn site_of(hub: &Hub, headers: &HeaderMap) -> HubResult<(i32, String)> {
    let key = bearer(headers)
        .ok_or_else(|| Error::Unauthorized("a site's request needs its site key".into()))?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    sites::authenticate(&client, key).await
}

/// A JSON body parsed with the path of what is wrong in it.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> HubResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(
            if path == "." { "body".into() } else { path },
            e.inner().to_string(),
        )
        .into()
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterQuery {
    since: Option<i64>,
}

async fn pull_roster(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<RosterQuery>,
) -> HubResult<Json<Roster>> {
    site_of(&hub, &headers).await?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(crate::roster::pull(&client, q.since).await?))
}

async fn list_people(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
) -> HubResult<Json<Vec<Person>>> {
    reader(&hub, &headers)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(crate::roster::people(&client).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Merge {
    /// The person who becomes the one in the path.
    from: i64,
}

async fn merge_people(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> HubResult<Json<Vec<Person>>> {
    reader(&hub, &headers)?;
    let m: Merge = parse(&body)?;
    let mut client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(crate::roster::merge(&mut client, id, m.from).await?))
}

async fn put_template(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: Bytes,
) -> HubResult<Json<serde_json::Value>> {
    reader(&hub, &headers)?;
    let template: serde_json::Value = parse(&body)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    let version = crate::roster::set_template(&client, template).await?;
    Ok(Json(serde_json::json!({ "template_version": version })))
}

async fn ingest(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: Bytes,
) -> HubResult<Json<Ack>> {
    let key =
        bearer(&headers).ok_or_else(|| Error::Unauthorized("a batch needs its site key".into()))?;
    let (site, name) = {
        let client = hub.pool.get().await.map_err(no_connection)?;
        sites::authenticate(&client, key).await?
    };
    // Read again, tracking the path, only to name where a bad body went wrong: tracking it on
    // every batch costs more than the parse itself.
    let batch: Batch = serde_json::from_slice(&body).or_else(|_| {
        let de = &mut serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::invalid(
                if path == "." { "body".into() } else { path },
                e.inner().to_string(),
            )
        })
    })?;
    let now = now_ms();
    let ack = ingest::apply(&hub.pool, &hub.partitions, site, &batch, now).await?;
    if (batch.sent_at - now).abs() > otklik_domain::link::CLOCK_DRIFT_WARN_MS {
        tracing::warn!(
            "site {name:?}: its clock is {} s off the hub's",
            (batch.sent_at - now) / 1000
        );
    }
    if !batch.events.is_empty() {
        let _ = hub.events.send((
            "ingest",
            serde_json::json!({ "site_id": site, "acked": ack.acked }).to_string(),
        ));
    }
    Ok(Json(ack))
}

async fn list_sites(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> HubResult<Json<Vec<Site>>> {
    reader(&hub, &headers)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(sites::list(&client, hub.config.stale_after_ms).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    period: Option<PeriodName>,
    from: Option<String>,
    to: Option<String>,
    /// One site's figures; all sites' without it.
    site: Option<i32>,
}

fn scope(hub: &Hub, q: &FiguresQuery) -> HubResult<Scope> {
    let bounds = parse_bounds(q.period, q.from.as_deref(), q.to.as_deref())?;
    let span = span_for(
        q.period,
        bounds.map(|b| b.0),
        bounds.map(|b| b.1),
        hub.config.time_zone,
        now_ms(),
    );
    if span.to - span.from > 3 * 366 * 86_400_000 {
        return Err(Error::invalid("to", "the hub's figures cover at most 3 years").into());
    }
    Ok(Scope {
        span,
        period: if bounds.is_some() {
            None
        } else {
            Some(q.period.unwrap_or(PeriodName::Today))
        },
        site: q.site,
    })
}

async fn leaderboard(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<FiguresQuery>,
) -> HubResult<Json<Leaderboard>> {
    reader(&hub, &headers)?;
    let scope = scope(&hub, &q)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(
        board::leaderboard(
            &client,
            scope,
            hub.config.time_zone,
            hub.config.scale,
            hub.config.min_ratings,
        )
        .await?,
    ))
}

async fn site_totals(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<FiguresQuery>,
) -> HubResult<Json<Vec<SiteTotals>>> {
    reader(&hub, &headers)?;
    let scope = scope(&hub, &q)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(
        board::by_site(&client, scope, hub.config.time_zone, hub.config.scale).await?,
    ))
}

async fn desk_totals(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<FiguresQuery>,
) -> HubResult<Json<Vec<DeskTotals>>> {
    reader(&hub, &headers)?;
    let scope = scope(&hub, &q)?;
    let client = hub.pool.get().await.map_err(no_connection)?;
    Ok(Json(
        board::by_desk(&client, scope, hub.config.time_zone, hub.config.scale).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// The hub token, for a browser's EventSource (it cannot send an Authorization header).
    token: Option<String>,
}

/// `ingest` events ({site_id, acked}) as batches land, a screen reloads its figures on them;
/// `site` events (the site as /hub/v1/sites lists it) when one falls silent or is back.
async fn events(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> HubResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    match q.token {
        Some(t) if hub.is_token(&t) => {}
        Some(_) => return Err(Error::Unauthorized("this is not the hub token".into()).into()),
        None => reader(&hub, &headers)?,
    }
    let stream = BroadcastStream::new(hub.events.subscribe()).filter_map(|m| {
        m.ok()
            .map(|(name, data)| Ok(SseEvent::default().event(name).data(data)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
