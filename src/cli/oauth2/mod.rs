//! OAuth2 that stays alive without a browser (docs/CONVENTIONS.md, "OAuth2"): the
//! `--oauth2-*` flags (an account's `[accounts.NAME.oauth2]` keys), provider presets, the
//! token cache of an account ([`cache`]), the token endpoint over HTTPS ([`endpoint`]), the
//! first sign-in by the device authorization grant ([`device`], RFC 8628), and [`Source`],
//! the `Login` (`jobs::login`) that gives every connection a token valid for a while yet, refreshing it
//! (RFC 6749 section 6) and saving a rotated refresh token before the new access token is
//! used.

pub mod cache;
pub mod device;
pub mod endpoint;

use super::account;
use crate::error::{Error, Kind, Result};
use crate::jobs::login::Login;
use crate::net::tls::TlsContext;
use crate::session::{Credentials, Method};
use cache::{Cache, Tokens};
use clap::{Args, ValueHint};
use endpoint::{Answer, Endpoint, check_url};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// An access token with less than this left is refreshed before a connection uses it: time
/// for the connect, the login, and a clock a little off.
pub const MARGIN: Duration = Duration::from_secs(60);

/// The least a session lasts before it logs in again for a fresh token (imap-fetch
/// `--idle`): a token that comes with less than [`MARGIN`] to live (`expires_in` 0 or left
/// out) would otherwise have it log in, refresh and log in again without pause.
pub const MIN_SESSION: Duration = Duration::from_secs(10);

/// How long a run waits for another that holds the account's token cache (refreshing).
const CACHE_WAIT: Duration = Duration::from_secs(60);

/// The OAuth2 flags of the mail tools.
#[derive(Args, Debug, Clone, Default)]
pub struct OAuth2Args {
    /// Log in with OAuth2 through a provider's endpoints and scopes: microsoft (Microsoft
    /// 365, Outlook.com) or google (Gmail); --oauth2-client-id is still needed
    #[arg(long, value_name = "NAME", value_parser = ["microsoft", "google"])]
    pub oauth2_provider: Option<String>,
    /// Log in with OAuth2, refreshing tokens at this token endpoint (https://)
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub oauth2_token_endpoint: Option<String>,
    /// The device authorization endpoint, for --authorize (https://)
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub oauth2_device_authorization_endpoint: Option<String>,
    /// The OAuth2 client (application) id registered with the provider
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other)]
    pub oauth2_client_id: Option<String>,
    /// Read the OAuth2 client secret, if the client has one, from the first line of FILE
    /// (chmod 600)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub oauth2_client_secret_file: Option<PathBuf>,
    /// The scopes to ask for, separated by spaces (default: the provider's for the tool)
    #[arg(long, value_name = "SCOPE", value_hint = ValueHint::Other)]
    pub oauth2_scope: Option<String>,
    /// Start from the refresh token on the first line of FILE (chmod 600) while the token
    /// cache holds none
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub oauth2_refresh_token_file: Option<PathBuf>,
    /// Sign in once at a terminal (the OAuth2 device authorization grant: open the URL
    /// shown, enter the code), keep the tokens in the account's token cache, and exit
    #[arg(long)]
    pub authorize: bool,
}

/// The mail service a token is for, which picks the provider's scope, and its tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Smtp,
    Pop,
    Imap,
}

impl Service {
    /// The tool of the service, as messages name it.
    pub fn tool(self) -> &'static str {
        match self {
            Service::Smtp => "smtp-send",
            Service::Pop => "pop-fetch",
            Service::Imap => "imap-fetch",
        }
    }
}

/// A provider's endpoints and scopes.
struct Provider {
    token: &'static str,
    device: &'static str,
    scope: fn(Service) -> &'static str,
}

/// Microsoft identity platform (v2.0, the `common` tenant); Exchange Online's scopes, with
/// `offline_access` for a refresh token.
const MICROSOFT: Provider = Provider {
    token: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    device: "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
    scope: |s| match s {
        Service::Smtp => "https://outlook.office.com/SMTP.Send offline_access",
        Service::Pop => "https://outlook.office.com/POP.AccessAsUser.All offline_access",
        Service::Imap => "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    },
};

/// Google: one scope for IMAP, POP and SMTP. (Google's device flow does not grant it: a
/// first refresh token comes from elsewhere, docs/CONVENTIONS.md, "OAuth2".)
const GOOGLE: Provider = Provider {
    token: "https://oauth2.googleapis.com/token",
    device: "https://oauth2.googleapis.com/device/code",
    scope: |_| "https://mail.google.com/",
};

/// Where and as whom tokens are asked for: the flags, the provider's defaults under them.
#[derive(Clone)]
pub struct Config {
    pub token_endpoint: String,
    pub device_endpoint: Option<String>,
    pub client_id: String,
    client_secret: Option<String>,
    pub scope: Option<String>,
    /// A refresh token given once (the account's `refresh_token`,
    /// `--oauth2-refresh-token-file`), used while the cache holds none.
    initial_refresh: Option<String>,
}

impl OAuth2Args {
    /// Whether OAuth2 login is asked for: a provider or a token endpoint.
    pub fn wanted(&self) -> bool {
        self.oauth2_provider.is_some() || self.oauth2_token_endpoint.is_some()
    }

    /// The configuration for `service`, checked: 64 for what is missing or malformed.
    pub fn config(&self, service: Service) -> Result<Config> {
        let provider = match self.oauth2_provider.as_deref() {
            Some("microsoft") => Some(&MICROSOFT),
            Some("google") => Some(&GOOGLE),
            Some(other) => {
                return Err(Error::new(
                    Kind::Usage,
                    format!(
                        "--oauth2-provider {}: not a provider posthaste knows (microsoft, google)",
                        crate::wire::printable(other)
                    ),
                ));
            }
            None => None,
        };
        let token_endpoint = match (&self.oauth2_token_endpoint, provider) {
            (Some(url), _) => check_url("--oauth2-token-endpoint", url)?,
            (None, Some(p)) => p.token.to_string(),
            (None, None) => {
                return Err(Error::new(
                    Kind::Usage,
                    "OAuth2 needs --oauth2-token-endpoint URL or --oauth2-provider NAME",
                ));
            }
        };
        let device_endpoint = match (&self.oauth2_device_authorization_endpoint, provider) {
            (Some(url), _) => Some(check_url("--oauth2-device-authorization-endpoint", url)?),
            (None, Some(p)) => Some(p.device.to_string()),
            (None, None) => None,
        };
        let Some(client_id) = self.oauth2_client_id.clone() else {
            return Err(Error::new(
                Kind::Usage,
                "OAuth2 needs --oauth2-client-id ID (the id of the application registered with the provider)",
            ));
        };
        // A file flag wins over the account's literal, as every flag wins over the account.
        let selected = account::selected();
        let secret =
            |file: &Option<PathBuf>, flag: &str, what: &str, literal: Option<&String>| match file {
                Some(p) => super::credentials::read_secret_file(flag, p, what).map(Some),
                None => Ok(literal.cloned()),
            };
        let client_secret = secret(
            &self.oauth2_client_secret_file,
            "--oauth2-client-secret-file",
            "client secret",
            selected
                .as_ref()
                .and_then(|a| a.oauth2_client_secret.as_ref()),
        )?;
        let initial_refresh = secret(
            &self.oauth2_refresh_token_file,
            "--oauth2-refresh-token-file",
            "refresh token",
            selected
                .as_ref()
                .and_then(|a| a.oauth2_refresh_token.as_ref()),
        )?;
        let scope = self
            .oauth2_scope
            .clone()
            .or_else(|| provider.map(|p| (p.scope)(service).to_string()));
        Ok(Config {
            token_endpoint,
            device_endpoint,
            client_id,
            client_secret,
            scope,
            initial_refresh,
        })
    }
}

/// The command that signs in again: `pop-fetch --account work --authorize`, or without an
/// account, the run's own flags with `--authorize`.
pub fn fix_command(tool: &str) -> String {
    fix_for(tool, account::selected().map(|a| a.name.clone()).as_deref())
}

/// [`fix_command`] for the account `account`.
fn fix_for(tool: &str, account: Option<&str>) -> String {
    match account {
        Some(a) => format!(
            "`{tool} --account {} --authorize`",
            crate::wire::printable(a)
        ),
        None => format!("`{tool} --authorize` (with this run's --oauth2-* flags and URL)"),
    }
}

/// The `Login` (`jobs::login`) of an OAuth2 account: each connection gets the cached access token while it
/// has more than [`MARGIN`] left, else a fresh one from the refresh token.
pub struct Source {
    user: String,
    method: Method,
    config: Config,
    cache_path: PathBuf,
    endpoint: Endpoint,
    /// `pop-fetch` etc., for the command that fixes a lost consent.
    tool: String,
    /// When the token given last expires (Unix seconds).
    expires_at: Option<u64>,
    /// When it was given, for [`MIN_SESSION`].
    given_at: Option<std::time::Instant>,
}

/// What the tool needs to reach the token endpoint.
pub struct Reach<'a> {
    pub tls: &'a TlsContext,
    /// The run's timeouts, `--max-time` and proxies.
    pub net: &'a crate::net::ConnectOptions,
}

impl Source {
    /// The source for `user` (`method`: `--auth`), its cache the account's.
    pub fn new(
        tool: &str,
        user: &str,
        method: Method,
        config: Config,
        reach: &Reach<'_>,
    ) -> Result<Source> {
        if !crate::session::credentials::sendable(user) {
            return Err(crate::session::credentials::unsendable(
                "the login",
                "user name",
            ));
        }
        let home =
            crate::uidls::state_home(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))?;
        let name = account::selected().map(|a| a.name.clone());
        let cache_path = cache::path(
            &home,
            name.as_deref(),
            user,
            &config.token_endpoint,
            &config.client_id,
        );
        Ok(Source {
            user: user.to_string(),
            method,
            config,
            cache_path,
            endpoint: Endpoint::new(reach.tls, reach.net),
            tool: tool.to_string(),
            expires_at: None,
            given_at: None,
        })
    }

    /// The cache file.
    pub fn cache_path(&self) -> &std::path::Path {
        &self.cache_path
    }

    /// `--authorize`: the device authorization grant, `say` showing the user what to do;
    /// the tokens go to the cache.
    pub fn authorize(&mut self, say: &dyn Fn(&str)) -> Result<()> {
        let Some(device) = self.config.device_endpoint.clone() else {
            return Err(Error::new(
                Kind::Usage,
                "--authorize needs --oauth2-device-authorization-endpoint URL (or --oauth2-provider)",
            ));
        };
        let cache = Cache::lock(&self.cache_path, CACHE_WAIT)?;
        let what = format!("device authorization endpoint {device}");
        let mut form = vec![("client_id", self.config.client_id.as_str())];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope));
        }
        let secrets = self.secrets(&[]);
        let code = match self.endpoint.post(&what, &device, &form, &secrets)? {
            Answer::Granted(m) => device::DeviceCode::from_json(&what, &m)?,
            Answer::Refused(r) => {
                return Err(Error::new(
                    Kind::Auth,
                    format!("{what}: {}", r.said(&secrets)),
                ));
            }
        };
        say(&code.instructions());
        let fix = fix_command(&self.tool);
        let token_what = self.token_what();
        let granted = device::poll(
            &code,
            &fix,
            || {
                let mut form = self.client_form();
                form.push(("grant_type", "urn:ietf:params:oauth:grant-type:device_code"));
                form.push(("device_code", &code.device_code));
                self.endpoint
                    .post(&token_what, &self.config.token_endpoint, &form, &secrets)
            },
            std::thread::sleep,
        )?;
        let tokens = self.tokens_from(&token_what, &granted, None)?;
        cache.write(&tokens)?;
        say(&format!(
            "signed in: the tokens are kept in {}",
            self.cache_path.display()
        ));
        Ok(())
    }

    fn token_what(&self) -> String {
        format!("token endpoint {}", self.config.token_endpoint)
    }

    /// `client_id`, and `client_secret` when there is one (RFC 6749 section 2.3.1 allows
    /// it in the body, which every provider takes).
    fn client_form(&self) -> Vec<(&str, &str)> {
        let mut form = vec![("client_id", self.config.client_id.as_str())];
        if let Some(s) = &self.config.client_secret {
            form.push(("client_secret", s));
        }
        form
    }

    /// Every secret a message must never show: the client secret, the refresh tokens
    /// known, and `more`.
    fn secrets<'s>(&'s self, more: &[&'s str]) -> Vec<&'s str> {
        let mut s: Vec<&str> = more.to_vec();
        s.extend(self.config.client_secret.as_deref());
        s.extend(self.config.initial_refresh.as_deref());
        s
    }

    /// The cache's contents from a token answer; `old_refresh` is kept when the answer
    /// brings no new refresh token (RFC 6749 section 6: the server may keep it).
    fn tokens_from(
        &self,
        what: &str,
        m: &Map<String, Value>,
        old_refresh: Option<&str>,
    ) -> Result<Tokens> {
        let access = m
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::new(
                    Kind::Protocol,
                    format!("{what}: the answer has no access_token"),
                )
            })?;
        if !crate::session::credentials::sendable(access) {
            return Err(Error::new(
                Kind::Protocol,
                format!("{what}: the access token holds a CR, LF or NUL character"),
            ));
        }
        let expires_at = expires_at(cache::now(), m);
        // An empty one is none: it would replace the refresh token kept with nothing.
        let refresh = m
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .or(old_refresh)
            .map(str::to_string);
        Ok(Tokens {
            token_endpoint: self.config.token_endpoint.clone(),
            client_id: self.config.client_id.clone(),
            user: self.user.clone(),
            access_token: Some(access.to_string()),
            expires_at: Some(expires_at),
            refresh_token: refresh,
        })
    }

    /// A valid access token: the cache's, or a refreshed one (saved first).
    fn token(&mut self) -> Result<String> {
        let cache = Cache::lock(&self.cache_path, CACHE_WAIT)?;
        let kept = cache.read()?.filter(|t| self.owns(t));
        let now = cache::now();
        if let Some(t) = &kept {
            if let (Some(access), Some(at)) = (&t.access_token, t.expires_at) {
                if at > now + MARGIN.as_secs() {
                    self.expires_at = Some(at);
                    return Ok(access.clone());
                }
            }
        }
        let refresh = kept
            .and_then(|t| t.refresh_token)
            .or_else(|| self.config.initial_refresh.clone());
        let Some(refresh) = refresh else {
            return Err(Error::new(
                Kind::Auth,
                format!(
                    "OAuth2: no token for {} yet (token cache {}): sign in once at a terminal with {}",
                    self.user,
                    self.cache_path.display(),
                    fix_command(&self.tool)
                ),
            ));
        };
        let what = self.token_what();
        let secrets = self.secrets(&[&refresh]);
        let mut form = self.client_form();
        form.push(("grant_type", "refresh_token"));
        form.push(("refresh_token", &refresh));
        // Asking for the same scope again is optional (RFC 6749 section 6); Microsoft
        // wants it to mint a token for the right resource.
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope));
        }
        let granted =
            match self
                .endpoint
                .post(&what, &self.config.token_endpoint, &form, &secrets)?
            {
                Answer::Granted(m) => m,
                Answer::Refused(r) => return Err(self.endpoint_refusal(&what, &r, &secrets)),
            };
        let tokens = self.tokens_from(&what, &granted, Some(&refresh))?;
        // A rotated refresh token is durable before the access token is used: a crash
        // after this still has the one the server now expects.
        cache.write(&tokens)?;
        self.expires_at = tokens.expires_at;
        Ok(tokens.access_token.unwrap_or_default())
    }

    /// Whether the cache's tokens are this login's: the same endpoint, client and user. An
    /// account's cache is named by the account alone, and its user may change (the file
    /// edited, `--user` on the command line): another user's token is never sent, nor its
    /// refresh token spent, as this one's.
    fn owns(&self, t: &Tokens) -> bool {
        t.token_endpoint == self.config.token_endpoint
            && t.client_id == self.config.client_id
            && t.user == self.user
    }

    /// A refresh the token endpoint refused: a consent revoked or expired
    /// (`invalid_grant`) or a client it does not know is 77 with the command that fixes it;
    /// anything else 69.
    fn endpoint_refusal(&self, what: &str, r: &endpoint::Refusal, secrets: &[&str]) -> Error {
        let said = r.said(secrets);
        match r.error.as_str() {
            "invalid_grant" => Error::new(
                Kind::Auth,
                format!(
                    "{what}: the refresh token was refused ({said}): the consent was revoked or has expired; sign in again with {}",
                    fix_command(&self.tool)
                ),
            ),
            "invalid_client" | "unauthorized_client" => Error::new(
                Kind::Auth,
                format!(
                    "{what}: the client was refused ({said}): check --oauth2-client-id and the client secret"
                ),
            ),
            _ => Error::new(Kind::Unavailable, format!("{what}: {said}")),
        }
    }
}

/// When a token answer's access token expires, `now` being the time it came: `expires_in`
/// seconds later (a number, or a string as some servers send it). Without it, or with one
/// that is not a count of seconds (negative, fractional), the token serves the connection
/// it was fetched for; an absurd one (`1e19`) is the end of time, never an overflow that
/// would stop the run (or wrap, in a release build, to a token always expired).
pub(crate) fn expires_at(now: u64, m: &Map<String, Value>) -> u64 {
    let secs = m.get("expires_in").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    now.saturating_add(secs.unwrap_or(0))
}

impl Login for Source {
    fn user(&self) -> &str {
        &self.user
    }

    fn credentials(&mut self) -> Result<Credentials> {
        let token = self.token()?;
        self.given_at = Some(std::time::Instant::now());
        Ok(Credentials::token(&self.user, token).with_method(self.method))
    }

    fn refused(&mut self) {
        // The cached access token is dropped (its refresh token kept): the next connection
        // refreshes first. What cannot be done now (the cache busy or unwritable) leaves
        // the token to expire; the refusal is the error the run reports.
        self.expires_at = None;
        if let Ok(cache) = Cache::lock(&self.cache_path, CACHE_WAIT) {
            if let Ok(Some(mut t)) = cache.read().map(|t| t.filter(|t| self.owns(t))) {
                t.access_token = None;
                t.expires_at = None;
                let _ = cache.write(&t);
            }
        }
    }

    fn renew_in(&self) -> Option<Duration> {
        let at = self.expires_at?;
        let due = Duration::from_secs(at.saturating_sub(cache::now() + MARGIN.as_secs()));
        let lived = self.given_at.map_or(MIN_SESSION, |t| t.elapsed());
        Some(due.max(MIN_SESSION.saturating_sub(lived)))
    }
}

impl OAuth2Args {
    /// How the connections of `service`'s tool log in as `user` (`method`: `--auth`): from
    /// the OAuth2 account's token cache when these flags ask for OAuth2, else with the token
    /// in the variable `token_env`, else with the password (`cli::credentials`), found
    /// once for the run.
    pub fn login<O: Args>(
        &self,
        service: Service,
        target: &crate::net::url::Target,
        (user, method): (&str, Method),
        token_env: Option<&str>,
        net: &super::common::NetArgs<O>,
        warn: &dyn Fn(&str),
    ) -> Result<Box<dyn Login>> {
        if !self.wanted() {
            let cert = net.tls.cert.is_some();
            let creds = super::credentials::secret_for(
                target,
                user,
                &net.creds,
                token_env,
                (method, cert),
                warn,
            )?;
            return Ok(Box::new(creds));
        }
        if token_env.is_some() {
            return Err(Error::new(
                Kind::Usage,
                "--oauth2-token-env gives a token of its own: leave out --oauth2-provider and --oauth2-token-endpoint, or it",
            ));
        }
        if method == Method::Sasl(crate::session::sasl::Mechanism::External) {
            super::credentials::external_checked(true, net.tls.cert.is_some())?;
        }
        crate::session::credentials::suits(method, true)?;
        Ok(Box::new(source(service, self, user, method, net)?))
    }
}

/// The [`Source`] the flags describe.
fn source<O: Args>(
    service: Service,
    oauth2: &OAuth2Args,
    user: &str,
    method: Method,
    net: &super::common::NetArgs<O>,
) -> Result<Source> {
    let config = oauth2.config(service)?;
    // The token endpoint is always reached over verified TLS, whatever --tls says of the
    // mail server.
    let tls = endpoint_tls(&net.tls)?;
    let conn = net.conn.options()?;
    let reach = Reach {
        tls: &tls,
        net: &conn,
    };
    Source::new(service.tool(), user, method, config, &reach)
}

/// The TLS the token endpoint is reached with: the mail server's trust (`--cacert`,
/// `--insecure`) and versions, but nothing that names the mail server alone: `--pin` (one
/// certificate, the mail server's; the endpoint's is another, and was refused),
/// `--tls-server-name`, and the client certificate (`--cert`, `--key`), the mail server's
/// login, which the endpoint has no business seeing.
fn endpoint_tls(tls: &super::common::TlsArgs) -> Result<TlsContext> {
    let opts = crate::net::tls::TlsOptions {
        pin: None,
        cert: None,
        key: None,
        server_name: None,
        ..tls.options()
    };
    TlsContext::new(&opts)
}

impl OAuth2Args {
    /// `--authorize`: signs `user` in by the device authorization grant, at a terminal
    /// (what to do goes to stderr, whatever `-q` says), keeps the tokens, and ends the run.
    pub fn sign_in<O: Args>(
        &self,
        service: Service,
        user: &str,
        net: &super::common::NetArgs<O>,
        report: &super::report::Reporter,
    ) -> Result<()> {
        let tool = service.tool();
        if !self.wanted() {
            return Err(Error::new(
                Kind::Usage,
                "--authorize signs in with OAuth2: give --oauth2-provider NAME or --oauth2-token-endpoint URL (and --oauth2-client-id ID)",
            ));
        }
        let mut source = source(service, self, user, Method::Auto, net)?;
        source.authorize(&|line| report.stderr().line(&format!("{tool}: {line}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_not_given_the_mail_servers_pin_or_certificate() {
        let tls = super::super::common::TlsArgs {
            pin: Some(format!("sha256:{}", "ab".repeat(32))),
            cert: Some(PathBuf::from("/nonexistent/posthaste-test/client.pem")),
            key: Some(PathBuf::from("/nonexistent/posthaste-test/client.key")),
            tls_server_name: Some("mail.test".into()),
            ..Default::default()
        };
        // The mail server's context reads the certificate (66 here); the endpoint's never.
        assert_eq!(tls.context(true).err().unwrap().exit_code(), 66);
        let endpoint = endpoint_tls(&tls).unwrap();
        assert!(!endpoint.presents_certificate());
    }

    #[test]
    fn expires_in_is_read_without_overflow() {
        let at = |json: &str| expires_at(1000, &serde_json::from_str(json).unwrap());
        assert_eq!(at(r#"{"expires_in":3599}"#), 4599);
        assert_eq!(at(r#"{"expires_in":"3599"}"#), 4599);
        assert_eq!(at(r#"{}"#), 1000);
        assert_eq!(at(r#"{"expires_in":-5}"#), 1000);
        assert_eq!(at(r#"{"expires_in":"-5"}"#), 1000);
        assert_eq!(at(r#"{"expires_in":36.5}"#), 1000);
        assert_eq!(at(r#"{"expires_in":1e20}"#), 1000);
        assert_eq!(at(r#"{"expires_in":18446744073709551615}"#), u64::MAX);
        assert_eq!(at(r#"{"expires_in":"18446744073709551615"}"#), u64::MAX);
    }

    #[test]
    fn the_fix_names_the_account() {
        assert_eq!(
            fix_for("pop-fetch", Some("work")),
            "`pop-fetch --account work --authorize`"
        );
        assert_eq!(
            fix_for("smtp-send", None),
            "`smtp-send --authorize` (with this run's --oauth2-* flags and URL)"
        );
    }

    #[test]
    fn providers_fill_in_endpoints_and_scopes_and_a_client_id_is_needed() {
        let args = OAuth2Args {
            oauth2_provider: Some("microsoft".into()),
            oauth2_client_id: Some("cid".into()),
            ..OAuth2Args::default()
        };
        let c = args.config(Service::Imap).unwrap();
        assert_eq!(
            c.token_endpoint,
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            c.scope.as_deref(),
            Some("https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
        );
        let c = args.config(Service::Smtp).unwrap();
        assert_eq!(
            c.scope.as_deref(),
            Some("https://outlook.office.com/SMTP.Send offline_access")
        );
        let google = OAuth2Args {
            oauth2_provider: Some("google".into()),
            oauth2_scope: Some("own".into()),
            ..args.clone()
        };
        let c = google.config(Service::Pop).unwrap();
        assert_eq!(c.token_endpoint, "https://oauth2.googleapis.com/token");
        assert_eq!(c.scope.as_deref(), Some("own"), "--oauth2-scope wins");
        let no_id = OAuth2Args {
            oauth2_client_id: None,
            ..args
        };
        assert_eq!(no_id.config(Service::Pop).err().unwrap().exit_code(), 64);
        let http = OAuth2Args {
            oauth2_token_endpoint: Some("http://login.example/token".into()),
            oauth2_client_id: Some("cid".into()),
            ..OAuth2Args::default()
        };
        assert_eq!(http.config(Service::Pop).err().unwrap().exit_code(), 64);
    }
}
