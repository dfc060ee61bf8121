//! Serving kept files to the people who may see them, and an agent's file out to a customer.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use switchboard_shared::api::Message;
use switchboard_shared::media::{check_outbound, essence, outbound_rule, Attachment, MediaProblem, MediaState};
use switchboard_shared::wire::OutboundBody;

use super::store;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Types a browser may show in the page; anything else is only ever downloaded.
const SHOWN_INLINE: &[&str] =
    &["image/jpeg", "image/png", "image/webp", "audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "video/mp4", "video/3gpp"];

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ServeQuery {
    /// Any value: save instead of showing.
    #[serde(default)]
    pub download: Option<String>,
}

/// `GET /api/v1/media/{message id}`: a message's file, to users whose scope covers its
/// conversation (403 for others).
pub async fn serve(
    State(state): State<AppState>,
    user: AuthUser,
    Path(message_id): Path<i64>,
    Query(q): Query<ServeQuery>,
) -> Result<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let row = store::by_message(&mut conn, message_id).await?.ok_or(AppError::NotFound)?;
    let conversation = crate::conversations::load_conversation(&mut conn, row.conversation_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if !user.may_see_conversation(&conversation.number_id, conversation.assigned_to) {
        return Err(AppError::Forbidden("This file belongs to a conversation outside your numbers or your assignments.".into()));
    }
    let Some(sha) =
        row.sha256.filter(|s| row.state == MediaState::Ready.as_str() && s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return Err(AppError::Refused(
            axum::http::StatusCode::CONFLICT,
            "media_not_ready",
            "The file is not here yet (or could not be fetched from WhatsApp).".into(),
        ));
    };
    let file = tokio::fs::File::open(super::path_of(&state.config.data_dir, &sha)).await.map_err(|_| AppError::NotFound)?;
    let mime = row.mime_type.as_deref().map(essence).unwrap_or_default();
    let inline = q.download.is_none() && SHOWN_INLINE.contains(&mime.as_str());
    let content_type = if inline || row.kind == "document" { mime.clone() } else { "application/octet-stream".into() };
    let name = row.filename.clone().unwrap_or_else(|| format!("{}-{message_id}{}", row.kind, extension(&mime)));
    let mut response = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    headers.insert(header::CONTENT_DISPOSITION, disposition(if inline { "inline" } else { "attachment" }, &name));
    // A message's file never changes.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}

/// `Content-Disposition` with the file's name: ASCII for old readers, UTF-8 (RFC 5987) for
/// names in Chinese.
fn disposition(how: &str, name: &str) -> HeaderValue {
    let ascii: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b".-_".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    HeaderValue::from_str(&format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/webp" => ".webp",
        "audio/ogg" => ".ogg",
        "audio/mpeg" => ".mp3",
        "audio/mp4" | "audio/aac" => ".m4a",
        "audio/amr" => ".amr",
        "video/mp4" => ".mp4",
        "video/3gpp" => ".3gp",
        "application/pdf" => ".pdf",
        _ => "",
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SendFileQuery {
    /// The file's name as the customer sees it (documents).
    #[serde(default)]
    pub filename: Option<String>,
    /// Text shown under an image, a video or a document (at most 1,024 characters).
    #[serde(default)]
    pub caption: Option<String>,
}

/// Longest caption WhatsApp takes (`messages/image-messages`).
const MAX_CAPTION_CHARS: usize = 1024;
/// A refused upload up to this size is read to its end before the refusal is sent.
const DRAIN_AT_MOST: u64 = 64 * 1024 * 1024;

/// Longest file name kept.
const MAX_FILENAME_CHARS: usize = 240;

/// `POST /api/v1/conversations/{id}/media?filename=&caption=`: the body is the file, its
/// `Content-Type` the file's type. Checked against WhatsApp's types and sizes (and that the
/// contents are what the type says) before anything leaves; kept here so the conversation
/// shows it; uploaded to the number's media endpoint, and sent by the id WhatsApp gives.
pub async fn send_file(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<SendFileQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Message>> {
    let bad = |p: MediaProblem| AppError::bad_request(p.code(), p.to_string());
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(essence).unwrap_or_default();
    // The type first: nothing is read of a file WhatsApp would not take.
    check_outbound(&mime, 1).map_err(bad)?;
    let cap = state.config.media_max_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared {
        if let Err(problem) = check_outbound(&mime, size) {
            // Read what the browser is still sending (up to a bound) before answering: a reply
            // sent mid-upload closes the connection under the sender, who then sees a broken
            // connection instead of this clear refusal.
            if size <= DRAIN_AT_MOST {
                let _ = axum::body::to_bytes(body, DRAIN_AT_MOST as usize).await;
            }
            return Err(bad(problem));
        }
    }
    let limit = outbound_rule(&mime).map_or(0, |(_, max)| max).min(cap) as usize;
    let bytes = axum::body::to_bytes(body, limit + 1).await.map_err(|_| {
        AppError::bad_request(
            "media_too_large",
            format!(
                "The file is larger than {} (WhatsApp's limit for this type, or this relay's).",
                switchboard_shared::media::human_size(limit as i64)
            ),
        )
    })?;
    let kind = check_outbound(&mime, bytes.len() as u64).map_err(bad)?;
    if bytes.len() > limit {
        return Err(AppError::bad_request("media_too_large", "The file is larger than this relay keeps (SWITCHBOARD_MEDIA_MAX_MB)."));
    }
    check_contents(&mime, &bytes).map_err(bad)?;
    let caption = q.caption.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if caption.as_ref().is_some_and(|c| c.chars().count() > MAX_CAPTION_CHARS) {
        return Err(AppError::bad_request("invalid_caption", "A caption is at most 1,024 characters."));
    }
    let filename = q.filename.as_deref().map(clean_filename).filter(|f| !f.is_empty());
    let filename = filename.or_else(|| (kind == "document").then(|| format!("document{}", extension(&mime))));

    // May this user send here now? Asked before the file leaves for WhatsApp.
    let conversation_number = {
        let mut conn = state.db.pool.acquire().await?;
        crate::conversations::sendable(&mut conn, &user, id).await?.number_id
    };
    let size = bytes.len() as i64;
    // The body's bytes are shared, not copied, by the file kept and the upload.
    let sha = super::keep(&state.config.data_dir, bytes.clone()).await?;
    let (token, usable) = crate::numbers::cloud_access(&state, &conversation_number).await?.ok_or_else(|| {
        AppError::Refused(
            axum::http::StatusCode::CONFLICT,
            "number_not_connected",
            "This number is not connected to the Cloud API here.".into(),
        )
    })?;
    if !usable {
        return Err(AppError::Refused(
            axum::http::StatusCode::CONFLICT,
            "number_disabled",
            "This number is disabled or paused; its messages are not sent now.".into(),
        ));
    }
    let upload_name = filename.clone().unwrap_or_else(|| format!("{kind}{}", extension(&mime)));
    let uploaded = state.cloud.upload_media(&conversation_number, &token, &upload_name, &mime, bytes).await.map_err(|e| {
        tracing::warn!("uploading a file for conversation {id}: {e}");
        AppError::Refused(
            axum::http::StatusCode::BAD_GATEWAY,
            "media_upload_failed",
            format!("WhatsApp did not take the file: {e}. Nothing was sent."),
        )
    })?;
    let body = OutboundBody::media(kind, &uploaded.id, caption.clone(), filename.clone()).expect("checked kinds go out as media");
    let attachment = Attachment::Media {
        kind: kind.to_owned(),
        mime_type: Some(mime.clone()),
        filename: filename.clone(),
        caption: caption.clone(),
        voice: false,
        state: MediaState::Ready,
        size: Some(size),
        error: None,
    };
    let outgoing = crate::conversations::Outgoing { preview: body.summary(), body, attachment: Some(attachment) };
    let mut tx = state.db.pool.begin().await?;
    let (message, event) = crate::conversations::queue_from_agent(&mut tx, &user, id, outgoing).await?;
    store::add(
        &mut tx,
        &store::NewMedia {
            message_id: message.id,
            conversation_id: id,
            number_id: &conversation_number,
            direction: "outbound",
            meta_id: Some(&uploaded.id),
            kind,
            mime_type: Some(&mime),
            filename: filename.as_deref(),
            sha256: Some(&sha),
            size: Some(size),
            state: MediaState::Ready,
            now: now_ms(),
        },
    )
    .await?;
    tx.commit().await?;
    crate::conversations::sent(&state, event);
    Ok(Json(message))
}

/// The contents must be what the type says: a PDF that is a PDF, a PNG that is a PNG (WhatsApp
/// refuses a mismatch with 131053 after the upload; we say so before).
fn check_contents(mime: &str, bytes: &[u8]) -> Result<(), MediaProblem> {
    let declared = check_outbound(mime, 1)?;
    let sniffed = infer::get(bytes).map(|t| t.mime_type());
    let same = match sniffed {
        Some(found) => check_outbound(found, 1).is_ok_and(|kind| kind == declared) && same_family(mime, found),
        // Plain text has no signature: it must read as text.
        None => mime == "text/plain" && std::str::from_utf8(bytes).is_ok(),
    };
    if same {
        Ok(())
    } else {
        Err(MediaProblem::Mismatch(mime.to_owned()))
    }
}

/// Images must match exactly (a PNG said to be a JPEG is refused); documents, audio and video
/// only by kind (office files share containers, audio files share codecs).
fn same_family(declared: &str, found: &str) -> bool {
    !declared.starts_with("image/") || declared == found
}

/// A file name without folders or control characters, at most 240 characters.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars().filter(|c| !c.is_control() && *c != '"').take(MAX_FILENAME_CHARS).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn contents_must_match_the_declared_type() {
        assert_eq!(check_contents("image/png", PNG), Ok(()));
        assert_eq!(check_contents("application/pdf", PDF), Ok(()));
        assert_eq!(check_contents("text/plain", "營業時間 9:00–18:00".as_bytes()), Ok(()));
        assert_eq!(check_contents("image/jpeg", PNG), Err(MediaProblem::Mismatch("image/jpeg".into())));
        assert_eq!(check_contents("application/pdf", PNG), Err(MediaProblem::Mismatch("application/pdf".into())));
        assert_eq!(check_contents("image/png", b"<html><script>"), Err(MediaProblem::Mismatch("image/png".into())));
        assert_eq!(check_contents("text/plain", b"\xff\xfe\x00bad"), Err(MediaProblem::Mismatch("text/plain".into())));
        assert!(matches!(check_contents("text/html", b"<html>"), Err(MediaProblem::UnsupportedType(_))));
    }

    #[test]
    fn limits_and_names_are_whatsapps() {
        assert_eq!(clean_filename("C:\\Users\\me\\價目表.pdf"), "價目表.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\"b\nc.pdf"), "abc.pdf");
        let d = disposition("attachment", "價目表 2026.pdf");
        assert_eq!(d.to_str().unwrap(), "attachment; filename=\"___ 2026.pdf\"; filename*=UTF-8''%E5%83%B9%E7%9B%AE%E8%A1%A8%202026.pdf");
    }
}
