//! Segments: a small filter language over contacts, parsed and evaluated here so the console
//! (in the browser, over every contact) and the relay (when a broadcast freezes its audience)
//! agree exactly.
//!
//! ```text
//! tag vip                          has the tag
//! tags any (vip, gold)             has at least one      tags all (…) / tags none (…)
//! city = "Hong Kong"               text attribute        = != contains
//! spend >= 500                     number attribute      = != < <= > >=
//! birthday < 2000-01-01            date attribute        = != < <= > >=
//! member = yes                     yes/no attribute
//! last_purchase within 30 days     a date attribute or last_inbound / last_outbound
//! last_inbound before 90 days      (older than; also "hours", "weeks")
//! opted_in   opted_out             marketing consent
//! replied 12                       replied to broadcast 12
//! number 106540352242922           talks to that business number
//! not …   … and …   … or …   ( … )
//! ```
//!
//! Keywords are case-insensitive; names are letters, digits and `_`; quoted strings take `\"`.
//! A hand-written recursive-descent parser: the grammar is tiny, the errors must point at the
//! exact character, and it ships in the console's WebAssembly where every kilobyte counts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

/// A custom attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AttrValue {
    Text(String),
    Number(f64),
    /// UTC milliseconds (a date is its midnight UTC).
    Date(i64),
    Bool(bool),
}

/// What a segment is evaluated against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentContact {
    pub id: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrValue>,
    #[serde(default)]
    pub opted_in: bool,
    #[serde(default)]
    pub opted_out: bool,
    pub last_inbound_at: Option<i64>,
    pub last_outbound_at: Option<i64>,
    /// Business numbers (phone-number ids) this contact talks to.
    #[serde(default)]
    pub numbers: Vec<String>,
    /// Broadcasts this contact replied to.
    #[serde(default)]
    pub replied_broadcasts: Vec<i64>,
}

/// A malformed expression: what is wrong and where (a character index into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl ParseError {
    /// The text with a caret under the spot, for people.
    pub fn pointer(&self, text: &str) -> String {
        format!("{text}\n{}^ {}", " ".repeat(self.at), self.message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    Date(i64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagsMode {
    Any,
    All,
    None,
}

/// A parsed segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Everyone,
    Tags(TagsMode, Vec<String>),
    Compare(String, Cmp, Value),
    /// Field within the last `ms` (true) or older than `ms` (false).
    Recent {
        field: String,
        within: bool,
        ms: i64,
    },
    OptedIn,
    OptedOut,
    Replied(i64),
    Number(String),
    Not(Box<Segment>),
    And(Box<Segment>, Box<Segment>),
    Or(Box<Segment>, Box<Segment>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Date(i64),
    Op(Cmp),
    Open,
    Close,
    Comma,
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` as UTC midnight in milliseconds, if it is a real date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > days_in[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d) * DAY_MS)
}

/// UTC milliseconds as `YYYY-MM-DD` (the inverse of [`parse_date`] for midnights).
pub fn format_date(ms: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |at: usize, message: &str| ParseError { at, message: message.to_owned() };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((start, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::Close));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            '=' => {
                out.push((start, Tok::Op(Cmp::Eq)));
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((start, Tok::Op(Cmp::Ne)));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('<', true) => Cmp::Le,
                    ('<', false) => Cmp::Lt,
                    (_, true) => Cmp::Ge,
                    _ => Cmp::Gt,
                };
                out.push((start, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            '"' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "this quoted text is never closed (add a \")")),
                        Some('\\') if matches!(chars.get(i + 1), Some('"') | Some('\\')) => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.' || chars[j] == '-') {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                if word.len() == 10 && word.as_bytes()[4] == b'-' {
                    let date = parse_date(&word).ok_or_else(|| err(start, "not a real date; write dates as YYYY-MM-DD"))?;
                    out.push((start, Tok::Date(date)));
                } else {
                    let n: f64 = word.parse().map_err(|_| err(start, "not a number"))?;
                    out.push((start, Tok::Num(n)));
                }
                i = j;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.') {
                    j += 1;
                }
                out.push((start, Tok::Word(chars[i..j].iter().collect())));
                i = j;
            }
            _ => return Err(err(start, &format!("unexpected {c:?}"))),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { at: self.at(), message: message.into() })
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let yes = self.keyword(k);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(&tok) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected {what}"))
        }
    }

    fn or(&mut self) -> Result<Segment, ParseError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            left = Segment::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Segment, ParseError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            left = Segment::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Segment, ParseError> {
        if self.eat_keyword("not") {
            return Ok(Segment::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn name(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                self.pos += 1;
                Ok(w)
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(format_number(n))
            }
            _ => self.err(format!("expected {what}")),
        }
    }

    fn tag_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(Tok::Open, "( and a list of tags, like (vip, gold)")?;
        let mut tags = vec![self.name("a tag")?];
        while self.peek() == Some(&Tok::Comma) {
            self.pos += 1;
            tags.push(self.name("a tag after the comma")?);
        }
        self.expect(Tok::Close, ") to close the list of tags")?;
        Ok(tags)
    }

    fn duration(&mut self) -> Result<i64, ParseError> {
        let n = match self.peek() {
            Some(Tok::Num(n)) if *n >= 0.0 => *n,
            _ => return self.err("expected how long, like 30 days"),
        };
        self.pos += 1;
        let unit = match self.peek() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => return self.err("expected hours, days or weeks"),
        };
        let ms = match unit.trim_end_matches('s') {
            "hour" | "h" => 3_600_000.0,
            "day" | "d" => DAY_MS as f64,
            "week" | "w" => 7.0 * DAY_MS as f64,
            _ => return self.err("expected hours, days or weeks"),
        };
        self.pos += 1;
        Ok((n * ms) as i64)
    }

    fn primary(&mut self) -> Result<Segment, ParseError> {
        let start = self.at();
        match self.peek().cloned() {
            None => self.err("expected a condition, like tag vip"),
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(Tok::Close, ") to close the bracket")?;
                Ok(inner)
            }
            Some(Tok::Word(w)) => {
                let lower = w.to_ascii_lowercase();
                self.pos += 1;
                match lower.as_str() {
                    "everyone" | "all" if !self.starts_comparison() => Ok(Segment::Everyone),
                    "tag" if !self.starts_comparison() => Ok(Segment::Tags(TagsMode::Any, vec![self.name("a tag name")?])),
                    "tags" if !self.starts_comparison() => {
                        let mode = if self.eat_keyword("any") {
                            TagsMode::Any
                        } else if self.eat_keyword("all") {
                            TagsMode::All
                        } else if self.eat_keyword("none") {
                            TagsMode::None
                        } else {
                            return self.err("expected any, all or none");
                        };
                        Ok(Segment::Tags(mode, self.tag_list()?))
                    }
                    "opted_in" if !self.starts_comparison() => Ok(Segment::OptedIn),
                    "opted_out" if !self.starts_comparison() => Ok(Segment::OptedOut),
                    "replied" if !self.starts_comparison() => {
                        self.eat_keyword("to");
                        self.eat_keyword("broadcast");
                        match self.peek() {
                            Some(Tok::Num(n)) if n.fract() == 0.0 => {
                                let id = *n as i64;
                                self.pos += 1;
                                Ok(Segment::Replied(id))
                            }
                            _ => self.err("expected a broadcast number, like replied 12"),
                        }
                    }
                    "number" if !self.starts_comparison() => Ok(Segment::Number(self.name("a phone-number id")?)),
                    _ => {
                        if self.eat_keyword("within") {
                            let ms = self.duration()?;
                            return Ok(Segment::Recent { field: w, within: true, ms });
                        }
                        if self.eat_keyword("before") || self.eat_keyword("older") {
                            self.eat_keyword("than");
                            let ms = self.duration()?;
                            self.eat_keyword("ago");
                            return Ok(Segment::Recent { field: w, within: false, ms });
                        }
                        let op = match self.peek() {
                            Some(Tok::Op(op)) => *op,
                            Some(Tok::Word(c)) if c.eq_ignore_ascii_case("contains") => Cmp::Contains,
                            _ => {
                                return Err(ParseError {
                                    at: start,
                                    message: format!(
                                        "{w:?} is not a condition; compare it (= != < <= > >= contains) or use within / before"
                                    ),
                                })
                            }
                        };
                        self.pos += 1;
                        let value = match self.peek().cloned() {
                            Some(Tok::Str(s)) => Value::Text(s),
                            Some(Tok::Num(n)) => Value::Number(n),
                            Some(Tok::Date(d)) => Value::Date(d),
                            Some(Tok::Word(v)) if ["yes", "true"].contains(&v.to_ascii_lowercase().as_str()) => Value::Bool(true),
                            Some(Tok::Word(v)) if ["no", "false"].contains(&v.to_ascii_lowercase().as_str()) => Value::Bool(false),
                            Some(Tok::Word(v)) => Value::Text(v),
                            _ => return self.err("expected a value: a number, a date (2026-01-31), yes/no or \"text\""),
                        };
                        self.pos += 1;
                        let value = match (op, value) {
                            // Folded once here, not once per contact.
                            (Cmp::Contains, Value::Text(t)) => Value::Text(t.to_lowercase()),
                            (Cmp::Contains, _) => {
                                return Err(ParseError { at: self.toks[self.pos - 1].0, message: "contains needs text".into() })
                            }
                            (_, value) => value,
                        };
                        Ok(Segment::Compare(w, op, value))
                    }
                }
            }
            Some(_) => self.err("expected a condition, like tag vip"),
        }
    }

    /// Whether the next token turns a keyword into an attribute name (`tag = "x"`).
    fn starts_comparison(&self) -> bool {
        matches!(self.peek(), Some(Tok::Op(_)))
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

impl Segment {
    /// Parses an expression; an empty one is everyone.
    pub fn parse(text: &str) -> Result<Segment, ParseError> {
        let toks = lex(text)?;
        if toks.is_empty() {
            return Ok(Segment::Everyone);
        }
        let mut p = Parser { toks, pos: 0, end: text.chars().count() };
        let segment = p.or()?;
        if p.pos < p.toks.len() {
            return p.err("expected and, or, or the end here");
        }
        Ok(segment)
    }

    /// Whether the contact is in the segment at time `now` (UTC ms).
    pub fn matches(&self, c: &SegmentContact, now: i64) -> bool {
        match self {
            Segment::Everyone => true,
            Segment::Tags(mode, tags) => {
                let has = |t: &String| c.tags.iter().any(|x| x.eq_ignore_ascii_case(t));
                match mode {
                    TagsMode::Any => tags.iter().any(has),
                    TagsMode::All => tags.iter().all(has),
                    TagsMode::None => !tags.iter().any(has),
                }
            }
            Segment::Compare(name, op, value) => match c.attributes.get(name) {
                Some(actual) => compare(actual, *op, value),
                // A missing attribute only satisfies "is not".
                None => *op == Cmp::Ne,
            },
            Segment::Recent { field, within, ms } => {
                let named = |n: &str| field.eq_ignore_ascii_case(n);
                let at = if named("last_inbound") || named("last_message") {
                    c.last_inbound_at
                } else if named("last_outbound") {
                    c.last_outbound_at
                } else {
                    match c.attributes.get(field) {
                        Some(AttrValue::Date(d)) => Some(*d),
                        _ => None,
                    }
                };
                match at {
                    Some(at) if *within => now - at <= *ms && at <= now + DAY_MS,
                    Some(at) => now - at > *ms,
                    None => false,
                }
            }
            Segment::OptedIn => c.opted_in && !c.opted_out,
            Segment::OptedOut => c.opted_out,
            Segment::Replied(id) => c.replied_broadcasts.contains(id),
            Segment::Number(id) => c.numbers.iter().any(|n| n == id),
            Segment::Not(s) => !s.matches(c, now),
            Segment::And(a, b) => a.matches(c, now) && b.matches(c, now),
            Segment::Or(a, b) => a.matches(c, now) || b.matches(c, now),
        }
    }

    /// How many of `contacts` are in the segment.
    pub fn count(&self, contacts: &[SegmentContact], now: i64) -> usize {
        contacts.iter().filter(|c| self.matches(c, now)).count()
    }
}

fn ordering<T: PartialOrd>(a: T, op: Cmp, b: T) -> bool {
    match op {
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Contains => false,
    }
}

/// Whether `text` contains `needle` (already lowercase) in any case, without allocating: this
/// runs for every contact as the admin types.
///
/// An ASCII needle is compared byte by byte, whatever the text's script: bytes of other
/// characters never equal ASCII ones, and the only characters that lowercase into ASCII (the
/// Kelvin sign and the dotted capital I, led by bytes E2 and C4) send the text the slow way.
/// Otherwise the text is lowered a character at a time from each starting point.
fn contains_folded(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.is_ascii() && !text.bytes().any(|b| b == 0xE2 || b == 0xC4) {
        return text.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    }
    text.char_indices().any(|(i, _)| {
        let mut folded = text[i..].chars().flat_map(char::to_lowercase);
        needle.chars().all(|n| folded.next() == Some(n))
    })
}

fn compare(actual: &AttrValue, op: Cmp, value: &Value) -> bool {
    match (actual, value) {
        (AttrValue::Text(a), Value::Text(b)) => match op {
            Cmp::Contains => contains_folded(a, b),
            Cmp::Eq => a.eq_ignore_ascii_case(b) || a == b,
            Cmp::Ne => !(a.eq_ignore_ascii_case(b) || a == b),
            _ => ordering(a.as_str(), op, b.as_str()),
        },
        // A number written as a word (`plan = 3`) still compares with text values.
        (AttrValue::Text(a), Value::Number(b)) => ordering(a.as_str(), op, format_number(*b).as_str()),
        (AttrValue::Number(a), Value::Number(b)) => ordering(*a, op, *b),
        (AttrValue::Date(a), Value::Date(b)) => ordering(a.div_euclid(DAY_MS), op, b.div_euclid(DAY_MS)),
        (AttrValue::Bool(a), Value::Bool(b)) => match op {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            _ => false,
        },
        _ => op == Cmp::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for d in ["1970-01-01", "2000-02-29", "2026-11-25", "1969-12-31"] {
            assert_eq!(format_date(parse_date(d).unwrap()), d);
        }
    }

    const NOW: i64 = 1_795_000_000_000; // 2026-11-17

    fn contact() -> SegmentContact {
        let mut attributes = BTreeMap::new();
        attributes.insert("city".into(), AttrValue::Text("Hong Kong".into()));
        attributes.insert("spend".into(), AttrValue::Number(820.0));
        attributes.insert("birthday".into(), AttrValue::Date(parse_date("1990-05-04").unwrap()));
        attributes.insert("member".into(), AttrValue::Bool(true));
        attributes.insert("last_purchase".into(), AttrValue::Date(NOW - 10 * DAY_MS));
        SegmentContact {
            id: 1,
            tags: vec!["VIP".into(), "bakery".into()],
            attributes,
            opted_in: true,
            opted_out: false,
            last_inbound_at: Some(NOW - 3 * 3_600_000),
            last_outbound_at: Some(NOW - 40 * DAY_MS),
            numbers: vec!["106540352242922".into()],
            replied_broadcasts: vec![12],
        }
    }

    #[test]
    fn contains_ignores_case_in_any_script() {
        let mut c = contact();
        c.attributes.insert("district".into(), AttrValue::Text("旺角 Mong Kok Étoile".into()));
        c.attributes.insert("unit".into(), AttrValue::Text("300 \u{212A} 旺".into()));
        let has = |expr: &str| Segment::parse(expr).unwrap().matches(&c, NOW);
        for expr in [
            "district contains \"mong kok\"",
            "district contains MONG",
            "district contains 旺角",
            "district contains étoile",
            "district contains \"\"",
        ] {
            assert!(has(expr), "{expr}");
        }
        for expr in ["district contains \"mongkok\"", "district contains 太子", "city contains \"kong hong\""] {
            assert!(!has(expr), "{expr}");
        }
        // Characters that lowercase into ASCII (here the Kelvin sign) match as their lowercase.
        assert!(has("unit contains \"0 k\""));
        assert!(has("city contains \"ONG K\""));
    }

    fn yes(expr: &str) -> bool {
        Segment::parse(expr).unwrap_or_else(|e| panic!("{}", e.pointer(expr))).matches(&contact(), NOW)
    }

    #[test]
    fn every_kind_of_condition() {
        for expr in [
            "",
            "tag vip",
            "tags any (gold, bakery)",
            "tags all (vip, BAKERY)",
            "tags none (gold, silver)",
            "city = \"Hong Kong\"",
            "city contains kong",
            "city != Tokyo",
            "spend >= 500",
            "spend < 1000.5",
            "birthday < 2000-01-01",
            "birthday = 1990-05-04",
            "member = yes",
            "last_purchase within 30 days",
            "last_inbound within 1 day",
            "last_outbound before 30 days ago",
            "last_outbound older than 4 weeks",
            "opted_in",
            "replied 12",
            "replied to broadcast 12",
            "number 106540352242922",
            "nickname != x",
            "not tag gold",
            "tag gold or (spend > 800 and not opted_out)",
            "TAG vip AND city = \"Hong Kong\"",
        ] {
            assert!(yes(expr), "{expr:?} should match");
        }
        for expr in [
            "tag gold",
            "tags all (vip, gold)",
            "tags none (vip)",
            "spend > 1000",
            "city = Tokyo",
            "member = no",
            "last_purchase within 7 days",
            "last_inbound before 1 day",
            "opted_out",
            "replied 13",
            "nickname = x",
            "number 1",
            "tag vip and tag gold",
            "not (tag vip or tag gold)",
        ] {
            assert!(!yes(expr), "{expr:?} should not match");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // tag gold or (tag vip and opted_out)  → false;  (tag gold or tag vip) and opted_out → false too;
        // tag vip or tag gold and opted_out → tag vip or (…) → true.
        assert!(yes("tag vip or tag gold and opted_out"));
        assert!(!yes("(tag vip or tag gold) and opted_out"));
    }

    #[test]
    fn malformed_expressions_point_at_the_spot() {
        let cases = [
            ("tag vip and", 11, "expected a condition"),
            ("tags some (a)", 5, "any, all or none"),
            ("tags any (a, )", 13, "tag after the comma"),
            ("tags any (a", 11, ")"),
            ("spend >", 7, "expected a value"),
            ("city = \"Hong Kong", 7, "never closed"),
            ("birthday < 2001-02-30", 11, "real date"),
            ("spend ~ 3", 6, "unexpected"),
            ("tag vip tag gold", 8, "and, or"),
            ("(tag vip", 8, ")"),
            ("last_purchase within soon", 21, "how long"),
            ("vip", 0, "not a condition"),
            ("city contains 3", 14, "contains needs text"),
        ];
        for (text, at, words) in cases {
            let e = Segment::parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text:?}: {}", e.pointer(text));
            assert!(e.message.contains(words), "{text:?}: {}", e.message);
        }
        let e = Segment::parse("tags any (a").unwrap_err();
        assert_eq!(e.pointer("tags any (a"), "tags any (a\n           ^ expected ) to close the list of tags");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let e = Segment::parse("tag 貴賓 and").unwrap_err();
        assert_eq!(e.at, 10);
        assert!(yes("not tag 貴賓"));
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19_782 * DAY_MS));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
    }

    #[test]
    fn opted_out_wins_over_opted_in() {
        let mut c = contact();
        c.opted_out = true;
        assert!(!Segment::parse("opted_in").unwrap().matches(&c, NOW));
    }
}
