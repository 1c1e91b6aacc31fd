//! mime-pack: build a MIME message with attachments, streaming. See `mime-pack --help`.

use posthaste::cli::mime_pack::{Args, run};
use posthaste::cli::run::{Reporter, finish, parse_args};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match parse_args::<Args>("mime-pack") {
        Ok(a) => a,
        Err(code) => return code,
    };
    finish(Reporter::new("mime-pack"), run(args))
}
