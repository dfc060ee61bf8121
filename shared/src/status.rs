//! The life of an outbound message, ordered so that a status can only move forward.

use serde::{Deserialize, Serialize};

/// Delivery status of a message. `Failed` is terminal; the others are ordered
/// `Pending < Accepted < Sent < Delivered < Read`, and an update that would move a message
/// backwards (webhooks arrive out of order) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Queued in our outbox, not yet accepted by Meta.
    Pending,
    /// Meta answered 200 with a wamid.
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    /// Position in the forward-only order; `Failed` outranks everything.
    pub fn rank(self) -> i64 {
        match self {
            MessageStatus::Pending => 0,
            MessageStatus::Accepted => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered => 3,
            MessageStatus::Read => 4,
            MessageStatus::Failed => 9,
        }
    }

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Accepted => "accepted",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Failed => "failed",
        }
    }

    /// Parses Meta's or our spelling; `played` (first play of a voice note) counts as read.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MessageStatus::Pending,
            "accepted" => MessageStatus::Accepted,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "read" | "played" => MessageStatus::Read,
            "failed" => MessageStatus::Failed,
            _ => return None,
        })
    }

    /// Whether moving from `self` to `next` is progress. `Failed` is terminal, and nothing
    /// moves to a lower rank.
    pub fn advances_to(self, next: MessageStatus) -> bool {
        self != MessageStatus::Failed && next.rank() > self.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;

    #[test]
    fn status_only_moves_forward_and_failed_is_terminal() {
        assert!(Sent.advances_to(Delivered));
        assert!(Accepted.advances_to(Read));
        assert!(!Read.advances_to(Delivered));
        assert!(!Delivered.advances_to(Sent));
        assert!(Delivered.advances_to(Failed));
        assert!(!Failed.advances_to(Read));
        assert_eq!(super::MessageStatus::parse("played"), Some(Read));
        assert_eq!(super::MessageStatus::parse("deleted"), None);
    }
}
