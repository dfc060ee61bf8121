//! One module per page.

pub mod inbox;
pub mod login;
pub mod numbers;
