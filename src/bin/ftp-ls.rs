//! ftp-ls: see `ftp-ls --help` and man/ftp-ls.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::ftp_ls::FtpLs>()
}
