//! Meta's published limits, named once.
//!
//! Source: `reference/cloud-api.md` §3.2 and §4, quoting Meta's `throughput`,
//! `about-the-platform` and `webhooks/overview` pages.

/// Default messages per second per business number ("80 mps default"; `throughput`).
pub const DEFAULT_THROUGHPUT_PER_SEC: u32 = 80;
/// Upgraded throughput per business number ("up to 1,000 mps"; `throughput`).
pub const HIGH_THROUGHPUT_PER_SEC: u32 = 1_000;
/// Pair rate: one message every 6 seconds to the same user (`about-the-platform`).
pub const PAIR_RATE_INTERVAL_MS: u64 = 6_000;
/// Pair rate burst: "up to 45 messages in a 6-second burst" (`about-the-platform`).
pub const PAIR_RATE_BURST: u32 = 45;
/// Largest webhook body Meta sends: "up to 3 MB" (`webhooks/overview`).
pub const MAX_WEBHOOK_BODY_BYTES: usize = 3 * 1024 * 1024;
/// Most updates Meta puts in one webhook POST (`webhooks/create-webhook-endpoint`).
pub const MAX_UPDATES_PER_WEBHOOK: usize = 1_000;
/// The customer service window: free-form messages only within 24 h of the user's last message.
pub const CUSTOMER_SERVICE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Longest `biz_opaque_callback_data` Meta accepts (changelog: 256 → 512).
pub const MAX_CALLBACK_DATA_CHARS: usize = 512;
/// Longest text message body (`messages/text-messages`).
pub const MAX_TEXT_BODY_CHARS: usize = 4_096;

/// Error codes named by Meta that the relay and the sandbox act on (`support/error-codes`).
pub mod codes {
    pub const ACCESS_TOKEN_EXPIRED: i64 = 190;
    pub const INVALID_PARAMETER: i64 = 100;
    pub const TOO_MANY_CALLS: i64 = 4;
    pub const WABA_RATE_LIMIT: i64 = 80007;
    pub const THROUGHPUT_REACHED: i64 = 130429;
    pub const UNKNOWN_ERROR: i64 = 131000;
    pub const SERVICE_UNAVAILABLE: i64 = 131016;
    pub const UNDELIVERABLE: i64 = 131026;
    pub const REENGAGEMENT: i64 = 131047;
    pub const ECOSYSTEM_ENGAGEMENT: i64 = 131049;
    pub const USER_STOPPED_MARKETING: i64 = 131050;
    pub const PAIR_RATE: i64 = 131056;
    pub const MAINTENANCE_MODE: i64 = 131057;
    pub const TEMPLATE_PARAM_MISMATCH: i64 = 132000;
    pub const TEMPLATE_NOT_FOUND: i64 = 132001;
    pub const SERVER_UNAVAILABLE: i64 = 133004;
}

/// What a sender should do after Meta refused a send with this code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try the same send again later, with backoff.
    Retry,
    /// This recipient will not get this message; record it and move on.
    Permanent,
    /// Nothing on this number will work until an admin acts (token revoked, account blocked).
    PauseLane,
}

/// Classifies a Cloud API error code (cloud-api.md §4.5; wa-rs and Chatwoot use the same split).
pub fn classify_error(code: i64) -> ErrorClass {
    use codes::*;
    match code {
        1 | 2 | TOO_MANY_CALLS | 17 | 341 | WABA_RATE_LIMIT | THROUGHPUT_REACHED | UNKNOWN_ERROR | SERVICE_UNAVAILABLE | PAIR_RATE
        | MAINTENANCE_MODE | SERVER_UNAVAILABLE | 2494100 => ErrorClass::Retry,
        0 | 3 | 10 | ACCESS_TOKEN_EXPIRED | 200..=299 | 368 | 131031 | 131042 | 131044 | 131048 => ErrorClass::PauseLane,
        _ => ErrorClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_and_pair_rate_errors_are_retried_and_undeliverable_is_permanent() {
        assert_eq!(classify_error(codes::THROUGHPUT_REACHED), ErrorClass::Retry);
        assert_eq!(classify_error(codes::PAIR_RATE), ErrorClass::Retry);
        assert_eq!(classify_error(codes::UNDELIVERABLE), ErrorClass::Permanent);
        assert_eq!(classify_error(codes::REENGAGEMENT), ErrorClass::Permanent);
        assert_eq!(classify_error(codes::ACCESS_TOKEN_EXPIRED), ErrorClass::PauseLane);
    }
}
