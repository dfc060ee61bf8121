//! The seam between the outbox and the features whose sends it carries: the outbox reports each
//! send's outcome here, in the transaction that records it, and each feature keeps its own
//! tables in step (a broadcast's recipients, a conversation's message, a contact's last
//! outbound time, a number that can no longer send). The outbox knows none of them; `AppState` lists the listeners.

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use switchboard_shared::api::Event;

use crate::error::Result;

/// What came of one send, as the features see it.
#[derive(Debug, Clone, Copy)]
pub enum SendOutcome<'a> {
    /// Meta accepted the send; `wamid` when its answer named the message.
    Accepted {
        key: &'a str,
        number_id: &'a str,
        /// The conversation message it carries, for a reply or an automatic message.
        message_id: Option<i64>,
        /// The person it went to (not for a group or a mark-as-read).
        recipient: Option<&'a str>,
        /// Whether it is one recipient of a broadcast.
        broadcast: bool,
        wamid: Option<&'a str>,
    },
    /// Meta refused it for good (not a retry).
    Failed { key: &'a str, number_id: &'a str, message_id: Option<i64>, broadcast: bool, code: Option<i64>, title: &'a str },
    /// A send whose answer was lost turned out, from its status webhook, to have gone out as
    /// `wamid`: the message it carries learns its id.
    Settled { message_id: i64, wamid: &'a str },
    /// Nothing more can be sent through the number until someone acts (a revoked token, a
    /// blocked account): its sends wait, and the number should say why.
    NumberStopped { number_id: &'a str, reason: &'a str },
}

/// A feature that keeps its tables in step with its sends' outcomes.
pub trait OutcomeListener: Send + Sync {
    /// Applies a batch of outcomes inside the recorder's transaction, appending any live
    /// events to `events` (published after the commit).
    fn record<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        outcomes: &'a [SendOutcome<'a>],
        at: i64,
        events: &'a mut Vec<Event>,
    ) -> BoxFuture<'a, Result<()>>;
}
