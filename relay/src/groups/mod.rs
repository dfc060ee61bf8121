//! WhatsApp groups of the connected numbers: what webhooks told us of each (its subject and
//! invite link). `store` holds the groups table.

mod store;

pub use store::{remember, subject};
