//! The shared inbox: conversations across all numbers, their messages, replies, assignment and
//! labels. `http` holds the handlers, `store` the conversations table and its model.

mod http;
pub mod store;

pub use http::*;
