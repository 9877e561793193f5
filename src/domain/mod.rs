//! The pure core: no I/O, no clock. Everything that decides lives here and takes the
//! time it needs as a parameter.

pub mod calendar;
pub mod checklist;
pub mod command;
pub mod customer;
pub mod i18n;
pub mod policy;
pub mod sla;
pub mod slug;
pub mod template;
pub mod ticket;
