//! Media in conversations: what a message carries besides its text, and WhatsApp's rules for
//! the files a business sends (`reference/cloud-api.md` §2.3 and §6.4).

use serde::{Deserialize, Serialize};

/// What a message carries besides its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", try_from = "AttachmentFields")]
pub enum Attachment {
    /// A file: image, video, audio (a voice note when `voice`), document or sticker. The
    /// relay serves it at `/api/v1/media/{message id}` once `state` is ready.
    Media {
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        voice: bool,
        state: MediaState,
        /// Bytes, once known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<i64>,
        /// Why the file could not be fetched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// Contact cards the customer shared.
    Contacts { cards: Vec<ContactCard> },
}

/// An attachment as it is read: one flat object whatever its `type`. Read as an internally
/// tagged enum, each attachment would first be buffered into serde's generic tree to find its
/// `type`, and every field type compiled a second time to read from that tree: ~13 KB of the
/// console's first download, which reads attachments from the event stream.
#[derive(Deserialize)]
struct AttachmentFields {
    #[serde(rename = "type")]
    variant: String,
    kind: Option<String>,
    mime_type: Option<String>,
    filename: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    voice: bool,
    state: Option<MediaState>,
    size: Option<i64>,
    error: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    name: Option<String>,
    address: Option<String>,
    cards: Option<Vec<ContactCard>>,
}

impl TryFrom<AttachmentFields> for Attachment {
    type Error = String;

    fn try_from(f: AttachmentFields) -> Result<Attachment, String> {
        fn required<T>(value: Option<T>, field: &str) -> Result<T, String> {
            value.ok_or_else(|| format!("missing field `{field}`"))
        }
        Ok(match f.variant.as_str() {
            "media" => Attachment::Media {
                kind: required(f.kind, "kind")?,
                mime_type: f.mime_type,
                filename: f.filename,
                caption: f.caption,
                voice: f.voice,
                state: required(f.state, "state")?,
                size: f.size,
                error: f.error,
            },
            "location" => Attachment::Location {
                latitude: required(f.latitude, "latitude")?,
                longitude: required(f.longitude, "longitude")?,
                name: f.name,
                address: f.address,
            },
            "contacts" => Attachment::Contacts { cards: required(f.cards, "cards")? },
            other => return Err(format!("unknown attachment type `{other}`, expected `media`, `location` or `contacts`")),
        })
    }
}

impl Attachment {
    /// Whether this is a file the relay keeps (and serves).
    pub fn is_file(&self) -> bool {
        matches!(self, Attachment::Media { .. })
    }

    /// A link that opens a location on a map (OpenStreetMap: no account, no key).
    pub fn map_link(latitude: f64, longitude: f64) -> String {
        format!("https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=17/{latitude:.6}/{longitude:.6}")
    }
}

/// One shared contact card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactCard {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
}

/// Where a file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Inbound: being fetched from WhatsApp.
    Pending,
    /// Here, and served to users whose scope covers the conversation.
    Ready,
    /// Could not be fetched (the reason is in `error`).
    Failed,
}

impl MediaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Pending => "pending",
            MediaState::Ready => "ready",
            MediaState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(MediaState::Pending),
            "ready" => Some(MediaState::Ready),
            "failed" => Some(MediaState::Failed),
            _ => None,
        }
    }
}

const MB: u64 = 1024 * 1024;

/// The file types a business may send, by MIME type, with WhatsApp's size limit for each
/// (`business-phone-numbers/media`): the kind of message it goes out as and the most bytes.
const OUTBOUND: &[(&str, &str, u64)] = &[
    ("image/jpeg", "image", 5 * MB),
    ("image/png", "image", 5 * MB),
    ("application/pdf", "document", 100 * MB),
    ("text/plain", "document", 100 * MB),
    ("application/msword", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document", 100 * MB),
    ("application/vnd.ms-excel", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", 100 * MB),
    ("application/vnd.ms-powerpoint", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "document", 100 * MB),
    ("video/mp4", "video", 16 * MB),
    ("video/3gpp", "video", 16 * MB),
    ("audio/aac", "audio", 16 * MB),
    ("audio/amr", "audio", 16 * MB),
    ("audio/mpeg", "audio", 16 * MB),
    ("audio/mp4", "audio", 16 * MB),
    ("audio/ogg", "audio", 16 * MB),
];

/// What the composer's file picker offers (the `accept` attribute).
pub fn accepted_types() -> String {
    OUTBOUND.iter().map(|(mime, _, _)| *mime).collect::<Vec<_>>().join(",")
}

/// Why a file cannot be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MediaProblem {
    #[error("The file is empty.")]
    Empty,
    #[error("WhatsApp does not accept {0} files. Send a JPEG or PNG image, a PDF, Word, Excel, PowerPoint or text document, an MP4 video or an audio file.")]
    UnsupportedType(String),
    #[error("This {kind} is {size_mb:.1} MB; WhatsApp accepts {kind} files up to {max_mb} MB.")]
    TooLarge { kind: &'static str, size_mb: f64, max_mb: u64 },
    #[error("The file's contents are not a {0} file, as its type says.")]
    Mismatch(String),
}

impl MediaProblem {
    /// The API's error code for it.
    pub fn code(&self) -> &'static str {
        match self {
            MediaProblem::Empty | MediaProblem::Mismatch(_) => "invalid_media",
            MediaProblem::UnsupportedType(_) => "unsupported_media_type",
            MediaProblem::TooLarge { .. } => "media_too_large",
        }
    }
}

/// The MIME type without parameters, lower case: `audio/ogg; codecs=opus` → `audio/ogg`.
pub fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// WhatsApp's rule for a type a business may send: the kind of message it goes out as and the
/// most bytes it may have.
pub fn outbound_rule(mime: &str) -> Option<(&'static str, u64)> {
    let mime = essence(mime);
    OUTBOUND.iter().find(|(m, _, _)| *m == mime).map(|&(_, kind, max)| (kind, max))
}

/// Checks a file against WhatsApp's rules by its declared type and size; returns the kind of
/// message it goes out as (`image`, `document`, `video`, `audio`).
pub fn check_outbound(mime: &str, size: u64) -> Result<&'static str, MediaProblem> {
    let Some((kind, max)) = outbound_rule(mime) else {
        let mime = essence(mime);
        return Err(MediaProblem::UnsupportedType(if mime.is_empty() { "unknown".into() } else { mime }));
    };
    if size == 0 {
        return Err(MediaProblem::Empty);
    }
    if size > max {
        return Err(MediaProblem::TooLarge { kind, size_mb: size as f64 / MB as f64, max_mb: max / MB });
    }
    Ok(kind)
}

/// A size for people: 532 B, 14.2 KB, 3.4 MB.
pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < MB as f64 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / MB as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapps_types_and_limits_are_enforced_with_a_reason() {
        assert_eq!(check_outbound("image/png", 10), Ok("image"));
        assert_eq!(outbound_rule("image/png"), Some(("image", 5 * MB)));
        assert_eq!(outbound_rule("video/mp4"), Some(("video", 16 * MB)));
        assert_eq!(outbound_rule("Application/PDF"), Some(("document", 100 * MB)));
        assert_eq!(outbound_rule("image/gif"), None);
        assert_eq!(check_outbound("IMAGE/JPEG", 5 * MB), Ok("image"));
        assert_eq!(check_outbound("application/pdf", 30 * MB), Ok("document"));
        assert_eq!(check_outbound("audio/ogg; codecs=opus", 1), Ok("audio"));
        assert!(matches!(check_outbound("image/png", 5 * MB + 1), Err(MediaProblem::TooLarge { kind: "image", max_mb: 5, .. })));
        assert!(matches!(check_outbound("video/mp4", 17 * MB), Err(MediaProblem::TooLarge { kind: "video", max_mb: 16, .. })));
        assert_eq!(check_outbound("image/gif", 10), Err(MediaProblem::UnsupportedType("image/gif".into())));
        assert_eq!(check_outbound("", 10), Err(MediaProblem::UnsupportedType("unknown".into())));
        assert_eq!(check_outbound("application/pdf", 0), Err(MediaProblem::Empty));
        assert_eq!(check_outbound("image/gif", 10).unwrap_err().code(), "unsupported_media_type");
        let too_big = check_outbound("image/png", 6 * MB).unwrap_err();
        assert_eq!(too_big.to_string(), "This image is 6.0 MB; WhatsApp accepts image files up to 5 MB.");
    }

    #[test]
    fn attachments_round_trip_and_sizes_read_well() {
        let a = Attachment::Media {
            kind: "audio".into(),
            mime_type: Some("audio/ogg".into()),
            filename: None,
            caption: None,
            voice: true,
            state: MediaState::Pending,
            size: None,
            error: None,
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"type":"media","kind":"audio","mime_type":"audio/ogg","voice":true,"state":"pending"}"#);
        assert_eq!(serde_json::from_str::<Attachment>(&json).unwrap(), a);
        assert_eq!(human_size(532), "532 B");
        assert_eq!(human_size(14_540), "14.2 KB");
        assert_eq!(human_size(3_565_158), "3.4 MB");
        assert!(Attachment::map_link(25.033, 121.5654).contains("mlat=25.033000&mlon=121.565400"));
    }

    #[test]
    fn every_kind_of_attachment_reads_back_as_written_and_a_bad_one_is_refused() {
        let kinds = [
            Attachment::Location { latitude: 25.033, longitude: 121.5654, name: Some("台北 101".into()), address: None },
            Attachment::Contacts { cards: vec![ContactCard { name: "Ada".into(), phones: vec!["+85291234567".into()] }] },
            Attachment::Media {
                kind: "document".into(),
                mime_type: Some("application/pdf".into()),
                filename: Some("prices.pdf".into()),
                caption: Some("Price list".into()),
                voice: false,
                state: MediaState::Failed,
                size: Some(14_540),
                error: Some("gone".into()),
            },
        ];
        for a in kinds {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Attachment>(&json).unwrap(), a, "{json}");
        }
        let refused = |json: &str| serde_json::from_str::<Attachment>(json).unwrap_err().to_string();
        assert!(refused(r#"{"type":"hologram"}"#).contains("unknown attachment type `hologram`"));
        assert!(refused(r#"{"type":"media","kind":"image"}"#).contains("missing field `state`"));
        assert!(refused(r#"{"type":"location","latitude":1.5}"#).contains("missing field `longitude`"));
        assert!(refused(r#"{"type":"contacts"}"#).contains("missing field `cards`"));
        assert!(refused(r#"{"kind":"image","state":"ready"}"#).contains("missing field `type`"));
    }
}
