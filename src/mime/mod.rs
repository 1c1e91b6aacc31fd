//! mime-pack's library half: composes a MIME message (RFC 5322, 2045-2049, 2047, 2183, 2231)
//! from flag values and files. Every body streams through fixed-size buffers, so memory use
//! does not depend on the size of the attachments. Nothing here prints or exits.

pub(crate) mod base64;
pub(crate) mod boundary;
pub(crate) mod date;
pub(crate) mod header;
pub mod message;
pub mod output;
pub(crate) mod qp;
pub(crate) mod scan;
pub(crate) mod source;
pub(crate) mod text;

pub use scan::{Encoding, TextChoice, TextStats};
pub use source::Input;

/// The line ending written between lines of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    /// `\n`: the Unix pipe convention (smtp-send canonicalises).
    Lf,
    /// `\r\n`: RFC 5322 canonical form.
    CrLf,
}

impl Eol {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Eol::Lf => b"\n",
            Eol::CrLf => b"\r\n",
        }
    }
}

/// Size of every read from an input: 1024 base64 lines of 57 bytes, so that each chunk
/// encodes to whole 76-column lines.
pub const CHUNK: usize = base64::LINE_BYTES * 1024;
