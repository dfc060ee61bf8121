//! Wire types and pure logic shared by the relay, the sandbox and the console.
//!
//! Nothing here does I/O, so every piece builds for both the server and WebAssembly, and both
//! sides parse the same bytes with the same code.

pub mod access;
pub mod api;
pub mod broadcast;
pub mod groups;
pub mod limits;
pub mod media;
pub mod numbers;
pub mod segment;
pub mod signature;
pub mod status;
pub mod support;
pub mod wire;

pub use status::MessageStatus;
