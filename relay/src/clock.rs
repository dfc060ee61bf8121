//! Time: what the relay reads as "now", and how it writes a time down.
//!
//! Everything time-based in the support day (business hours, auto-replies, the opening-time
//! hand-out, snoozes, away grace periods) reads [`Clock`], which tests and the demo can set: the
//! 20:00 → 09:00 story runs in seconds. The clock keeps running from where it was set.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

/// Milliseconds since the Unix epoch, by the system.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The relay's clock: the system's time, moved by an offset when someone sets it.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    changed: Notify,
}

impl Clock {
    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the clock to `ms`; it runs on from there. Whoever waits for a time wakes to look.
    pub fn set(&self, ms: i64) {
        self.offset_ms.store(ms - now_ms(), Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Waits until the clock reads `at_ms` or later (also when it is set past it).
    pub async fn sleep_until(&self, at_ms: i64) {
        loop {
            let changed = self.changed.notified();
            let left = at_ms - self.now_ms();
            if left <= 0 {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(left as u64)) => {}
                _ = changed => {}
            }
        }
    }
}

/// RFC 3339 in UTC with milliseconds (what exports write).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_set_clock_runs_on_from_where_it_was_set_and_wakes_its_sleepers() {
        let clock = std::sync::Arc::new(Clock::default());
        let real = now_ms();
        assert!((clock.now_ms() - real).abs() < 1_000, "unset, it is the system's time");
        let evening = 1_780_000_000_000;
        clock.set(evening);
        let read = clock.now_ms();
        assert!((evening..evening + 1_000).contains(&read), "{read}");
        // A sleeper until tomorrow morning wakes when the clock is set to it, not in 13 hours.
        let morning = evening + 13 * 3_600_000;
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(morning).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!sleeper.is_finished(), "still evening");
        clock.set(morning);
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper).await.expect("woken by the new time").unwrap();
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
