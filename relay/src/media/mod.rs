//! Files in conversations. A customer's photo, voice note or PDF arrives as a media id in the
//! webhook; the fetcher (`fetch`) asks the Graph API where it is, downloads it with the number's
//! token and keeps it under the data directory, named by its SHA-256 (the same file twice is
//! kept once). An agent's file (`http`) is checked against WhatsApp's rules, kept the same
//! way, uploaded to the number's media endpoint and sent by the id Meta gives. Files are served
//! only to users whose scope covers the conversation. `store` holds the `media` table.

mod fetch;
mod http;
mod store;

use std::path::{Path, PathBuf};

use sha2::Digest;
use sqlx::AnyConnection;
use switchboard_shared::api::Message;
use switchboard_shared::media::{Attachment, MediaState};

pub use fetch::run;
pub use http::{send_file, serve, SendFileQuery, ServeQuery};

use crate::error::{AppError, Result};

/// Where a file is kept: `data/media/ab/abcdef…` (the first two hex digits spread the files
/// over 256 folders).
fn path_of(data_dir: &Path, sha: &str) -> PathBuf {
    data_dir.join("media").join(&sha[..2]).join(sha)
}

/// Keeps a file under its SHA-256 (written to a temporary name, then renamed: a reader never
/// sees half a file); returns the hash. A file already kept is not written again.
async fn keep(data_dir: &Path, bytes: bytes::Bytes) -> Result<String> {
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let path = path_of(data_dir, &sha);
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(path.parent().expect("a kept file has a folder"))?;
        let tmp = path.with_extension(format!("part-{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(sha)
}

/// A customer's message carries a file: remember to fetch it (in the transaction that stores
/// the message; the fetcher is rung after the commit). Returns whether there is one to fetch.
pub async fn expect(conn: &mut AnyConnection, number_id: &str, message: &Message, media_id: Option<&str>, now: i64) -> Result<bool> {
    let Some(Attachment::Media { kind, mime_type, filename, .. }) = &message.attachment else { return Ok(false) };
    let Some(media_id) = media_id.filter(|id| !id.is_empty()) else {
        // Nothing to fetch it by: the message says so at once.
        let failed = failed(message.attachment.clone(), "WhatsApp sent no media id for this file.");
        if let Some(a) = failed {
            crate::conversations::set_attachment(conn, message.id, &a).await?;
        }
        return Ok(false);
    };
    store::add(
        conn,
        &store::NewMedia {
            message_id: message.id,
            conversation_id: message.conversation_id,
            number_id,
            direction: "inbound",
            meta_id: Some(media_id),
            kind,
            mime_type: mime_type.as_deref(),
            filename: filename.as_deref(),
            sha256: None,
            size: None,
            state: MediaState::Pending,
            now,
        },
    )
    .await?;
    Ok(true)
}

/// The attachment marked as failed with a reason.
fn failed(attachment: Option<Attachment>, reason: &str) -> Option<Attachment> {
    match attachment? {
        Attachment::Media { kind, mime_type, filename, caption, voice, size, .. } => Some(Attachment::Media {
            kind,
            mime_type,
            filename,
            caption,
            voice,
            state: MediaState::Failed,
            size,
            error: Some(reason.to_owned()),
        }),
        other => Some(other),
    }
}

/// A message was deleted: its file row goes; returns the file to remove after the commit when
/// no other message shows the same file.
pub async fn forget(conn: &mut AnyConnection, data_dir: &Path, message_id: i64) -> Result<Option<PathBuf>> {
    let Some(sha) = store::remove(conn, message_id).await? else { return Ok(None) };
    Ok((!store::still_used(conn, &sha).await?).then(|| path_of(data_dir, &sha)))
}
