//! Flags every network tool shares (docs/CONVENTIONS.md, "Every tool has" and "TLS policy"),
//! flattened into each tool's clap definition so that they read the same everywhere.

use super::generated::GenerateArgs;
use crate::jobs::retry::RetryPolicy;
use crate::net::tls::{TlsContext, TlsMode, TlsOptions, TlsVersion};
use crate::net::{ConnectOptions, Family, MaxTime, MinRate};
use crate::session::SessionOptions;
use clap::{Args, ValueEnum, ValueHint};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How chatty a tool is on stderr.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Errors only: no progress bar, no notes
    // -q and -v may be repeated, and the last one given wins (curl, msmtp): an alias
    // or an account's setting is changed by adding one.
    #[arg(short, long, overrides_with_all = ["quiet", "verbose"])]
    pub quiet: bool,
    /// Show the protocol transcript on stderr (C:/S: lines; passwords are never shown)
    #[arg(short, long, overrides_with_all = ["verbose", "quiet"])]
    pub verbose: bool,
    /// Progress: auto draws a bar when stderr is a terminal, bar always, lines writes plain
    /// lines for a log, none nothing
    #[arg(long, value_enum, default_value_t = Progress::Auto, value_name = "WHEN")]
    pub progress: Progress,
}

/// `--progress`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// When stderr is a terminal and --quiet is not given
    #[default]
    Auto,
    /// Always (unless --quiet)
    Bar,
    /// A plain line per file at each tenth of it or every 10 s, and one when it is done: for
    /// logs (CI), with no cursor codes (wget's --progress=dot)
    Lines,
    /// Never
    None,
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
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub cacert: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (sha256:HEX), or
    /// those with this public key (sha256//BASE64 of its SubjectPublicKeyInfo, as curl's
    /// --pinnedpubkey; several separated by ;), whoever signed it
    #[arg(long, value_name = "PIN")]
    pub pin: Option<String>,
    /// Do not verify the server certificate at all (says so on stderr)
    #[arg(long)]
    pub insecure: bool,
    /// Present this client certificate (PEM, leaf first), with the private key the file
    /// holds unless --key names another; mail tools then log in with SASL EXTERNAL when no
    /// password is given
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM, unencrypted; must not be readable by group or others)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Check the server's certificate against NAME (and send NAME as SNI) instead of the
    /// host connected to
    #[arg(long, value_name = "NAME", value_hint = ValueHint::Hostname)]
    pub tls_server_name: Option<String>,
    /// The oldest TLS version to use [default: 1.2]
    #[arg(long, value_enum, value_name = "VERSION")]
    pub tls_min: Option<TlsVersionArg>,
    /// The newest TLS version to use [default: 1.3]
    #[arg(long, value_enum, value_name = "VERSION")]
    pub tls_max: Option<TlsVersionArg>,
}

/// `--tls-min`, `--tls-max`: the TLS versions rustls speaks.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersionArg {
    #[value(name = "1.2")]
    V1_2,
    #[value(name = "1.3")]
    V1_3,
}

impl From<TlsVersionArg> for TlsVersion {
    fn from(v: TlsVersionArg) -> TlsVersion {
        match v {
            TlsVersionArg::V1_2 => TlsVersion::V1_2,
            TlsVersionArg::V1_3 => TlsVersion::V1_3,
        }
    }
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
            cert: self.cert.clone(),
            key: self.key.clone(),
            server_name: self.tls_server_name.clone(),
            min_version: self.tls_min.map(TlsVersion::from),
            max_version: self.tls_max.map(TlsVersion::from),
        }
    }

    /// The policy, and the context with the trust asked for wherever TLS may be used: unless
    /// `--tls none`, and always where the URL's scheme (`implicit`) is TLS from the first
    /// byte. A client certificate with `--tls none` on a plaintext scheme is refused (64):
    /// it would never be presented.
    pub fn context(&self, implicit: bool) -> Result<(TlsMode, Option<TlsContext>), crate::Error> {
        let opts = self.options();
        let tls = if opts.mode != TlsMode::None || implicit {
            Some(TlsContext::new(&opts)?)
        } else if opts.cert.is_some() {
            return Err(crate::Error::new(
                crate::error::Kind::Usage,
                "--cert needs TLS, and --tls none never uses it",
            ));
        } else {
            None
        };
        Ok((opts.mode, tls))
    }

    /// `--insecure` says so on stderr, once a run.
    pub fn warn_insecure(&self, report: &super::report::Reporter) {
        if self.insecure {
            report.warn("--insecure: server certificates are not verified");
        }
    }
}

/// Connecting, waiting and retrying.
#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Give up when connecting (TCP, TLS and the greeting together), or any one reply from the
    /// server, takes longer than DURATION (90, 500ms, 30s, 2m, 1h; a bare number is seconds)
    /// [default: 30s to connect, 2m a reply]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, value_hint = ValueHint::Other, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,
    /// Retry transient failures (exit 75 class, broken connections) N times (0 to 100), waiting
    /// 1, 2, 4... s (at most 60 s) between tries
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_retries, value_hint = ValueHint::Other, allow_hyphen_values = true)]
    pub retries: u32,
    /// Give up the whole run after DURATION, whatever it is waiting for on the network
    /// (a connect, a reply, a transfer, a retry) [default: no limit]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, value_hint = ValueHint::Other, allow_hyphen_values = true)]
    pub max_time: Option<Duration>,
    /// Give up a transfer (a download, an upload, a listing, a message) that moves less than
    /// BYTES per second (512, 2k, 1M) over --speed-time; 0 turns this off [default: 100]
    #[arg(long, value_name = "BYTES", value_parser = parse_size, value_hint = ValueHint::Other, allow_hyphen_values = true)]
    pub speed_limit: Option<u64>,
    /// How long a transfer may stay under --speed-limit before it is given up [default:
    /// 30s, or --timeout when that is shorter]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, value_hint = ValueHint::Other, allow_hyphen_values = true)]
    pub speed_time: Option<Duration>,
    /// Use IPv4 addresses only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 addresses only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

/// `--speed-limit`'s default: far below any real link (a 2G phone moves 5 KB/s), far above a
/// server that drips a byte at a time to hold the run (and an account's lock) open.
pub const DEFAULT_SPEED_LIMIT: u64 = 100;
/// `--speed-time`'s default, as curl's, unless `--timeout` is shorter.
pub const DEFAULT_SPEED_TIME: Duration = Duration::from_secs(30);

impl ConnArgs {
    pub fn options(&self) -> Result<ConnectOptions, crate::Error> {
        let mut o = ConnectOptions::default();
        if let Some(d) = self.timeout {
            o.connect_timeout = d;
            o.idle_timeout = d;
        }
        o.max_time = self.max_time();
        o.min_rate = match self.speed_limit.unwrap_or(DEFAULT_SPEED_LIMIT) {
            0 => None,
            bytes_per_sec => Some(MinRate {
                bytes_per_sec,
                window: self
                    .speed_time
                    .unwrap_or_else(|| DEFAULT_SPEED_TIME.min(o.idle_timeout)),
            }),
        };
        o.proxies = std::sync::Arc::new(self.proxy.proxies()?);
        o.family = if self.ipv4 {
            Family::V4
        } else if self.ipv6 {
            Family::V6
        } else {
            Family::Any
        };
        Ok(o)
    }

    /// `--max-time`, counted from the run's start (the first call).
    pub fn max_time(&self) -> Option<MaxTime> {
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        self.max_time.map(|total| MaxTime {
            end: start + total,
            total,
        })
    }

    /// `--retries`, none of them past `--max-time`.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.retries).until(self.max_time().map(|m| m.end))
    }
}

/// Parses a duration: a number with an optional unit, `ms`, `s`, `m` or `h` (a bare number
/// is seconds, as curl's `--connect-timeout` takes it), from 1 ms to 30 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let allowed =
        "a number of seconds, or a number with ms, s, m or h (500ms, 30s, 2m), from 1ms to 30 days";
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("must be {allowed}")),
    };
    let value: f64 = num.parse().map_err(|_| format!("must be {allowed}"))?;
    let secs = value * scale;
    if !(secs.is_finite() && (0.001..=30.0 * 86_400.0).contains(&secs)) {
        return Err(format!("must be {allowed}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A size in bytes (`--max-size`, `--speed-limit`), or with a k, M or G suffix (powers of
/// 1024).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (num, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            "must be a whole number of bytes, optionally with k, M or G (512k, 10M)".into()
        })
}

/// Parses `--retries`: a whole number from 0 to 100.
pub fn parse_retries(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err("must be a whole number from 0 to 100".into()),
    }
}

/// The flags every network tool ends with, in this order: the login, TLS, the connection,
/// what it says on stderr (`O`: [`OutputArgs`], or a tool's own) and `--generate`.
#[derive(Args, Debug, Clone)]
pub struct NetArgs<O: Args> {
    #[command(flatten)]
    pub account: AccountArgs,
    #[command(flatten)]
    pub creds: CredArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub output: O,
    #[command(flatten)]
    pub generate: GenerateArgs,
}

impl<O: Args> NetArgs<O> {
    /// How to open a session: the connection flags, the TLS policy with its context
    /// (`implicit`: the URL's scheme is TLS from the first byte), and the transcript on
    /// stderr when `verbose`.
    pub fn session(
        &self,
        implicit: bool,
        verbose: bool,
        report: &super::report::Reporter,
    ) -> Result<SessionOptions, crate::Error> {
        let (tls_mode, tls) = self.tls.context(implicit)?;
        Ok(SessionOptions {
            connect: self.conn.options()?,
            tls_mode,
            tls,
            transcript: report.transcript(verbose),
        })
    }
}

/// Where settings come from: the config file and its accounts (docs/CONVENTIONS.md, "Config
/// file and accounts"). Read by src/cli/account.rs before the command line is parsed for
/// good; the tools themselves never look at them.
#[derive(Args, Debug, Clone, Default)]
pub struct AccountArgs {
    /// Take what the command line leaves out (the server, the user, the secret, TLS, the
    /// tool's own flags) from account NAME, [accounts.NAME] of the config file [default: its
    /// default account]
    #[arg(short = 'a', long = "account", value_name = "NAME", value_hint = ValueHint::Other)]
    pub account: Vec<String>,
    /// Read the config file FILE [default: $XDG_CONFIG_HOME/posthaste/config.toml]
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
}

/// Where the user name and password come from (docs/CONVENTIONS.md, "Credentials").
#[derive(Args, Debug, Clone, Default)]
pub struct CredArgs {
    /// Log in as NAME (overrides the URL's user)
    #[arg(long, value_name = "NAME", value_hint = ValueHint::Other)]
    pub user: Option<String>,
    /// Read the password from the first line of FILE (must not be readable by group or others)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub password_file: Option<PathBuf>,
    /// Take the password from the environment variable VAR
    #[arg(long, value_name = "VAR", value_hint = ValueHint::Other)]
    pub password_env: Option<String>,
    /// Run CMD with sh -c and take the first line it prints as the password (pass, gpg -d,
    /// secret-tool lookup, op read...); it fails (77) when CMD fails, prints nothing or takes
    /// over 60 s
    #[arg(long, value_name = "CMD", value_hint = ValueHint::CommandString)]
    pub password_cmd: Option<String>,
    /// Read credentials from this netrc file instead of $NETRC or ~/.netrc, and let its entry
    /// for the host name the user too (curl's -n)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with = "no_netrc")]
    pub netrc_file: Option<PathBuf>,
    /// Do not read any netrc file
    #[arg(long)]
    pub no_netrc: bool,
}

/// `--proxy` and `--noproxy`, curl's (docs/CONVENTIONS.md, "Proxies").
#[derive(Args, Debug, Clone, Default)]
pub struct ProxyArgs {
    /// Connect through this proxy: socks5h://HOST:PORT (the proxy resolves names),
    /// socks5://HOST:PORT (names resolved here) or http://HOST:PORT (CONNECT), a login as
    /// USER:PASSWORD@ before HOST; "" for none, whatever the environment says [default:
    /// $SCHEME_proxy, else $ALL_PROXY]
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub proxy: Option<String>,
    /// Connect directly to these hosts: a comma-separated list of names, domains (example.com
    /// also covers mail.example.com) and IP addresses (with /BITS); * for every host
    /// [default: $NO_PROXY]
    #[arg(long, value_name = "LIST", value_hint = ValueHint::Other)]
    pub noproxy: Option<String>,
}

impl ProxyArgs {
    /// The proxies these flags and the environment give.
    pub fn proxies(&self) -> Result<crate::net::proxy::Proxies, crate::Error> {
        crate::net::proxy::Proxies::new(self.proxy.as_deref(), self.noproxy.as_deref(), |name| {
            std::env::var(name).ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_refuse_nonsense() {
        let ok = |t: &str| parse_duration(t).unwrap();
        assert_eq!(ok("90"), Duration::from_secs(90));
        assert_eq!(ok("2.5"), Duration::from_millis(2500));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        for bad in [
            "", "1e-10", "0", "-1", "nan", "inf", "5x", "m", "31d", "1e9", "0.0001",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("from 1ms to 30 days"), "{bad}: {e}");
        }
        assert_eq!(parse_retries("3"), Ok(3));
        assert!(parse_retries("-1").is_err() && parse_retries("101").is_err());
    }

    #[test]
    fn sizes_take_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("x").is_err() && parse_size("-1").is_err() && parse_size("").is_err());
    }
}
