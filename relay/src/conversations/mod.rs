//! The shared inbox: conversations across all numbers, their messages, replies, assignment and
//! labels. `http` holds the handlers, `store` the conversations table and its model.

pub mod export;
mod http;
mod store;

pub use store::{
    activity_of, add_activity, add_automatic, add_outbound, advance, advance_all, assign_if as set_assignee_if, assignees, attachment_of,
    learn_wamid, load_conversation, next_snooze_end, receive, recent, rename, requeue_conversations_of, set_attachment, waiting,
    wake_snoozed, wamids_already_stored, Incoming, NewActivity, Received, SendListener, StatusChange,
};

pub use http::*;
