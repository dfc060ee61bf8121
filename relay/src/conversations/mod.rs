//! The shared inbox: conversations across all numbers, their messages, replies, assignment and
//! labels. `http` holds the handlers, `store` the conversations table and its model.

pub mod export;
mod http;
mod store;

pub use store::{
    add_automatic, advance, assign as set_assignee, has_message, learn_wamid, load_conversation, receive, recent, rename,
    requeue_conversations_of, Incoming, SendListener,
};

pub use http::*;
