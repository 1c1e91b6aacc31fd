//! pop-fetch: see `pop-fetch --help` and man/pop-fetch.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::pop_fetch::PopFetch>()
}
