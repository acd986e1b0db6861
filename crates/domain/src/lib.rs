//! The users registry's rules, free of any platform: what a valid registration is, how pages
//! of users are counted and linked, and what a registration token is.
//!
//! Everything here is plain Rust with native unit tests; the Spin components only move data
//! between HTTP, storage and these types.

#![warn(missing_docs)]

pub mod deadline;
pub mod fields;
pub mod paging;
pub mod photo_file;
pub mod registration;
pub mod secret;
pub mod token;

pub use fields::FieldErrors;
