//! ftp-get: download files over FTP or FTPS. See `ftp-get --help` and man/ftp-get.1.

use posthaste::cli::ftp_get::{Args, run};
use posthaste::cli::run::parse_args;
use std::process::ExitCode;

fn main() -> ExitCode {
    match parse_args::<Args>("ftp-get") {
        Ok(args) => run(args),
        Err(code) => code,
    }
}
