//! smtp-send: see `smtp-send --help` and man/smtp-send.1.

fn main() -> std::process::ExitCode {
    posthaste::cli::tool::main::<posthaste::cli::smtp_send::SmtpSend>()
}
