//! What the FTP tools (ftp-get, ftp-put, ftp-ls) share on the command line: the connection
//! settings built from the common flags, the login for a server, warnings from callbacks.

use super::common::{ConnArgs, CredArgs, NetArgs, OutputArgs};
use super::credentials;
use super::progress::CliEvents;
use super::report::Reporter;
use crate::error::Result;
use crate::ftp::client::FtpOptions;
use crate::jobs::ftp_get::LoginFor;
use crate::net::url::{Scheme, Target};
use crate::session::{Credentials, Secret};

/// What the FTP tools say before they connect: that `--insecure` verifies nothing.
pub fn before_connecting(net: &NetArgs<OutputArgs>, report: &Reporter) {
    net.tls.warn_insecure(report);
}

/// Runs a transfer job (ftp-get's, ftp-put's) once [`before_connecting`] is said: `job` gets
/// the login for each server ([`ftp_login`]) and the progress display, which ends with the
/// run's total when it moved several files.
pub fn run_job(
    net: &NetArgs<OutputArgs>,
    report: &mut Reporter,
    job: impl FnOnce(&mut LoginFor<'_>, &mut CliEvents<'_>),
) {
    before_connecting(net, report);
    let warn = report.warner();
    let mut login_for = |t: &Target| ftp_login(t, &net.creds, &warn);
    let mut events = CliEvents::new(report, net.output.progress);
    job(&mut login_for, &mut events);
    events.say_total("file");
}

/// The FTP connection settings shared by the FTP tools.
pub fn ftp_options(
    net: &NetArgs<OutputArgs>,
    report: &Reporter,
    targets: &[Target],
    active: bool,
    ascii: bool,
) -> Result<FtpOptions> {
    let implicit = targets.iter().any(|t| t.scheme == Scheme::Ftps);
    Ok(FtpOptions {
        session: net.session(implicit, net.output.verbose, report)?,
        active,
        ascii,
    })
}

/// The login for an FTP server: a named user needs a password; no user is anonymous, and
/// so are `anonymous` and `ftp`, whose password (an e-mail address, RFC 1635) is no secret.
pub fn ftp_login(target: &Target, creds: &CredArgs, warn: &dyn Fn(&str)) -> Result<Credentials> {
    let Some(user) = credentials::user_name(target, creds)? else {
        return Ok(Credentials::anonymous());
    };
    if user == "anonymous" || user == "ftp" {
        let password = target.password.as_deref().unwrap_or("anonymous@");
        return Ok(Credentials {
            user,
            secret: Secret::Password(password.to_string()),
            ..Credentials::anonymous()
        });
    }
    credentials::password_warn(target, &user, creds, &mut |w| warn(w))
}

/// `--parallel N`: 1 to 64 connections.
pub fn parse_parallel(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{text}': --parallel takes a number of connections from 1 to 64"
        )),
    }
}

/// The transfer flags ftp-get and ftp-put share: the data connection's mode, ASCII,
/// parallel connections and a rate limit.
#[derive(clap::Args, Debug, Clone)]
pub struct TransferArgs {
    /// Active mode: the server connects to us (EPRT, falling back to PORT)
    #[arg(long)]
    pub active: bool,

    /// ASCII transfers (TYPE A): line endings converted; no size check
    #[arg(long)]
    pub ascii: bool,

    /// Transfer N files at once, over N logged-in connections (plus one that lists the
    /// folders, or makes them)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_parallel)]
    pub parallel: usize,
    /// Move at most RATE bytes per second over all connections together (500K, 2M, 1G:
    /// powers of 1024)
    #[arg(long, value_name = "RATE", value_parser = crate::parallel::parse_rate)]
    pub limit_rate: Option<u64>,
}

impl TransferArgs {
    /// The FTP connection settings for `targets`, with these flags.
    pub fn ftp_options(
        &self,
        net: &NetArgs<OutputArgs>,
        report: &Reporter,
        targets: &[Target],
    ) -> Result<FtpOptions> {
        let mut ftp = ftp_options(net, report, targets, self.active, self.ascii)?;
        self.fit_speed_limit(&mut ftp.session.connect, &net.conn);
        Ok(ftp)
    }

    /// With `--limit-rate`, the run is slow on purpose (and each of `--parallel`
    /// connections gets a share of the rate): the default `--speed-limit` does not apply,
    /// one given on the command line does.
    fn fit_speed_limit(&self, connect: &mut crate::net::ConnectOptions, conn: &ConnArgs) {
        if self.limit_rate.is_some() && conn.speed_limit.is_none() {
            connect.min_rate = None;
        }
    }

    /// The shared token bucket of `--limit-rate`, if any.
    pub fn limit(&self) -> Option<std::sync::Arc<crate::parallel::RateLimit>> {
        self.limit_rate
            .map(|r| std::sync::Arc::new(crate::parallel::RateLimit::new(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        conn: ConnArgs,
        #[command(flatten)]
        speed: TransferArgs,
    }

    fn min_rate(args: &[&str]) -> Option<u64> {
        let f = Flags::parse_from(std::iter::once("t").chain(args.iter().copied()));
        let mut o = f.conn.options().unwrap();
        f.speed.fit_speed_limit(&mut o, &f.conn);
        o.min_rate.map(|r| r.bytes_per_sec)
    }

    #[test]
    fn a_rate_limit_turns_the_default_speed_limit_off() {
        assert_eq!(min_rate(&[]), Some(100));
        assert_eq!(min_rate(&["--limit-rate", "1K", "--parallel", "16"]), None);
        assert_eq!(
            min_rate(&["--limit-rate", "1K", "--speed-limit", "10"]),
            Some(10)
        );
        assert_eq!(min_rate(&["--speed-limit", "0"]), None);
    }
}
