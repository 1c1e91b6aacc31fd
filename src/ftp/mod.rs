//! FTP and FTPS: the protocol client, its pure parsers, and the download logic of ftp-get.

pub mod client;
pub mod parse;
pub mod reply;

pub use crate::session::Credentials;
pub use client::{FtpClient, FtpOptions};
pub mod list;

use crate::net::url::Target;

/// `items` grouped by server and login (one control connection each), in the order in which
/// servers first appear, each group in the items' own order.
pub fn by_session<T>(items: &[T], target: impl Fn(&T) -> &Target) -> Vec<Vec<&T>> {
    let mut groups: Vec<Vec<&T>> = Vec::new();
    for item in items {
        match groups
            .iter_mut()
            .find(|g| target(g[0]).same_session(target(item)))
        {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}
