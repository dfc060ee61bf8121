//! What a message carries besides text, shown in its bubble: a photo to look at, a voice note
//! or video to play, a document to download, a location to open on a map, contact cards.
//! A file still on its way from WhatsApp says so, and one that could not come says why.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::media::{human_size, Attachment, MediaState};

use crate::client;
use crate::i18n::use_i18n;

#[component]
pub fn AttachmentView(message_id: i64, attachment: Signal<Option<Attachment>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let a = attachment.get()?;
        Some(match a {
            Attachment::Media { kind, filename, caption, voice, state, size, error, .. } => {
                let caption = caption.map(|c| view! { <p class="body caption">{c}</p> });
                let shown = match state {
                    MediaState::Pending => view! {
                        <p class="attachment pending" data-media="pending">"⏳ " {move || i18n.t(key!("media.fetching"))}</p>
                    }
                    .into_any(),
                    MediaState::Failed => view! {
                        <p class="attachment failed" data-media="failed">
                            "⚠ " {move || i18n.t(key!("media.failed"))}
                            <span class="muted">{error.map(|e| format!(" {e}"))}</span>
                        </p>
                    }
                    .into_any(),
                    MediaState::Ready => ready(message_id, &kind, filename, voice, size),
                };
                view! { <div class="attachment-box">{shown}{caption}</div> }.into_any()
            }
            Attachment::Location { latitude, longitude, name, address } => {
                let title = name.clone().unwrap_or_else(|| format!("{latitude:.5}, {longitude:.5}"));
                view! {
                    <a class="attachment location" data-media="location" href=Attachment::map_link(latitude, longitude)
                        target="_blank" rel="noopener noreferrer">
                        <span class="attachment-icon">"📍"</span>
                        <span>
                            <strong>{title}</strong>
                            {address.map(|a| view! { <span class="muted block">{a}</span> })}
                            <span class="link block">{move || i18n.t(key!("media.open_map"))}</span>
                        </span>
                    </a>
                }
                .into_any()
            }
            Attachment::Contacts { cards } => view! {
                <ul class="attachment contacts" data-media="contacts">
                    {cards.into_iter().map(|c| view! {
                        <li><span class="attachment-icon">"👤"</span> <strong>{c.name}</strong>
                            " " <span class="muted">{c.phones.join(" · ")}</span></li>
                    }).collect_view()}
                </ul>
            }
            .into_any(),
        })
    }
}

/// A photo that finished loading grew the timeline: if the reader was at the newest message,
/// they stay there (someone reading further up is left where they are).
fn keep_newest_in_view(ev: leptos::ev::Event) {
    use wasm_bindgen::JsCast;
    let Some(img) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else { return };
    let Some(list) = img.closest(".messages").ok().flatten() else { return };
    let below = list.scroll_height() - list.scroll_top() - list.client_height();
    if below <= img.offset_height() + 120 {
        list.set_scroll_top(list.scroll_height());
    }
}

/// A file that is here: shown, played or offered for download by its kind.
fn ready(message_id: i64, kind: &str, filename: Option<String>, voice: bool, size: Option<i64>) -> AnyView {
    let i18n = use_i18n();
    let url = client::media_url(message_id, false);
    let size = size.map(human_size).unwrap_or_default();
    match kind {
        "image" | "sticker" => {
            let full = url.clone();
            view! {
                <a class="attachment image" data-media="image" href=full target="_blank" rel="noopener">
                    <img src=url alt=move || i18n.t(key!("media.photo")) loading="lazy" class:sticker=kind == "sticker" on:load=keep_newest_in_view />
                </a>
            }
            .into_any()
        }
        "audio" => view! {
            <div class="attachment audio" data-media="audio">
                <span class="muted small">{move || if voice { i18n.t(key!("media.voice")) } else { i18n.t(key!("media.audio")) }}</span>
                <audio controls preload="none" src=url></audio>
            </div>
        }
        .into_any(),
        "video" => view! {
            <div class="attachment video" data-media="video"><video controls preload="metadata" src=url></video></div>
        }
        .into_any(),
        _ => {
            let name = filename.unwrap_or_else(|| i18n.t(key!("media.document")));
            let save_as = name.clone();
            view! {
                <a class="attachment document" data-media="document" href=client::media_url(message_id, true) download=save_as>
                    <span class="attachment-icon">"📄"</span>
                    <span><strong class="filename">{name}</strong>
                        <span class="muted block">{size} " · " {move || i18n.t(key!("media.download"))}</span></span>
                </a>
            }
            .into_any()
        }
    }
}
