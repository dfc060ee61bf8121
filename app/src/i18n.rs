//! Every word the console shows, in English and Traditional Chinese. The choice is remembered
//! in the browser.

use leptos::prelude::*;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhHant,
}

impl Lang {
    /// BCP 47 tag, for `<html lang>` and date formatting.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHant => "zh-Hant",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag {
            "en" => Some(Lang::En),
            "zh-Hant" => Some(Lang::ZhHant),
            _ => None,
        }
    }
}

/// (key, English, Traditional Chinese).
const STRINGS: &[(&str, &str, &str)] = &[
    ("app.name", "Switchboard", "Switchboard 總機"),
    ("nav.inbox", "Inbox", "收件匣"),
    ("nav.numbers", "Numbers", "號碼"),
    ("nav.sign_out", "Sign out", "登出"),
    ("lang.switch", "中文", "English"),
    ("lang.switch_label", "Switch to Traditional Chinese", "切換至英文"),
    ("login.title", "Sign in", "登入"),
    ("login.email", "Email", "電郵"),
    ("login.password", "Password", "密碼"),
    ("login.submit", "Sign in", "登入"),
    ("login.busy", "Signing in…", "登入中…"),
    ("login.failed", "That email and password do not match.", "電郵或密碼不正確。"),
    ("login.locked", "Too many failed sign-ins for this email. Wait 15 minutes and try again.", "此電郵登入失敗次數過多，請等候 15 分鐘後再試。"),
    ("error.network", "Cannot reach the server. Check your connection and try again.", "無法連線到伺服器，請檢查網絡後再試。"),
    ("error.generic", "Something went wrong. Please try again.", "發生錯誤，請再試一次。"),
    ("conn.live", "Live", "即時"),
    ("conn.connecting", "Connecting…", "連線中…"),
    ("conn.offline", "Reconnecting…", "重新連線中…"),
    ("inbox.title", "Inbox", "收件匣"),
    ("inbox.empty", "No conversations yet. New messages from customers will appear here as they arrive.", "暫時沒有對話。客戶傳來的新訊息會即時顯示在這裡。"),
    ("inbox.loading", "Loading conversations…", "載入對話中…"),
    ("inbox.pick", "Choose a conversation to read and reply.", "請選擇一個對話來閱讀和回覆。"),
    ("inbox.all_numbers", "All numbers", "所有號碼"),
    ("inbox.unread", "unread", "未讀"),
    ("conv.back", "Back", "返回"),
    ("conv.loading", "Loading messages…", "載入訊息中…"),
    ("conv.reply_placeholder", "Type a reply…", "輸入回覆…"),
    ("conv.send", "Send", "傳送"),
    ("conv.sending", "Sending…", "傳送中…"),
    ("conv.window_closed", "The customer has not written in 24 hours. WhatsApp only allows a template message now.", "客戶已超過 24 小時未有來訊，WhatsApp 現時只容許傳送範本訊息。"),
    ("conv.not_found", "This conversation does not exist or was removed.", "此對話不存在或已被移除。"),
    ("status.pending", "Waiting to send", "等待傳送"),
    ("status.accepted", "Accepted by WhatsApp", "WhatsApp 已接收"),
    ("status.sent", "Sent", "已傳送"),
    ("status.delivered", "Delivered", "已送達"),
    ("status.read", "Read", "已讀"),
    ("status.failed", "Not delivered", "傳送失敗"),
    ("numbers.title", "Business numbers", "商業號碼"),
    ("numbers.empty", "No business numbers are connected yet.", "尚未連接任何商業號碼。"),
    ("numbers.loading", "Loading numbers…", "載入號碼中…"),
    ("numbers.quality", "Quality", "品質評級"),
    ("numbers.limit", "Messaging limit", "訊息上限"),
    ("numbers.per_day", "customers / 24 h", "位客戶 / 24 小時"),
    ("numbers.unlimited", "Unlimited", "無上限"),
    ("numbers.throughput", "Speed", "傳送速度"),
    ("numbers.per_second", "messages / second", "則訊息 / 秒"),
    ("numbers.connected", "Connected", "已連接"),
    ("numbers.disconnected", "Not connected", "未連接"),
    ("numbers.unread", "Unread", "未讀"),
    ("numbers.last_webhook", "Last message from WhatsApp", "最近收到 WhatsApp 訊息"),
    ("numbers.never", "never", "從未"),
    ("quality.GREEN", "High", "高"),
    ("quality.YELLOW", "Medium", "中"),
    ("quality.RED", "Low", "低"),
    ("quality.NA", "Not rated yet", "尚未評級"),
    ("quality.UNKNOWN", "Unknown", "未知"),
];

/// Looks a key up; an unknown key shows itself, so a gap is visible rather than blank.
pub fn translate(lang: Lang, key: &str) -> &str {
    match STRINGS.iter().find(|(k, _, _)| *k == key) {
        Some((_, en, zh)) => match lang {
            Lang::En => en,
            Lang::ZhHant => zh,
        },
        None => key,
    }
}

const STORAGE_KEY: &str = "switchboard.lang";

/// The console's language, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

impl I18n {
    /// Reads the remembered choice, else the browser's preference.
    pub fn new() -> I18n {
        let remembered = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).and_then(|t| Lang::from_tag(&t));
        let browser = web_sys::window()
            .and_then(|w| w.navigator().language())
            .map(|l| if l.starts_with("zh") { Lang::ZhHant } else { Lang::En });
        let i18n = I18n { lang: RwSignal::new(remembered.or(browser).unwrap_or(Lang::En)) };
        i18n.apply();
        i18n
    }

    /// The text for `key` in the current language (reactive).
    pub fn t(&self, key: &'static str) -> String {
        translate(self.lang.get(), key).to_owned()
    }

    pub fn set(&self, lang: Lang) {
        self.lang.set(lang);
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, lang.tag());
        }
        self.apply();
    }

    pub fn toggle(&self) {
        self.set(if self.lang.get_untracked() == Lang::En { Lang::ZhHant } else { Lang::En });
    }

    fn apply(&self) {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", self.lang.get_untracked().tag());
        }
    }
}

impl Default for I18n {
    fn default() -> Self {
        I18n::new()
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The console's `I18n` from context.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated_into_both_languages() {
        let mut keys = std::collections::HashSet::new();
        for (key, en, zh) in STRINGS {
            assert!(keys.insert(key), "duplicate key {key}");
            assert!(!en.is_empty() && !zh.is_empty(), "{key} lacks a translation");
        }
        assert_eq!(translate(Lang::ZhHant, "nav.inbox"), "收件匣");
        assert_eq!(translate(Lang::En, "no.such.key"), "no.such.key");
    }
}
