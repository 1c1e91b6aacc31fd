//! Small helpers that belong to no protocol, one module per job: digests, the calendar, the
//! host name, line-ending conversion, and files replaced whole.

pub mod calendar;
pub mod crlf;
pub mod digest;
pub mod durable;
pub mod host;
