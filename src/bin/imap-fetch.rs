//! imap-fetch: see `imap-fetch --help` and man/imap-fetch.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::imap_fetch::ImapFetch>()
}
