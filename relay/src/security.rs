//! CSRF defence, security headers and CORS for a console hosted elsewhere.

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use switchboard_shared::api::{CSRF_HEADER, CSRF_VALUE};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::error_response;

/// State-changing API requests must carry `X-Requested-With: switchboard`. A browser only sends
/// a custom header cross-site after a CORS preflight, which only listed origins pass.
pub async fn csrf(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && request.uri().path().starts_with("/api/") {
        let ok = request.headers().get(CSRF_HEADER).is_some_and(|v| v.as_bytes() == CSRF_VALUE.as_bytes());
        if !ok {
            return error_response(
                StatusCode::FORBIDDEN,
                "csrf",
                "State-changing requests must carry the header X-Requested-With: switchboard.",
            );
        }
    }
    next.run(request).await
}

/// Content-Security-Policy: only our own scripts and WebAssembly, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: https:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; frame-ancestors 'none'; form-action 'self'; manifest-src 'self'; worker-src 'self'";

pub async fn headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // A handler that serves a file names a stricter policy of its own.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if path == "/sw.js" || path == "/" || path.ends_with(".html") {
        // The service worker and the shell must be revalidated so updates are seen.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    // API answers are not kept, unless the handler says how (a message's file never changes).
    if path.starts_with("/api/") && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// CORS for the configured console origins only; none configured means same-origin only.
pub fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static(CSRF_HEADER),
            header::HeaderName::from_static("last-event-id"),
        ])
}
