//! Delivery ticks on an outbound message.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::MessageStatus;

use crate::i18n::use_i18n;

/// ✓ sent, ✓✓ delivered, blue ✓✓ read, a clock while waiting, a warning when it failed.
#[component]
pub fn Ticks(#[prop(into)] status: Signal<Option<MessageStatus>>) -> impl IntoView {
    let i18n = use_i18n();
    let glyph = move || match status.get() {
        None | Some(MessageStatus::Pending) => "🕓",
        Some(MessageStatus::Accepted) | Some(MessageStatus::Sent) => "✓",
        Some(MessageStatus::Delivered) | Some(MessageStatus::Read) => "✓✓",
        Some(MessageStatus::Failed) => "⚠",
    };
    let name = move || status.get().map_or("pending", |s| s.as_str());
    let label = move || {
        i18n.t(match status.get() {
            None | Some(MessageStatus::Pending) => key!("status.pending"),
            Some(MessageStatus::Accepted) => key!("status.accepted"),
            Some(MessageStatus::Sent) => key!("status.sent"),
            Some(MessageStatus::Delivered) => key!("status.delivered"),
            Some(MessageStatus::Read) => key!("status.read"),
            Some(MessageStatus::Failed) => key!("status.failed"),
        })
    };
    view! {
        <span class="ticks" data-status=name title=label aria-label=label>{glyph}</span>
    }
}
