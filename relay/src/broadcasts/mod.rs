//! Broadcasts: a template to a frozen audience, through the outbox and the numbers' lanes.
//!
//! Exactly once falls out of the structure. When a broadcast starts, one transaction marks it
//! running, freezes its audience into `broadcast_recipients` (one row per contact, primary key
//! (broadcast, contact)) and queues one outbox row per recipient with the idempotency key
//! `bc:<broadcast>:<contact>`. The key is unique in the outbox and travels to Meta as
//! `biz_opaque_callback_data`, so no path can queue a second send to the same person, and a send
//! whose outcome a crash hid is settled by its status webhook before it could be retried. A
//! crash during the freeze rolls the whole freeze back and the scheduler starts it again.
//!
//! Pacing is the lanes' job (throughput, pair rate, the portfolio's messaging limit, live
//! sends first); pause and resume only change the broadcast's state, which the lanes read when
//! they claim rows; cancel withdraws the rows still queued.
//!
//! `http` holds the handlers, `freeze` the start, `scheduler` the clock, `store` the tables.

mod freeze;
mod http;
mod scheduler;
mod store;

pub use freeze::*;
pub use http::*;
pub use scheduler::*;
pub use store::{
    apply_statuses, awaiting_reply, count_reply, key, load, pause_for_low_quality, Progress, SendListener, KEY_PREFIX, LOW_QUALITY,
};
