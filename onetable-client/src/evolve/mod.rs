//! Serving while the design evolves. An entity changed in place (same keys, another
//! form) is served by the table itself once the earlier form is registered
//! ([`TableBuilder::upgrade`](crate::TableBuilder::upgrade)): reads convert, writes
//! upgrade first. A re-key moves items to other keys, so reading needs both: [`Rekey`].

mod rekey;

pub use rekey::Rekey;
