//! One module per page.

pub mod agents;
pub mod attachment;
pub mod audit;
pub mod automation;
pub mod broadcasts;
pub mod canned;
pub mod composer;
pub mod contacts;
pub mod conversation;
pub mod export;
pub mod groups;
pub mod inbox;
pub mod login;
pub mod numbers;
pub mod roles;
pub mod set_password;
pub mod supervisor;
pub mod template_reply;
