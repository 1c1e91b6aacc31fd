//! Flags every network tool shares (docs/CONVENTIONS.md, "Every tool has" and "TLS policy"),
//! flattened into each tool's clap definition so that they read the same everywhere.

use crate::net::tls::{TlsMode, TlsOptions};
use crate::net::{ConnectOptions, Family};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// How chatty a tool is on stderr.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Errors only: no progress bar, no notes
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsArg {
    /// Use TLS whenever the server offers it; never send a password in cleartext
    #[default]
    Auto,
    /// Fail (exit 69) when the server does not offer TLS
    Required,
    /// Never use TLS (passwords are sent in cleartext)
    None,
}

/// TLS policy and trust.
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// TLS policy: auto upgrades whenever offered, required fails without TLS, none never uses it
    #[arg(long, value_enum, default_value_t = TlsArg::Auto, value_name = "MODE")]
    pub tls: TlsArg,
    /// Also trust the certificates in this PEM file (a private CA, or a self-signed server)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX)
    #[arg(long, value_name = "sha256:HEX")]
    pub pin: Option<String>,
    /// Do not verify the server certificate at all (says so on stderr)
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    pub fn options(&self) -> TlsOptions {
        TlsOptions {
            mode: match self.tls {
                TlsArg::Auto => TlsMode::Auto,
                TlsArg::Required => TlsMode::Required,
                TlsArg::None => TlsMode::None,
            },
            cacert: self.cacert.clone(),
            pin: self.pin.clone(),
            insecure: self.insecure,
        }
    }
}

/// Connecting, waiting and retrying.
#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Give up when connecting (TCP, TLS and the greeting together), or any one reply from the
    /// server, takes longer than SECS, however slowly it trickles in
    /// [default: 30 s to connect, 120 s a reply]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Retry transient failures (exit 75 class, broken connections) N times, resuming
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Use IPv4 addresses only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 addresses only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

impl ConnArgs {
    pub fn options(&self) -> Result<ConnectOptions, crate::Error> {
        let mut o = ConnectOptions::default();
        if let Some(t) = self.timeout {
            if !(t.is_finite() && (0.001..1e9).contains(&t)) {
                return Err(crate::Error::new(
                    crate::error::Kind::Usage,
                    format!("--timeout {t}: must be a number of seconds from 0.001 to 999999999"),
                ));
            }
            let d = Duration::from_secs_f64(t);
            o.connect_timeout = d;
            o.idle_timeout = d;
        }
        o.family = if self.ipv4 {
            Family::V4
        } else if self.ipv6 {
            Family::V6
        } else {
            Family::Any
        };
        Ok(o)
    }
}

/// Where the user name and password come from (docs/CONVENTIONS.md, "Credentials").
#[derive(Args, Debug, Clone, Default)]
pub struct CredArgs {
    /// Log in as NAME (overrides the URL's user)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from the first line of FILE (must not be readable by group or others)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Take the password from the environment variable VAR
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Read credentials from this netrc file instead of $NETRC or ~/.netrc
    #[arg(long, value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,
}
