//! Media as Meta serves it (`reference/cloud-api.md` §6.4): uploads to `POST /{number}/media`
//! (Meta's types and sizes enforced, 131053 otherwise), `GET /{media-id}` for a download
//! address, and the download itself, which needs the bearer token. Customers' photos, voice
//! notes and documents are kept here too, under the ids their webhooks carry.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;
use switchboard_shared::limits::codes;
use switchboard_shared::media::{check_outbound, essence};

use crate::graph::{check_token, check_version, graph_error, TokenQuery};
use crate::State;

/// A customer's photo of their parcel (JPEG, 480×360).
pub const PARCEL_JPG: &[u8] = include_bytes!("../assets/parcel.jpg");
/// A small PNG.
pub const DOT_PNG: &[u8] = include_bytes!("../assets/dot.png");
/// The shop's price list (PDF, one page).
pub const PRICE_LIST_PDF: &[u8] = include_bytes!("../assets/price-list.pdf");
/// A two-second voice note (MP3).
pub const VOICE_MP3: &[u8] = include_bytes!("../assets/voice.mp3");

/// Meta's error for a file it will not take (`business-phone-numbers/media`).
const MEDIA_UPLOAD_ERROR: i64 = 131053;

/// One file the sandbox holds.
#[derive(Debug, Clone)]
pub struct StoredMedia {
    pub phone_number_id: String,
    pub mime_type: String,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

impl StoredMedia {
    pub(crate) fn sha256(&self) -> String {
        use base64::Engine;
        // Meta's samples show the hash as base64 of the digest.
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&self.bytes))
    }
}

/// Files by media id.
#[derive(Default)]
pub(crate) struct Library {
    pub files: HashMap<String, StoredMedia>,
    /// The next this many downloads fail with a 500 (a passing fault to retry).
    pub failing_downloads: u32,
}

impl Library {
    /// Keeps a file; returns its media id.
    pub fn add(&mut self, id: String, file: StoredMedia) -> String {
        self.files.insert(id.clone(), file);
        id
    }
}

/// `GET /{media-id}`: the download address (for this sandbox's host), type, hash and size.
pub(crate) fn info(state: &State, id: &str, headers: &HeaderMap) -> Option<Response> {
    let library = state.media.lock().expect("media lock");
    let file = library.files.get(id)?;
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    Some(
        Json(json!({
            "messaging_product": "whatsapp",
            "url": format!("http://{host}/whatsapp_business/attachments/?mid={id}&ext={}", crate::now_ms()),
            "mime_type": file.mime_type,
            "sha256": file.sha256(),
            "file_size": file.bytes.len().to_string(),
            "id": id,
        }))
        .into_response(),
    )
}

#[derive(Deserialize)]
pub(crate) struct DownloadQuery {
    mid: String,
    #[serde(flatten)]
    token: TokenQuery,
}

/// `GET /whatsapp_business/attachments/?mid=`: the file, with the bearer token (404 without
/// the file, as Meta answers for an expired address).
pub(crate) async fn download(
    AxState(state): AxState<std::sync::Arc<State>>,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_token(&state, &headers, &q.token) {
        return r;
    }
    let mut library = state.media.lock().expect("media lock");
    if library.failing_downloads > 0 {
        library.failing_downloads -= 1;
        return graph_error(StatusCode::INTERNAL_SERVER_ERROR, codes::UNKNOWN_ERROR, "Something went wrong", "Download failed, try again.");
    }
    match library.files.get(&q.mid) {
        Some(file) => ([(axum::http::header::CONTENT_TYPE, file.mime_type.clone())], file.bytes.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// `POST /{phone-number-id}/media`: `messaging_product=whatsapp`, `file` (with its type) and
/// optionally `type`; Meta's types and sizes, else 131053.
pub(crate) async fn upload(
    AxState(state): AxState<std::sync::Arc<State>>,
    Path((version, pn)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    request: axum::extract::Request,
) -> Response {
    use axum::extract::FromRequest;
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, request.headers(), &q)) {
        return r;
    }
    if !state.numbers.contains_key(&pn) {
        return crate::graph::unknown_object(&pn);
    }
    let bad = |details: &str| graph_error(StatusCode::BAD_REQUEST, MEDIA_UPLOAD_ERROR, "Media upload error", details);
    let Ok(mut form) = axum::extract::Multipart::from_request(request, &()).await else {
        return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The form cannot be read.");
    };
    let (mut file, mut product, mut declared) = (None, None, None);
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let mime = field.content_type().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else { return bad("The file cannot be read.") };
        match name.as_str() {
            "file" => file = Some((filename, mime, bytes.to_vec())),
            "messaging_product" => product = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "type" => declared = Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::REQUIRED_PARAMETER_MISSING,
            "Required parameter is missing",
            "messaging_product must be whatsapp.",
        );
    }
    let Some((filename, mime, bytes)) = file else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::REQUIRED_PARAMETER_MISSING,
            "Required parameter is missing",
            "file is required.",
        );
    };
    let mime = essence(declared.as_deref().or(mime.as_deref()).unwrap_or_default());
    if let Err(problem) = check_outbound(&mime, bytes.len() as u64) {
        return bad(&problem.to_string());
    }
    let id = format!("{}", 1_037_000_000_000_000u64 + state.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    state.media.lock().expect("media lock").add(id.clone(), StoredMedia { phone_number_id: pn, mime_type: mime, filename, bytes });
    Json(json!({"id": id})).into_response()
}

/// Whether a send's media id names a file uploaded to this number.
pub(crate) fn known_to(state: &State, id: &str, phone_number_id: &str) -> bool {
    state.media.lock().expect("media lock").files.get(id).is_some_and(|f| f.phone_number_id == phone_number_id)
}
