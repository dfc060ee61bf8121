//! Fetches customers' files from WhatsApp after their webhook: `GET /{media-id}` for a download
//! address (valid five minutes), then the file with the number's token. A passing fault (no
//! connection, a 5xx, a throttle, an expired address) is tried again with growing pauses; a
//! file WhatsApp no longer has (media ids last 7 days) or one over the size cap fails at once
//! with its reason. Either way the conversation hears of it live.

use std::time::Duration;

use switchboard_shared::api::EventKind;
use switchboard_shared::media::{human_size, Attachment, MediaState};

use super::store::{self, MediaRow};
use crate::clock::now_ms;
use crate::cloud::CloudError;
use crate::error::Result;
use crate::AppState;

/// Files fetched at once.
const AT_ONCE: i64 = 4;
/// How long a claimed file is this relay's before another may try it.
const CLAIM_MS: i64 = 120_000;
/// Pauses before the next try, by tries so far; after the last, the file has failed.
const RETRY_AFTER_MS: &[i64] = &[2_000, 10_000, 60_000, 300_000, 1_800_000, 7_200_000];
/// With nothing waiting, look again this often anyway (a crash's leftovers, other relays').
const IDLE_LOOK: Duration = Duration::from_secs(30);

/// Fetches due files forever, woken by the inbound processor when a message brings one.
pub async fn run(state: AppState) {
    loop {
        match fetch_due(&state).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {
                let wait = match next_due(&state).await {
                    Some(at) => Duration::from_millis((at - now_ms()).clamp(0, IDLE_LOOK.as_millis() as i64) as u64),
                    None => IDLE_LOOK,
                };
                tokio::select! {
                    _ = state.media_bell.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Err(e) => {
                tracing::error!("fetching media failed, retrying: {e}");
                tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
            }
        }
    }
}

async fn next_due(state: &AppState) -> Option<i64> {
    let mut conn = state.db.pool.acquire().await.ok()?;
    store::next_due(&mut conn).await.ok().flatten()
}

/// Claims the files due now and fetches them side by side; returns how many were tried.
pub async fn fetch_due(state: &AppState) -> Result<usize> {
    let now = now_ms();
    let mut conn = state.db.pool.acquire().await?;
    let mut mine = Vec::new();
    for row in store::due(&mut conn, now, AT_ONCE).await? {
        if store::claim(&mut conn, &row, now + CLAIM_MS).await? {
            mine.push(row);
        }
    }
    drop(conn);
    let tried = mine.len();
    let outcomes = futures::future::join_all(mine.into_iter().map(|row| async move {
        let outcome = fetch_one(state, &row).await;
        (row, outcome)
    }))
    .await;
    for (row, outcome) in outcomes {
        settle(state, &row, outcome).await?;
    }
    Ok(tried)
}

/// How one try ended.
enum Outcome {
    Here {
        sha: String,
        size: i64,
        mime_type: Option<String>,
    },
    /// Worth another try later.
    Later(String),
    /// Will not come.
    Never(String),
}

async fn fetch_one(state: &AppState, row: &MediaRow) -> Outcome {
    let Some(meta_id) = row.meta_id.as_deref() else { return Outcome::Never("WhatsApp sent no media id for this file.".into()) };
    let token = match crate::numbers::cloud_access(state, &row.number_id).await {
        Ok(Some((token, _))) => token,
        Ok(None) => return Outcome::Never("The number is no longer connected here.".into()),
        Err(e) => return Outcome::Later(e.to_string()),
    };
    let cap = state.config.media_max_bytes;
    let too_big = |size: u64| {
        Outcome::Never(format!(
            "The file is {}; this relay keeps files up to {} (SWITCHBOARD_MEDIA_MAX_MB).",
            human_size(size as i64),
            human_size(cap as i64)
        ))
    };
    let info = match state.cloud.media_info(meta_id, &row.number_id, &token).await {
        Ok(info) => info,
        Err(e) => return classify(e),
    };
    if let Some(size) = info.file_size.filter(|s| *s as u64 > cap) {
        return too_big(size as u64);
    }
    let bytes = match state.cloud.download(&info.url, &token, cap).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return too_big(info.file_size.map_or(cap + 1, |s| s as u64)),
        // The address lasts five minutes: a 404 asks for a fresh one on the next try.
        Err(e) => return classify(e),
    };
    let size = bytes.len() as i64;
    match super::keep(&state.config.data_dir, bytes.into()).await {
        Ok(sha) => {
            if let Some(theirs) = info.sha256.as_deref().filter(|t| !same_hash(t, &sha)) {
                // Meta's hash format is not documented: noted, not refused.
                tracing::debug!("media {meta_id}: WhatsApp's sha256 {theirs} is not the file's {sha}");
            }
            Outcome::Here { sha, size, mime_type: info.mime_type }
        }
        Err(e) => Outcome::Later(format!("could not keep the file: {e}")),
    }
}

/// Whether WhatsApp's `sha256` (hex or base64) names the file.
fn same_hash(theirs: &str, ours_hex: &str) -> bool {
    use base64::Engine;
    if theirs.eq_ignore_ascii_case(ours_hex) {
        return true;
    }
    let ours = hex::decode(ours_hex).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.decode(theirs).is_ok_and(|b| b == ours)
}

/// A Graph error on a file: gone (Meta's "object does not exist", a media download error)
/// is final; throttles, server errors, lost connections and a token an admin must renew are
/// passing.
fn classify(e: CloudError) -> Outcome {
    use switchboard_shared::limits::{classify_error, ErrorClass};
    match &e {
        CloudError::Graph { status, error } => {
            let code = error.error.code.unwrap_or_default();
            let passing = *status >= 500 || *status == 429 || *status == 404 || classify_error(code) != ErrorClass::Permanent;
            if passing {
                Outcome::Later(e.to_string())
            } else {
                Outcome::Never(format!("WhatsApp no longer has this file ({e}); files can be fetched for 7 days."))
            }
        }
        CloudError::Decode { status, .. } if *status == 404 || *status >= 500 => Outcome::Later(e.to_string()),
        CloudError::Decode { .. } => Outcome::Never(e.to_string()),
        CloudError::Connect(_) | CloudError::NoAnswer(_) => Outcome::Later(e.to_string()),
    }
}

/// Records how the try ended; the conversation hears of a file that arrived or failed.
async fn settle(state: &AppState, row: &MediaRow, outcome: Outcome) -> Result<()> {
    let mut tx = state.db.pool.begin().await?;
    let attachment = crate::conversations::attachment_of(&mut tx, row.message_id).await?;
    let changed = match outcome {
        Outcome::Here { sha, size, mime_type } => {
            store::ready(&mut tx, row.id, &sha, size, mime_type.as_deref()).await?;
            attachment.map(|a| match a {
                Attachment::Media { kind, filename, caption, voice, mime_type: before, .. } => Attachment::Media {
                    kind,
                    mime_type: mime_type.or(before),
                    filename,
                    caption,
                    voice,
                    state: MediaState::Ready,
                    size: Some(size),
                    error: None,
                },
                other => other,
            })
        }
        Outcome::Later(reason) => {
            let tries = row.attempts as usize + 1;
            match RETRY_AFTER_MS.get(tries - 1) {
                Some(pause) => {
                    tracing::info!("media for message {} not fetched yet (try {tries}): {reason}", row.message_id);
                    store::not_yet(&mut tx, row.id, &reason, Some(now_ms() + pause)).await?;
                    None
                }
                None => {
                    let reason = format!("Could not be fetched after {tries} tries: {reason}");
                    store::not_yet(&mut tx, row.id, &reason, None).await?;
                    super::failed(attachment, &reason)
                }
            }
        }
        Outcome::Never(reason) => {
            tracing::warn!("media for message {} failed: {reason}", row.message_id);
            store::not_yet(&mut tx, row.id, &reason, None).await?;
            super::failed(attachment, &reason)
        }
    };
    let mut events = Vec::new();
    if let Some(attachment) = changed {
        crate::conversations::set_attachment(&mut tx, row.message_id, &attachment).await?;
        let assigned_to = crate::conversations::load_conversation(&mut tx, row.conversation_id).await?.and_then(|c| c.assigned_to);
        let kind = EventKind::Attachment { conversation_id: row.conversation_id, message_id: row.message_id, attachment };
        events.push(crate::events::append(&mut tx, &row.number_id, assigned_to, kind).await?);
    }
    tx.commit().await?;
    state.events.publish(events);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapps_hash_is_recognised_in_hex_or_base64() {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"photo"));
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(hex::decode(&sha).unwrap())
        };
        assert!(same_hash(&sha, &sha));
        assert!(same_hash(&sha.to_uppercase(), &sha));
        assert!(same_hash(&b64, &sha));
        assert!(!same_hash("abc", &sha));
    }
}
