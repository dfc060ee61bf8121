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
    pub const AUTH_EXCEPTION: i64 = 0;
    pub const API_UNKNOWN: i64 = 1;
    pub const API_SERVICE: i64 = 2;
    pub const API_METHOD: i64 = 3;
    pub const PERMISSION_DENIED: i64 = 10;
    pub const USER_REQUEST_LIMIT: i64 = 17;
    pub const APP_REQUEST_LIMIT: i64 = 341;
    /// 200–299: permission errors.
    pub const PERMISSIONS: std::ops::RangeInclusive<i64> = 200..=299;
    pub const ACCOUNT_RESTRICTED: i64 = 368;
    pub const ACCESS_TOKEN_EXPIRED: i64 = 190;
    pub const REQUIRED_PARAMETER_MISSING: i64 = 131008;
    pub const PARAMETER_NOT_VALID: i64 = 131009;
    pub const ACCOUNT_LOCKED: i64 = 131031;
    pub const BUSINESS_ELIGIBILITY: i64 = 131042;
    pub const PAYMENT_ISSUE: i64 = 131044;
    pub const SPAM_RATE_LIMIT: i64 = 131048;
    pub const TEMPORARILY_UNAVAILABLE: i64 = 2494100;
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
        API_UNKNOWN
        | API_SERVICE
        | TOO_MANY_CALLS
        | USER_REQUEST_LIMIT
        | APP_REQUEST_LIMIT
        | WABA_RATE_LIMIT
        | THROUGHPUT_REACHED
        | UNKNOWN_ERROR
        | SERVICE_UNAVAILABLE
        | PAIR_RATE
        | MAINTENANCE_MODE
        | SERVER_UNAVAILABLE
        | TEMPORARILY_UNAVAILABLE => ErrorClass::Retry,
        AUTH_EXCEPTION | API_METHOD | PERMISSION_DENIED | ACCESS_TOKEN_EXPIRED | ACCOUNT_RESTRICTED | ACCOUNT_LOCKED
        | BUSINESS_ELIGIBILITY | PAYMENT_ISSUE | SPAM_RATE_LIMIT => ErrorClass::PauseLane,
        c if PERMISSIONS.contains(&c) => ErrorClass::PauseLane,
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
        for retry in [1, 2, 4, 17, 341, 80007, 131000, 131016, 131057, 133004, 2494100] {
            assert_eq!(classify_error(retry), ErrorClass::Retry, "{retry}");
        }
        for pause in [0, 3, 10, 190, 200, 250, 299, 368, 131031, 131042, 131044, 131048] {
            assert_eq!(classify_error(pause), ErrorClass::PauseLane, "{pause}");
        }
        for permanent in [100, 131008, 131009, 131026, 131050, 132000, 300] {
            assert_eq!(classify_error(permanent), ErrorClass::Permanent, "{permanent}");
        }
    }
}
