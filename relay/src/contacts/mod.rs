//! Contacts as a marketing list: CSV import (column mapping, E.164, merging, rejected rows,
//! progress), tags, consent, the opt-out keywords, saved segments and export.
//!
//! An accepted import is stored (file and mapping) before the answer, so it is never lost: one
//! that a stopped relay left unfinished runs again at start. It parses the whole file first,
//! then writes every accepted row and marks itself finished in one transaction: either all of
//! them are saved or, if the database refuses, none, and the job says why.
//! Rows that cannot be imported are never dropped silently: each is in the rejected-rows CSV
//! with its line number and reason.
//!
//! `http` holds the list, changes and export; `import`, `segments` and `opt_out` their parts of
//! the Contacts page; `store` the contacts and contact_imports tables.

mod http;
mod import;
mod opt_out;
mod segments;
mod store;

pub use http::*;
pub use import::*;
pub use opt_out::*;
pub use segments::*;
pub use store::{add_contact, heard_from, load_all, opt_out, seen_in_groups, Heard, NewContact, SendListener};
