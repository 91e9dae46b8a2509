//! The screens' files (the `ui/` bundle), built into the binary so one file is the whole product;
//! a site and the network hub serve the same bundle, and the app asks `/healthz` which it is on.

use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../ui/dist"]
#[allow_missing = true]
struct Bundle;

pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = Bundle::get(path) {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        // Vite puts a content hash in every asset name, so those can be cached for good.
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (header::CONTENT_TYPE, mime.as_ref()),
                (header::CACHE_CONTROL, cache),
            ],
            file.data,
        )
            .into_response();
    }
    // A route of the single-page app (`/display`, `/desk/3`): the app decides what to show.
    let looks_like_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    match Bundle::get("index.html") {
        Some(index) if !looks_like_file => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], index.data).into_response()
        }
        Some(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<!doctype html><meta charset=utf-8><title>Otklik</title><p>The screens were not built into this binary. \
                  Build them with <code>npm --prefix ui run build</code> and rebuild Otklik; the API works meanwhile at \
                  <a href=/api/v1/openapi.json>/api/v1/openapi.json</a>.</p>"),
        )
            .into_response(),
    }
}
