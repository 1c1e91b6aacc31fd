//! ftp-put: see `ftp-put --help` and man/ftp-put.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::ftp_put::FtpPut>()
}
