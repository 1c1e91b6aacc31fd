//! Small helpers that belong to no protocol, one module per job: digests, the calendar, the
//! host name, line-ending conversion, and files replaced whole.

pub mod calendar;
pub mod crlf;
pub mod digest;
pub mod durable;
pub mod host;

/// A new, empty folder for a test, named after `tag` and unlike any other test's or run's.
#[cfg(test)]
pub(crate) fn test_folder(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ph-{tag}-{}", crate::deliver::unique_stem()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
