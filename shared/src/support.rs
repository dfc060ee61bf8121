//! The support day's settings and the pure rules behind them: a number's business hours and
//! how it assigns conversations, auto-reply rules and how a customer's words match them.
//!
//! The relay evaluates them (in the number's time zone, by its settable clock); the console
//! edits them. Everything here checks itself ([`BusinessHours::check`], [`AutoRuleSpec::check`])
//! so bad input is refused with a clear message before anything is stored.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time of day in a number's local time: minutes after midnight, written `"09:00"`;
/// `"24:00"` is the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(pub u16);

impl TimeOfDay {
    pub const END_OF_DAY: TimeOfDay = TimeOfDay(24 * 60);

    /// `"HH:MM"`, 00:00 to 24:00.
    pub fn parse(text: &str) -> Result<TimeOfDay, String> {
        let bad = || format!("{text:?} is not a time of day (HH:MM, 00:00 to 24:00)");
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(TimeOfDay(h * 60 + m))
    }

    pub fn hour(self) -> u16 {
        self.0 / 60
    }

    pub fn minute(self) -> u16 {
        self.0 % 60
    }
}

impl std::fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TimeOfDay::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Open from `open` until `close` on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
    pub open: TimeOfDay,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18:00"))]
    pub close: TimeOfDay,
}

/// A local date, `"2026-12-25"`.
pub fn check_date(text: &str) -> Result<(i32, u8, u8), String> {
    let bad = || format!("{text:?} is not a date (YYYY-MM-DD)");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u8, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days {
        return Err(bad());
    }
    Ok((y, m, d))
}

/// A number's weekly opening hours in its time zone, and the days it is closed anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessHours {
    /// Monday first, seven days; a day without spans is closed all day.
    pub week: Vec<Vec<Span>>,
    /// Holidays: local dates (`"2026-12-25"`) closed all day.
    #[serde(default)]
    pub closed_days: Vec<String>,
}

/// The days of [`BusinessHours::week`], Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    /// Weekdays `open`–`close`, weekends closed.
    pub fn weekdays(open: &str, close: &str) -> BusinessHours {
        let span = Span { open: TimeOfDay::parse(open).expect("a valid time"), close: TimeOfDay::parse(close).expect("a valid time") };
        let mut week = vec![vec![span]; 5];
        week.extend([vec![], vec![]]);
        BusinessHours { week, closed_days: vec![] }
    }

    /// Seven days; each day's spans open before they close, in order, without overlapping;
    /// holidays are real dates.
    pub fn check(&self) -> Result<(), String> {
        if self.week.len() != 7 {
            return Err(format!("the week has 7 days, Monday first, not {}", self.week.len()));
        }
        for (day, spans) in WEEKDAYS.iter().zip(&self.week) {
            let mut after = TimeOfDay(0);
            for (i, span) in spans.iter().enumerate() {
                if span.open >= span.close {
                    return Err(format!("{day}: {} to {} closes before it opens", span.open, span.close));
                }
                if i > 0 && span.open < after {
                    return Err(format!("{day}: {} to {} overlaps the hours before it or comes before them", span.open, span.close));
                }
                after = span.close;
            }
        }
        for day in &self.closed_days {
            check_date(day)?;
        }
        Ok(())
    }

    /// Whether it is ever open (a schedule with no hours would never send anyone a reply).
    pub fn ever_open(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }
}

/// How a number's new conversations find an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// Conversations wait in the queue until someone takes or assigns them.
    #[default]
    Manual,
    /// In turn among the agents on duty.
    RoundRobin,
    /// To the agent on duty with the fewest open conversations.
    LeastOpen,
}

impl AssignmentMode {
    pub const ALL: [AssignmentMode; 3] = [Self::Manual, Self::RoundRobin, Self::LeastOpen];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::RoundRobin => "round_robin",
            Self::LeastOpen => "least_open",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A number's support-day settings: `GET`/`PUT /api/v1/numbers/{id}/support` (both fields,
/// always: a `PUT` replaces them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportSettings {
    /// `null`: always open (no away message).
    pub hours: Option<BusinessHours>,
    pub assignment: AssignmentMode,
}

/// When an auto-reply rule answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// A customer's first message to the number.
    Welcome,
    /// A message containing any of these words (case and full-width/half-width ignored).
    Keyword { words: Vec<String> },
    /// A message outside the number's business hours.
    Away,
}

impl Trigger {
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Welcome => "welcome",
            Trigger::Keyword { .. } => "keyword",
            Trigger::Away => "away",
        }
    }
}

/// What an auto-reply sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AutoAnswer {
    /// Free text, with placeholders: `{contact.name}`, `{agent}` (the agent's public code who
    /// will take the conversation), `{opens_at}` (the next opening, in the number's local time).
    Text { text: String },
    /// An approved template (by name and language), its body parameters filled the same way.
    Template {
        name: String,
        language: String,
        #[serde(default)]
        params: Vec<String>,
    },
}

/// `POST /api/v1/auto-replies` and `PUT /api/v1/auto-replies/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoRuleSpec {
    pub name: String,
    pub trigger: Trigger,
    pub answer: AutoAnswer,
    /// The numbers it answers for; empty means every number.
    #[serde(default)]
    pub number_ids: Vec<String>,
    /// It answers one conversation at most once in this many minutes (at least 1).
    #[serde(default = "default_period")]
    pub period_minutes: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The language its placeholders are written in (`en`, `zh-Hant`): "09:00 tomorrow" or
    /// "明天 09:00".
    #[serde(default = "english")]
    pub lang: String,
}

fn default_period() -> u32 {
    24 * 60
}
fn yes() -> bool {
    true
}
fn english() -> String {
    "en".to_owned()
}

/// The longest text an automatic reply may carry (WhatsApp's limit for a text body).
pub const MAX_TEXT: usize = 4096;
/// The longest a rule may keep quiet in one conversation: 30 days.
pub const MAX_PERIOD_MINUTES: u32 = 30 * 24 * 60;

impl AutoRuleSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a rule needs a name".into());
        }
        if let Trigger::Keyword { words } = &self.trigger {
            if words.iter().all(|w| normalize(w).trim().is_empty()) {
                return Err("a keyword rule needs at least one word".into());
            }
        }
        match &self.answer {
            AutoAnswer::Text { text } if text.trim().is_empty() => return Err("the reply is empty".into()),
            AutoAnswer::Text { text } if text.chars().count() > MAX_TEXT => {
                return Err(format!("the reply is longer than WhatsApp allows ({MAX_TEXT} characters)"))
            }
            AutoAnswer::Template { name, language, .. } if name.trim().is_empty() || language.trim().is_empty() => {
                return Err("a template reply needs the template's name and language".into())
            }
            _ => {}
        }
        if !(1..=MAX_PERIOD_MINUTES).contains(&self.period_minutes) {
            return Err(format!("a rule answers a conversation at most once per 1 to {MAX_PERIOD_MINUTES} minutes"));
        }
        if !matches!(self.lang.as_str(), "en" | "zh-Hant") {
            return Err(format!("the language is en or zh-Hant, not {:?}", self.lang));
        }
        Ok(())
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoRule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: AutoRuleSpec,
    /// How many times it has answered.
    #[serde(default)]
    pub answered: i64,
}

/// A text as rules compare it: Unicode compatibility form (full-width `ＨＯＵＲＳ`, `１`, `？`
/// become `HOURS`, `1`, `?`), lower case, runs of white space as one space.
pub fn normalize(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` contains any of `words` (each compared as [`normalize`] makes it). Words of
/// Latin letters or digits match whole words only ("hours" not in "hoursglass"); Chinese words,
/// written without spaces, match anywhere.
pub fn contains_any(words: &[String], text: &str) -> bool {
    let text = normalize(text);
    words.iter().map(|w| normalize(w)).filter(|w| !w.is_empty()).any(|w| contains_word(&text, &w))
}

fn contains_word(text: &str, word: &str) -> bool {
    let wordy = |c: char| c.is_ascii_alphanumeric();
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before_ok = !word.starts_with(wordy) || !text[..start].ends_with(wordy);
        let after_ok = !word.ends_with(wordy) || !text[end..].starts_with(wordy);
        if before_ok && after_ok {
            return true;
        }
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Fills `{name}` placeholders from `values`; an unknown placeholder stays as written.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// A saved answer agents insert by typing `/` and its shortcut in the composer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedReplySpec {
    /// Typed after `/`: letters, digits, `-` and `_`, any script (`hours`, `價錢`).
    pub shortcut: String,
    /// May hold [`CANNED_PLACEHOLDERS`], filled when inserted.
    pub text: String,
    /// The numbers it is offered on; empty means every number.
    #[serde(default)]
    pub number_ids: Vec<String>,
}

/// A canned reply as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedReply {
    pub id: i64,
    #[serde(flatten)]
    pub spec: CannedReplySpec,
}

/// The placeholders a canned reply may hold.
pub const CANNED_PLACEHOLDERS: [&str; 4] = ["contact.name", "contact.phone", "agent.name", "agent.code"];

impl CannedReplySpec {
    /// The shortcut as stored and matched: lower case, without a leading `/`.
    pub fn key(shortcut: &str) -> String {
        shortcut.trim().trim_start_matches('/').to_lowercase()
    }

    /// Why this cannot be saved, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let key = Self::key(&self.shortcut);
        if key.is_empty() || key.chars().count() > 32 || !key.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
            return Err("A shortcut has 1 to 32 letters, digits, - or _ (no spaces).".into());
        }
        let text = self.text.trim();
        if text.is_empty() || text.chars().count() > 4096 {
            return Err("A reply has 1 to 4,096 characters.".into());
        }
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            if !CANNED_PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "{{{name}}} is not a placeholder; use {}",
                    CANNED_PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
                ));
            }
            rest = &after[close + 1..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canned_reply_needs_a_shortcut_text_and_known_placeholders() {
        let spec = |shortcut: &str, text: &str| CannedReplySpec { shortcut: shortcut.into(), text: text.into(), number_ids: vec![] };
        assert_eq!(spec("/Hours", "We open at 9, {contact.name}. — {agent.code}").check(), Ok(()));
        assert_eq!(CannedReplySpec::key("/Hours"), "hours");
        assert_eq!(spec("價錢", "{agent.name} 為你報價").check(), Ok(()));
        assert!(spec("", "x").check().is_err());
        assert!(spec("two words", "x").check().is_err());
        assert!(spec("hours", "  ").check().is_err());
        let unknown = spec("hours", "Dear {customer}").check().unwrap_err();
        assert!(unknown.contains("{customer} is not a placeholder"), "{unknown}");
    }

    #[test]
    fn times_of_day_read_and_write_as_hh_mm() {
        assert_eq!(TimeOfDay::parse("09:00"), Ok(TimeOfDay(540)));
        assert_eq!(TimeOfDay::parse("9:30"), Ok(TimeOfDay(570)));
        assert_eq!(TimeOfDay::parse("24:00"), Ok(TimeOfDay::END_OF_DAY));
        for bad in ["24:01", "9", "09:60", "-1:00", "ab:cd", "", "09:5"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TimeOfDay(540).to_string(), "09:00");
        let json: Span = serde_json::from_str(r#"{"open":"09:00","close":"18:30"}"#).unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"{"open":"09:00","close":"18:30"}"#);
        assert!(serde_json::from_str::<Span>(r#"{"open":"25:00","close":"18:30"}"#).is_err());
    }

    #[test]
    fn business_hours_refuse_what_cannot_be_meant() {
        let mut hours = BusinessHours::weekdays("09:00", "18:00");
        assert!(hours.check().is_ok() && hours.ever_open());
        hours.closed_days = vec!["2026-12-25".into(), "2028-02-29".into()];
        assert!(hours.check().is_ok());
        let mut bad = hours.clone();
        bad.closed_days.push("2027-02-29".into());
        assert!(bad.check().unwrap_err().contains("2027-02-29"));
        let mut bad = hours.clone();
        bad.week[0] = vec![Span { open: TimeOfDay(600), close: TimeOfDay(540) }];
        assert!(bad.check().unwrap_err().starts_with("mon"));
        let mut bad = hours.clone();
        let (a, b) = (Span { open: TimeOfDay(540), close: TimeOfDay(780) }, Span { open: TimeOfDay(720), close: TimeOfDay(1080) });
        bad.week[2] = vec![a, b];
        assert!(bad.check().unwrap_err().contains("overlaps"));
        bad.week[2] = vec![a, Span { open: TimeOfDay(840), close: TimeOfDay(1080) }];
        assert!(bad.check().is_ok(), "a lunch break");
        bad.week.pop();
        assert!(bad.check().is_err());
        assert!(!BusinessHours { week: vec![vec![]; 7], closed_days: vec![] }.ever_open());
    }

    #[test]
    fn keywords_match_across_case_and_width_in_english_and_chinese() {
        let words = vec!["hours".to_owned(), "營業時間".to_owned(), "price list".to_owned()];
        assert!(contains_any(&words, "What are your HOURS?"));
        assert!(contains_any(&words, "ｗｈａｔ ａｒｅ ｙｏｕｒ ｈｏｕｒｓ？"), "full-width Latin");
        assert!(contains_any(&words, "請問營業時間是？"), "Chinese inside a sentence");
        assert!(contains_any(&words, "send the  Price\u{3000}List please"), "ideographic space, double space");
        assert!(!contains_any(&words, "hoursglass"), "a whole word, not part of one");
        assert!(!contains_any(&words, "營業"), "the whole keyword");
        assert!(!contains_any(&words, "hello"));
        let full_width_rule = vec!["ＰＲＩＣＥ".to_owned()];
        assert!(contains_any(&full_width_rule, "price?"), "a keyword written full-width matches half-width input");
        assert!(!contains_any(&[" ".to_owned(), String::new()], "anything"), "blank keywords match nothing");
    }

    #[test]
    fn rules_check_their_parts() {
        let rule = AutoRuleSpec {
            name: "Hours".into(),
            trigger: Trigger::Keyword { words: vec!["hours".into()] },
            answer: AutoAnswer::Text { text: "9:00 to 18:00".into() },
            number_ids: vec![],
            period_minutes: 60,
            enabled: true,
            lang: "en".into(),
        };
        assert!(rule.check().is_ok());
        let with = |f: &dyn Fn(&mut AutoRuleSpec)| {
            let mut r = rule.clone();
            f(&mut r);
            r.check()
        };
        assert!(with(&|r| r.name = " ".into()).is_err());
        assert!(with(&|r| r.trigger = Trigger::Keyword { words: vec!["  ".into()] }).is_err());
        assert!(with(&|r| r.answer = AutoAnswer::Text { text: "x".repeat(MAX_TEXT + 1) }).is_err());
        assert!(with(&|r| r.answer = AutoAnswer::Template { name: String::new(), language: "en".into(), params: vec![] }).is_err());
        assert!(with(&|r| r.period_minutes = 0).is_err());
        assert!(with(&|r| r.lang = "fr".into()).is_err());
        let json = r#"{"name":"Away","trigger":{"type":"away"},"answer":{"type":"text","text":"Back at {opens_at}"}}"#;
        let read: AutoRuleSpec = serde_json::from_str(json).unwrap();
        assert_eq!((read.period_minutes, read.enabled, read.lang.as_str()), (1440, true, "en"));
        assert_eq!(
            fill("Hi {contact.name}, {agent} at {opens_at} {x}", &[("contact.name", "Ann"), ("agent", "#103")]),
            "Hi Ann, #103 at {opens_at} {x}"
        );
    }
}
