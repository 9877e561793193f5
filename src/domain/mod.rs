//! The pure core: no I/O, no clock. Everything that decides lives here and takes the
//! time it needs as a parameter.

pub mod checklist;
pub mod command;
pub mod customer;
pub mod i18n;
pub mod slug;
pub mod template;
