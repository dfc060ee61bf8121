//! Business hours in a number's time zone: whether it is open at an instant, when it next
//! opens, and how that opening reads to a customer ("09:00 tomorrow", "明天 09:00").
//!
//! Local times are turned into instants by the time zone's rules (jiff), so a daylight-saving
//! change moves the instant, never the wall-clock hour the business wrote down.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use switchboard_shared::support::{BusinessHours, TimeOfDay};

/// How far ahead to look for an opening: a year of holidays cannot hide one.
const HORIZON_DAYS: i64 = 400;

/// A number's hours with its time zone, ready to ask.
#[derive(Debug, Clone)]
pub struct Schedule {
    hours: BusinessHours,
    tz: TimeZone,
    closed: Vec<Date>,
}

impl Schedule {
    /// `None` when the time zone is unknown (numbers keep a checked one).
    pub fn new(hours: BusinessHours, time_zone: &str) -> Option<Schedule> {
        let tz = TimeZone::get(time_zone).ok()?;
        let closed = hours.closed_days.iter().filter_map(|d| d.parse::<Date>().ok()).collect();
        Some(Schedule { hours, tz, closed })
    }

    fn local(&self, ms: i64) -> DateTime {
        Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(self.tz.clone()).datetime()
    }

    /// The spans of a local date, as (open, close) instants in ms.
    fn spans_on(&self, date: Date) -> Vec<(i64, i64)> {
        if self.closed.contains(&date) {
            return vec![];
        }
        let day = date.weekday().to_monday_zero_offset() as usize;
        self.hours.week.get(day).into_iter().flatten().map(|s| (self.instant(date, s.open), self.instant(date, s.close))).collect()
    }

    /// A local date and time of day as an instant ("24:00" is the next day's midnight).
    fn instant(&self, date: Date, at: TimeOfDay) -> i64 {
        let (date, at) = if at == TimeOfDay::END_OF_DAY { (date.tomorrow().unwrap_or(date), TimeOfDay(0)) } else { (date, at) };
        let time = Time::new(at.hour() as i8, at.minute() as i8, 0, 0).unwrap_or(Time::midnight());
        // A time a daylight-saving jump skips is taken as the first one after it.
        date.to_datetime(time).to_zoned(self.tz.clone()).map_or(0, |z| z.timestamp().as_millisecond())
    }

    /// Whether the business is open at `ms`.
    pub fn is_open(&self, ms: i64) -> bool {
        let today = self.local(ms).date();
        // Yesterday's span may run past midnight only as "24:00", which ends today at 00:00.
        [today.yesterday().ok(), Some(today)].into_iter().flatten().flat_map(|d| self.spans_on(d)).any(|(o, c)| o <= ms && ms < c)
    }

    /// The first opening after `ms` (strictly after, so at an opening it is the next one);
    /// `None` if it never opens within a year.
    pub fn next_opening(&self, ms: i64) -> Option<i64> {
        let mut date = self.local(ms).date();
        for _ in 0..HORIZON_DAYS {
            if let Some(open) = self.spans_on(date).into_iter().map(|(o, _)| o).find(|o| *o > ms) {
                return Some(open);
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The last closing at or before `ms`; `None` if it did not close within a year before.
    pub fn last_closing(&self, ms: i64) -> Option<i64> {
        let mut date = self.local(ms).date();
        for _ in 0..HORIZON_DAYS {
            if let Some(close) = self.spans_on(date).into_iter().map(|(_, c)| c).filter(|c| *c <= ms).max() {
                return Some(close);
            }
            date = date.yesterday().ok()?;
        }
        None
    }

    /// An opening as a customer reads it, seen from `now`, in `lang` (`en` or `zh-Hant`):
    /// "09:00 today", "09:00 tomorrow", "09:00 Mon 7 Dec"; "今天 09:00", "明天 09:00",
    /// "12月7日（一）09:00".
    pub fn describe(&self, opening: i64, now: i64, lang: &str) -> String {
        let at = self.local(opening);
        let today = self.local(now).date();
        let time = format!("{:02}:{:02}", at.hour(), at.minute());
        let zh = lang == "zh-Hant";
        let day = at.date();
        if day == today {
            return if zh { format!("今天 {time}") } else { format!("{time} today") };
        }
        if Some(day) == today.tomorrow().ok() {
            return if zh { format!("明天 {time}") } else { format!("{time} tomorrow") };
        }
        if zh {
            let names = ["一", "二", "三", "四", "五", "六", "日"];
            let i = day.weekday().to_monday_zero_offset() as usize;
            format!("{}月{}日（{}）{time}", day.month(), day.day(), names[i])
        } else {
            at.strftime("%H:%M %a %-d %b").to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_shared::support::Span;

    /// A local wall-clock time in Taipei as ms.
    fn taipei(text: &str) -> i64 {
        let dt: DateTime = text.parse().unwrap();
        dt.to_zoned(TimeZone::get("Asia/Taipei").unwrap()).unwrap().timestamp().as_millisecond()
    }

    fn shop() -> Schedule {
        let mut hours = BusinessHours::weekdays("09:00", "18:00");
        hours.closed_days = vec!["2026-12-25".into()];
        Schedule::new(hours, "Asia/Taipei").unwrap()
    }

    #[test]
    fn open_in_its_hours_and_closed_outside_them_in_its_own_time_zone() {
        let s = shop();
        // Thursday 2026-12-03.
        assert!(!s.is_open(taipei("2026-12-03T08:59:59")));
        assert!(s.is_open(taipei("2026-12-03T09:00")));
        assert!(s.is_open(taipei("2026-12-03T17:59")));
        assert!(!s.is_open(taipei("2026-12-03T18:00")), "closing time is closed");
        assert!(!s.is_open(taipei("2026-12-05T11:00")), "Saturday");
        assert!(!s.is_open(taipei("2026-12-25T11:00")), "a holiday on a Friday");
        assert!(Schedule::new(BusinessHours::default(), "Mars/Olympus").is_none());
    }

    #[test]
    fn the_next_opening_skips_nights_weekends_and_holidays() {
        let s = shop();
        assert_eq!(s.next_opening(taipei("2026-12-03T20:00")), Some(taipei("2026-12-04T09:00")), "Thursday night");
        assert_eq!(s.next_opening(taipei("2026-12-04T07:00")), Some(taipei("2026-12-04T09:00")), "Friday morning");
        assert_eq!(s.next_opening(taipei("2026-12-04T20:00")), Some(taipei("2026-12-07T09:00")), "Friday night: Monday");
        assert_eq!(s.next_opening(taipei("2026-12-24T20:00")), Some(taipei("2026-12-28T09:00")), "over Christmas");
        assert_eq!(s.last_closing(taipei("2026-12-04T09:00")), Some(taipei("2026-12-03T18:00")));
        assert_eq!(s.last_closing(taipei("2026-12-07T09:00")), Some(taipei("2026-12-04T18:00")));
        let never = Schedule::new(BusinessHours { week: vec![vec![]; 7], closed_days: vec![] }, "UTC").unwrap();
        assert_eq!(never.next_opening(0), None);
    }

    #[test]
    fn a_day_can_have_a_break_and_can_end_at_midnight() {
        let mut hours = BusinessHours { week: vec![vec![]; 7], closed_days: vec![] };
        let t = |s: &str| TimeOfDay::parse(s).unwrap();
        hours.week[3] = vec![Span { open: t("09:00"), close: t("12:00") }, Span { open: t("13:00"), close: t("24:00") }];
        let s = Schedule::new(hours, "Asia/Taipei").unwrap();
        assert!(!s.is_open(taipei("2026-12-03T12:30")), "lunch");
        assert_eq!(s.next_opening(taipei("2026-12-03T12:30")), Some(taipei("2026-12-03T13:00")));
        assert!(s.is_open(taipei("2026-12-03T23:59:59")));
        assert!(!s.is_open(taipei("2026-12-04T00:00")));
    }

    #[test]
    fn daylight_saving_keeps_the_wall_clock_hour() {
        let s = Schedule::new(BusinessHours::weekdays("09:00", "17:00"), "Europe/London").unwrap();
        let london = |text: &str| {
            let dt: DateTime = text.parse().unwrap();
            dt.to_zoned(TimeZone::get("Europe/London").unwrap()).unwrap().timestamp().as_millisecond()
        };
        // Clocks go forward on Sunday 2027-03-28: Monday opens at 09:00 BST, 08:00 UTC.
        let monday = s.next_opening(london("2027-03-26T20:00")).unwrap();
        assert_eq!(monday, london("2027-03-29T09:00"));
        assert_eq!(Timestamp::from_millisecond(monday).unwrap().to_string(), "2027-03-29T08:00:00Z");
    }

    #[test]
    fn an_opening_reads_naturally_in_both_languages() {
        let s = shop();
        let now = taipei("2026-12-03T20:00");
        assert_eq!(s.describe(taipei("2026-12-04T09:00"), now, "en"), "09:00 tomorrow");
        assert_eq!(s.describe(taipei("2026-12-04T09:00"), now, "zh-Hant"), "明天 09:00");
        assert_eq!(s.describe(taipei("2026-12-03T21:00"), now, "en"), "21:00 today");
        assert_eq!(s.describe(taipei("2026-12-07T09:00"), now, "en"), "09:00 Mon 7 Dec");
        assert_eq!(s.describe(taipei("2026-12-07T09:00"), now, "zh-Hant"), "12月7日（一）09:00");
    }
}
