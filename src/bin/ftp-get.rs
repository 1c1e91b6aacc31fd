//! ftp-get: see `ftp-get --help` and man/ftp-get.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::ftp_get::FtpGet>()
}
