//! OAuth2 end to end (docs/CONVENTIONS.md, "OAuth2"): pop-fetch, imap-fetch and smtp-send
//! against the fake mail servers, which check the bearer token they are sent, and the fake
//! token endpoint (`support/fake_token.rs`): a first refresh token, a rotated one saved,
//! a token near its expiry refreshed before a connection (and before IDLE's re-login), a
//! revoked consent, the device authorization grant; no secret on stderr, even with `-v`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::bearer::tokens_sent;
use crate::support::fake_imap::{FakeImap, ImapBuilder, imap};
use crate::support::fake_pop::{PopBuilder, USER, pop};
use crate::support::fake_proxy::FakeProxy;
use crate::support::fake_server::Server;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::fake_token::{TokenServer, token_server};
use crate::support::files::TempDir;
use crate::support::run;
use crate::support::tool::{Out, Tool, tool};

const CLIENT_SECRET: &str = "CS-client-secret-value";
const FIRST_REFRESH: &str = "RT-first-refresh-value";
const ROTATED_REFRESH: &str = "RT-rotated-refresh-value";

/// Every secret of these tests: none may ever reach stderr.
const SECRETS: &[&str] = &[
    CLIENT_SECRET,
    FIRST_REFRESH,
    ROTATED_REFRESH,
    "AT-one-access-value",
    "AT-two-access-value",
];

/// The two access tokens the endpoint of [`two_tokens`] gives, in turn.
const BOTH: &[&str] = &["AT-one-access-value", "AT-two-access-value"];

/// An endpoint that gives `AT-one...` for `first` seconds with a rotated refresh token,
/// then `AT-two...` for `second` seconds.
fn two_tokens(first: u64, second: u64) -> TokenServer {
    token_server(&[
        (200, &granted(BOTH[0], first, Some(ROTATED_REFRESH))),
        (200, &granted(BOTH[1], second, None)),
    ])
}

fn granted(access: &str, expires_in: u64, refresh: Option<&str>) -> String {
    match refresh {
        Some(r) => format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":{expires_in},"refresh_token":"{r}"}}"#
        ),
        None => format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":{expires_in}}}"#
        ),
    }
}

/// One test's local side: a HOME, a state folder, the secret files (mode 600).
struct Local {
    dir: TempDir,
}

impl Local {
    fn new(tag: &str) -> Local {
        let l = Local {
            dir: TempDir::new(&format!("oauth2-{tag}")),
        };
        for (name, text) in [("secret", CLIENT_SECRET), ("refresh", FIRST_REFRESH)] {
            let p = l.dir.join(name);
            std::fs::write(&p, format!("{text}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        l
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `name` with this test's HOME and state, the OAuth2 flags for `t` (client `cid`, its
    /// secret, the first refresh token).
    fn tool(&self, name: &'static str, t: &TokenServer) -> Tool {
        self.tool_at(name, &t.url("/token"))
    }

    /// [`Local::tool`], the token endpoint `endpoint`.
    fn tool_at(&self, name: &'static str, endpoint: &str) -> Tool {
        tool(name)
            .home(self.dir.join("home"))
            .env("XDG_STATE_HOME", self.path("state"))
            .args(["--tls", "none", "--timeout", "10"])
            .args(["--oauth2-token-endpoint", endpoint])
            .args([
                "--oauth2-client-id",
                "cid",
                "--oauth2-scope",
                "mail offline_access",
            ])
            .args([
                "--oauth2-client-secret-file",
                &self.path("secret").display().to_string(),
            ])
            .args([
                "--oauth2-refresh-token-file",
                &self.path("refresh").display().to_string(),
            ])
    }

    /// The token cache files (there is one per account).
    fn caches(&self) -> Vec<PathBuf> {
        let dir = self.path("state/posthaste/oauth2");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        found.retain(|p| !p.to_string_lossy().ends_with(".lock"));
        found
    }
}

/// pop-fetch of the fake POP3 server on `port` into `l`'s Maildir with `t`'s OAuth2
/// flags, to run again and again.
fn pop_run<'a>(l: &'a Local, t: &'a TokenServer, port: u16) -> impl Fn() -> Out + 'a {
    let url = format!("pop3://{USER}@127.0.0.1:{port}");
    let maildir = l.path("Mail").display().to_string();
    move || {
        l.tool("pop-fetch", t)
            .args([url.as_str(), "--maildir", &maildir])
            .run()
    }
}

fn assert_no_secret(stderr: &str) {
    for s in SECRETS {
        assert!(!stderr.contains(s), "{s} on stderr: {stderr}");
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn pop_fetch_starts_from_a_refresh_token_saves_the_rotated_one_and_reuses_the_access_token() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value"])
        .start();
    let t = token_server(&[(
        200,
        &granted("AT-one-access-value", 3600, Some(ROTATED_REFRESH)),
    )]);
    let l = Local::new("pop");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let o = l
        .tool("pop-fetch", &t)
        .args([url.as_str(), "--maildir", &maildir, "-v"])
        .run();
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_no_secret(&o.stderr);
    // OAUTHBEARER, preferred over XOAUTH2, with the token the endpoint gave.
    assert!(o.stderr.contains("C: AUTH OAUTHBEARER"), "{}", o.stderr);
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1);
    let form = &reqs[0].form;
    assert_eq!(reqs[0].path, "/token");
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], FIRST_REFRESH);
    assert_eq!(form["client_id"], "cid");
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(form["scope"], "mail offline_access");
    // The cache: owner-only, holding the rotated refresh token.
    let caches = l.caches();
    assert_eq!(caches.len(), 1, "{caches:?}");
    assert!(
        caches[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("alice@"),
        "{caches:?}"
    );
    assert_eq!(mode(&caches[0]), 0o600);
    assert_eq!(mode(caches[0].parent().unwrap()), 0o700);
    let kept = std::fs::read_to_string(&caches[0]).unwrap();
    assert!(
        kept.contains(ROTATED_REFRESH) && !kept.contains(FIRST_REFRESH),
        "{kept}"
    );
    // The next run uses the cached access token: no request to the endpoint.
    server
        .protocol()
        .deliver("u2", "Subject: two\r\n\r\nbody\r\n");
    let o = l
        .tool("pop-fetch", &t)
        .args([url.as_str(), "--maildir", &maildir])
        .run();
    o.ok();
    assert_eq!(t.requests().len(), 1);
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-one-access-value"]
    );
}

#[test]
fn a_token_near_its_expiry_is_refreshed_and_a_revoked_consent_is_77_with_the_fix() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(BOTH)
        .start();
    // 30 s left is within the 60 s margin: the next connection refreshes first.
    let t = two_tokens(30, 30);
    let l = Local::new("expiry");
    let run = pop_run(&l, &t, server.port());
    run().ok();
    run().ok();
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-two-access-value"]
    );
    let reqs = t.requests();
    assert_eq!(reqs[1].form["refresh_token"], ROTATED_REFRESH);
    // No new refresh token in the answer: the one in use is kept.
    let kept = std::fs::read_to_string(&l.caches()[0]).unwrap();
    assert!(kept.contains(ROTATED_REFRESH), "{kept}");
    // The consent is revoked: the endpoint says invalid_grant (repeating the token, as a
    // hostile one might, and a control character).
    t.then(
        400,
        &format!(
            r#"{{"error":"invalid_grant","error_description":"AADSTS50173: grant revoked for {ROTATED_REFRESH}\u001b[2J"}}"#
        ),
    );
    let o = run();
    let line = o.fails(77);
    let endpoint = t.url("/token");
    assert_eq!(
        line,
        format!(
            "pop-fetch: token endpoint {endpoint}: the refresh token was refused (invalid_grant: AADSTS50173: grant revoked for ****\\x1b[2J): the consent was revoked or has expired; sign in again with `pop-fetch --authorize` (with this run's --oauth2-* flags and URL)"
        )
    );
    assert_no_secret(&o.stderr);
    assert_eq!(tokens_sent(&server.transcript()).len(), 2, "no login tried");
}

#[test]
fn without_any_token_the_run_is_77_naming_the_command_that_signs_in() {
    let server = pop(&[]).bearer(&["x"]).start();
    let t = token_server(&[]);
    let l = Local::new("none");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let o = tool("pop-fetch")
        .home(l.path("home"))
        .env("XDG_STATE_HOME", l.path("state"))
        .args([url.as_str(), "--tls", "none", "--maildir", "Mail"])
        .args([
            "--oauth2-token-endpoint",
            &t.url("/token"),
            "--oauth2-client-id",
            "cid",
        ])
        .run();
    let line = o.fails(77);
    assert!(
        line.starts_with("pop-fetch: OAuth2: no token for alice yet (token cache "),
        "{line}"
    );
    assert!(
        line.ends_with("): sign in once at a terminal with `pop-fetch --authorize` (with this run's --oauth2-* flags and URL)"),
        "{line}"
    );
    assert!(t.requests().is_empty());
    assert_eq!(server.connections(), 0);
}

#[test]
fn authorize_runs_the_device_grant_and_keeps_the_tokens() {
    let t = token_server(&[
        (
            200,
            r#"{"device_code":"DC-1","user_code":"WDJB-MJHT","verification_uri":"https://login.example/device","expires_in":900,"interval":1}"#,
        ),
        (400, r#"{"error":"authorization_pending"}"#),
        (
            200,
            &granted("AT-one-access-value", 3600, Some(ROTATED_REFRESH)),
        ),
    ]);
    let l = Local::new("authorize");
    let o = tool("imap-fetch")
        .home(l.path("home"))
        .env("XDG_STATE_HOME", l.path("state"))
        .args(["imaps://alice@imap.example", "--authorize", "-q"])
        .args(["--oauth2-token-endpoint", &t.url("/token")])
        .args(["--oauth2-device-authorization-endpoint", &t.url("/device")])
        .args([
            "--oauth2-client-id",
            "cid",
            "--oauth2-scope",
            "mail offline_access",
        ])
        .run();
    assert_eq!(o.code, Some(0), "{o:#?}");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "imap-fetch: to sign in, open https://login.example/device in a browser and enter the code WDJB-MJHT (within 15 min); waiting for the sign-in..."
    );
    assert!(
        lines[1].starts_with("imap-fetch: signed in: the tokens are kept in "),
        "{lines:?}"
    );
    assert_no_secret(&o.stderr);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].path, "/device");
    assert_eq!(reqs[0].form["client_id"], "cid");
    assert_eq!(reqs[0].form["scope"], "mail offline_access");
    for r in &reqs[1..] {
        assert_eq!(
            r.form["grant_type"],
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        assert_eq!(r.form["device_code"], "DC-1");
    }
    let caches = l.caches();
    assert_eq!(mode(&caches[0]), 0o600);
    assert!(
        std::fs::read_to_string(&caches[0])
            .unwrap()
            .contains(ROTATED_REFRESH)
    );
}

/// imap-fetch `--idle` against a fake IMAP server that takes [`BOTH`] and the endpoint of
/// [`two_tokens`]`(first, second)`, ended (SIGTERM) once `until` holds for the server's
/// transcript (at most 30 s) and `settle` more has passed: it must exit 0 saying no
/// secret. The server and the endpoint, for what they saw.
fn idle_run(
    tag: &str,
    (first, second): (u64, u64),
    until: impl Fn(&[String]) -> bool,
    settle: Duration,
) -> (Server<FakeImap>, TokenServer) {
    let server = imap(&["Subject: one\r\n\r\nbody\r\n"]).bearer(BOTH).start();
    let t = two_tokens(first, second);
    let l = Local::new(tag);
    let url = format!("imap://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let mut c = l
        .tool("imap-fetch", &t)
        .args([url.as_str(), "--idle", "--maildir", &maildir])
        .command();
    let child = run::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()));
    for _ in 0..3000 {
        if until(&server.transcript()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(settle);
    let o = child.terminate();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_no_secret(&stderr);
    (server, t)
}

#[test]
fn imap_fetch_idle_logs_in_again_with_a_fresh_token_before_the_old_one_expires() {
    // 63 s: 3 s before the 60 s margin is reached (10 s at least after the login, the
    // least a session lasts), IDLE ends and the session logs in again.
    let (server, t) = idle_run(
        "idle",
        (63, 3600),
        |seen| tokens_sent(seen).len() == 2,
        Duration::ZERO,
    );
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-two-access-value"]
    );
    assert_eq!(t.requests()[1].form["refresh_token"], ROTATED_REFRESH);
    // The first session ended with DONE and LOGOUT; the second logged in afresh.
    let first = server.transcript_of(0);
    let n = first.len();
    assert!(
        first[n - 2].ends_with(" DONE") || first[n - 2] == "DONE",
        "{first:?}"
    );
    assert!(first[n - 1].ends_with(" LOGOUT"), "{first:?}");
    assert_eq!(
        tokens_sent(&server.transcript_of(1)),
        ["AT-two-access-value"]
    );
}

/// A token that comes with no time to live (`expires_in` 0, or left out) is not renewed
/// without pause: the IDLE session keeps it for `MIN_SESSION` (10 s) at least, where it
/// logged in, refreshed and logged in again in a tight loop.
#[test]
fn imap_fetch_idle_with_a_token_that_never_lives_does_not_spin() {
    // 2 s after IDLE: time for many loops before the fix (they took milliseconds), less
    // than the 10 s a session now lasts at least; a slower machine only makes fewer.
    let (server, t) = idle_run(
        "idle-spin",
        (0, 0),
        |seen| seen.iter().any(|l| l.ends_with(" IDLE")),
        Duration::from_secs(2),
    );
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
    assert_eq!(t.requests().len(), 1);
}

#[test]
fn smtp_send_says_in_words_why_the_server_refused_the_token() {
    let server = FakeSmtp::builder()
        .bearer("ci@example.com", &["AT-two-access-value"])
        .start();
    let t = token_server(&[(200, &granted("AT-one-access-value", 3600, None))]);
    let l = Local::new("smtp");
    let send = |extra: &[&str]| {
        l.tool("smtp-send", &t)
            .args(["--server", &server.url(), "--user", "ci@example.com"])
            .args([
                "--helo",
                "c.test",
                "-f",
                "ci@example.com",
                "bob@example.org",
            ])
            .args(extra)
            .input(b"Subject: hi\n\nhello\n")
            .run()
    };
    let o = send(&["--auth", "xoauth2", "-v"]);
    assert_eq!(o.code, Some(77), "{o:#?}");
    let last = o.stderr.lines().last().unwrap();
    assert!(
        last.contains(
            "login as ci@example.com with XOAUTH2 failed (the access token is expired, revoked or not for this user (status invalid_token, scope needed: https://mail.example/))"
        ),
        "{last}"
    );
    assert_no_secret(&o.stderr);
    // XOAUTH2 was forced, though OAUTHBEARER is offered.
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
    // The refused token is forgotten: the next run refreshes instead of sending it again.
    t.then(200, &granted("AT-two-access-value", 3600, None));
    let o = send(&[]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-two-access-value"]
    );
    assert_eq!(t.requests().len(), 2);
}

/// The token endpoint over HTTPS, with the loopback servers' CA-signed certificate: trusted
/// only through `--cacert`, as the mail server is; a certificate not trusted is 76, naming
/// the endpoint.
#[test]
fn the_token_endpoint_is_trusted_as_the_mail_server_is() {
    let Some(s) = crate::support::servers::servers() else {
        return;
    };
    let certs = s.ca_cert.parent().unwrap();
    let (leaf, key) = (certs.join("leaf.pem"), certs.join("leaf.key"));
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value"])
        .start();
    let t = crate::support::fake_token::token_server_tls(
        &[(200, &granted("AT-one-access-value", 3600, None))],
        &leaf,
        &key,
    );
    let l = Local::new("https");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let run = |extra: &[&str]| {
        l.tool("pop-fetch", &t)
            .args([url.as_str(), "--maildir", &maildir])
            .args(extra)
            .run()
    };
    let o = run(&[]);
    let line = o.fails(76);
    assert_eq!(
        line,
        format!(
            "pop-fetch: token endpoint {}: Connection Failed: tls connection init failed: invalid peer certificate: UnknownIssuer (--cacert FILE trusts the CA that signed it)",
            t.url("/token")
        )
    );
    assert_no_secret(&o.stderr);
    assert_eq!(server.connections(), 0);
    let cacert = s.ca_cert.display().to_string();
    // --pin is the mail server's one certificate: the endpoint, whose certificate is
    // another, is trusted by the CA all the same (it was refused).
    let pin = format!("sha256:{}", "ab".repeat(32));
    run(&["--cacert", &cacert, "--pin", &pin]).ok();
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
}

/// `--retries`: the second connection asks for credentials again, and a token near its
/// expiry is refreshed for it.
#[test]
fn a_retry_logs_in_with_a_fresh_token() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(BOTH)
        .reply_once("STAT", "-ERR [SYS/TEMP] try again later\r\n")
        .start();
    let t = two_tokens(30, 3600);
    let l = Local::new("retry");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let o = l
        .tool("pop-fetch", &t)
        .args([url.as_str(), "--maildir", &maildir, "--retries", "1", "-q"])
        .run();
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-two-access-value"]
    );
    assert_eq!(t.requests()[1].form["refresh_token"], ROTATED_REFRESH);
}

/// The token endpoint is held to `--timeout` and to 64 KiB of answer.
#[test]
fn a_token_endpoint_that_never_answers_or_answers_too_much_is_given_up() {
    // Connections are taken (the backlog) and never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/token", silent.local_addr().unwrap());
    let l = Local::new("silent");
    let o = tool("pop-fetch")
        .home(l.path("home"))
        .env("XDG_STATE_HOME", l.path("state"))
        .args([
            "pop3://alice@127.0.0.1:9",
            "--tls",
            "none",
            "--maildir",
            "Mail",
        ])
        .args(["--timeout", "1", "--oauth2-token-endpoint", &endpoint])
        .args(["--oauth2-client-id", "cid"])
        .args([
            "--oauth2-refresh-token-file",
            &l.path("refresh").display().to_string(),
        ])
        .run();
    let line = o.fails(75);
    assert!(
        line.starts_with(&format!("pop-fetch: token endpoint {endpoint}: ")),
        "{line}"
    );
    let huge = format!(r#"{{"access_token":"{}"}}"#, "x".repeat(70_000));
    let t = token_server(&[(200, &huge)]);
    let o = l
        .tool("pop-fetch", &t)
        .args(["pop3://alice@127.0.0.1:9", "--maildir", "Mail"])
        .run();
    let line = o.fails(76);
    assert!(
        line.ends_with(": the answer is longer than 65536 bytes"),
        "{line}"
    );
}

/// The token endpoint over TLS as `https://mail.test:PORT/token`: a name only the fake
/// proxy resolves (to 127.0.0.1), on the certificate of `tests/certs/`.
fn token_server_by_name(answers: &[(u16, &str)]) -> (TokenServer, String) {
    let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/certs");
    let t = crate::support::fake_token::token_server_tls(
        answers,
        &certs.join("server.pem"),
        &certs.join("server.key"),
    );
    let url = t.url("/token").replace("127.0.0.1", "mail.test");
    (t, url)
}

fn test_ca() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs/ca.pem")
        .display()
        .to_string()
}

const PROXY_SECRET: &str = "PX-proxy-password";

/// `--proxy` takes the token endpoint's connection too: by name (socks5h), with the proxy's
/// login, its password never on stderr, even with `-v`.
#[test]
fn the_token_endpoint_goes_through_the_proxy() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value"])
        .start();
    let (t, endpoint) = token_server_by_name(&[(200, &granted("AT-one-access-value", 3600, None))]);
    let proxy = FakeProxy::builder()
        .name("mail.test", "127.0.0.1")
        .login("px", PROXY_SECRET)
        .start();
    let l = Local::new("proxy");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let proxy_url = format!("socks5h://px:{PROXY_SECRET}@127.0.0.1:{}", proxy.port());
    let o = l
        .tool_at("pop-fetch", &endpoint)
        .args(["--proxy", &proxy_url, "--cacert", &test_ca(), "-v"])
        .args([url.as_str(), "--maildir", &maildir])
        .run();
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_no_secret(&o.stderr);
    assert!(!o.stderr.contains(PROXY_SECRET), "{}", o.stderr);
    assert_eq!(t.requests().len(), 1);
    assert_eq!(
        proxy.requests(),
        [
            format!("mail.test:{}", endpoint_port(&endpoint)),
            format!("127.0.0.1:{}", server.port())
        ]
    );
    assert_eq!(proxy.users(), ["px", "px"]);
    // A proxy that refuses the login is 77, naming the proxy and the endpoint.
    let wrong = format!("socks5h://px:{PROXY_SECRET}x@127.0.0.1:{}", proxy.port());
    std::fs::remove_dir_all(l.path("state")).unwrap();
    let o = l
        .tool_at("pop-fetch", &endpoint)
        .args(["--proxy", &wrong, "--cacert", &test_ca()])
        .args([url.as_str(), "--maildir", &maildir])
        .run();
    assert_eq!(
        o.fails(77),
        format!(
            "pop-fetch: token endpoint {endpoint}: SOCKS5 proxy 127.0.0.1:{}: the proxy refused the user name and password (status 1)",
            proxy.port()
        )
    );
    assert!(!o.stderr.contains(PROXY_SECRET), "{}", o.stderr);
    // A proxy that is not there is 75, named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!(
        "socks5h://127.0.0.1:{}",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let o = l
        .tool_at("pop-fetch", &endpoint)
        .args(["--proxy", &gone, "--cacert", &test_ca()])
        .args([url.as_str(), "--maildir", &maildir])
        .run();
    let line = o.fails(75);
    assert!(
        line.starts_with(&format!(
            "pop-fetch: token endpoint {endpoint}: SOCKS5 proxy {}: cannot connect: ",
            &gone["socks5h://".len()..]
        )),
        "{line}"
    );
    assert_eq!(t.requests().len(), 1);
}

fn endpoint_port(endpoint: &str) -> u16 {
    let u = url::Url::parse(endpoint).unwrap();
    u.port().unwrap()
}

/// Without `--proxy`, the environment as curl reads it for an https:// URL: `https_proxy`
/// (which a pop3:// server does not use), else `ALL_PROXY`; `NO_PROXY` makes it direct.
#[test]
fn the_token_endpoint_takes_the_proxy_of_the_environment() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value", "AT-one-access-value"])
        .start();
    let (t, endpoint) = token_server_by_name(&[
        (200, &granted("AT-one-access-value", 3600, None)),
        (200, &granted("AT-one-access-value", 3600, None)),
    ]);
    let proxy = FakeProxy::builder().name("mail.test", "127.0.0.1").start();
    let to_endpoint = format!("mail.test:{}", endpoint_port(&endpoint));
    let to_server = format!("127.0.0.1:{}", server.port());
    let l = Local::new("proxy-env");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let run = |env: &[(&str, &str)]| {
        // A fresh cache: every run asks the endpoint.
        let _ = std::fs::remove_dir_all(l.path("state"));
        l.tool_at("pop-fetch", &endpoint)
            .args(["--cacert", &test_ca()])
            .args([url.as_str(), "--maildir", &maildir])
            .envs(env)
            .run()
    };
    let o = run(&[("https_proxy", &proxy.url())]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(proxy.requests(), std::slice::from_ref(&to_endpoint));
    let o = run(&[("ALL_PROXY", &proxy.url())]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        proxy.requests(),
        [to_endpoint.clone(), to_endpoint.clone(), to_server]
    );
    assert_eq!(t.requests().len(), 2);
    // NO_PROXY: the endpoint's name is looked up here, where it does not exist.
    let o = run(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "example.org,mail.test"),
    ]);
    let line = o.fails(68);
    assert!(
        line.starts_with(&format!("pop-fetch: token endpoint {endpoint}: ")),
        "{line}"
    );
    assert_eq!(proxy.requests().len(), 3);
}

/// An HTTP proxy's CONNECT tunnel (tinyproxy, with a login) to the endpoint on
/// `https://localhost`; a wrong password is 77 and never shown.
#[test]
fn the_token_endpoint_goes_through_an_http_proxy() {
    let Some(p) = crate::support::servers_proxy::proxy_servers() else {
        return;
    };
    let Some(s) = crate::support::servers::servers() else {
        return;
    };
    let certs = s.ca_cert.parent().unwrap();
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value"])
        .start();
    let t = crate::support::fake_token::token_server_tls(
        &[(200, &granted("AT-one-access-value", 3600, None))],
        &certs.join("leaf.pem"),
        &certs.join("leaf.key"),
    );
    let endpoint = t.url("/token").replace("127.0.0.1", "localhost");
    let l = Local::new("proxy-http");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let cacert = s.ca_cert.display().to_string();
    let run = |proxy: &str| {
        l.tool_at("pop-fetch", &endpoint)
            .args(["--cacert", &cacert])
            .args([url.as_str(), "--maildir", &maildir])
            .env("https_proxy", proxy)
            .run()
    };
    let o = run(&p.with_login("http", "wrong-pw"));
    let line = o.fails(77);
    assert!(
        line.starts_with(&format!(
            "pop-fetch: token endpoint {endpoint}: HTTP proxy 127.0.0.1:{}: ",
            p.http_auth_port
        )) && line.contains("refused the user name and password"),
        "{line}"
    );
    assert!(!o.stderr.contains("wrong-pw"), "{}", o.stderr);
    assert!(t.requests().is_empty());
    let o = run(&p.with_login("http", &p.password));
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(!o.stderr.contains(&p.password), "{}", o.stderr);
    assert_eq!(t.requests().len(), 1);
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
}

/// `--max-time` bounds the token call as it does the mail connection: an endpoint that
/// never answers, or a proxy that never does, ends the run when it is over (75), saying so.
#[test]
fn max_time_bounds_the_token_endpoint() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://127.0.0.1:{}/token",
        silent.local_addr().unwrap().port()
    );
    let server = pop(&[]).start();
    let l = Local::new("max-time");
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let maildir = l.path("Mail").display().to_string();
    let o = l
        .tool_at("pop-fetch", &endpoint)
        .args(["--max-time", "1", url.as_str(), "--maildir", &maildir])
        .run();
    assert_eq!(
        o.fails(75),
        format!(
            "pop-fetch: token endpoint {endpoint}: gave up: the run took longer than --max-time (1 s)"
        )
    );
    let proxy = FakeProxy::builder().stall().start();
    let (_t, endpoint) = token_server_by_name(&[]);
    let o = l
        .tool_at("pop-fetch", &endpoint)
        .args([
            "--max-time",
            "1",
            "--proxy",
            &proxy.url(),
            "--noproxy",
            "127.0.0.1",
        ])
        .args([url.as_str(), "--maildir", &maildir])
        .run();
    assert_eq!(
        o.fails(75),
        format!(
            "pop-fetch: token endpoint {endpoint}: SOCKS5 proxy 127.0.0.1:{}: gave up: the run took longer than --max-time (1 s)",
            proxy.port()
        )
    );
}

/// An account's token cache is named by the account alone: when its user changes (the
/// file edited, or `--user` on the command line), the other user's token is not sent as
/// this one's, nor its rotated refresh token spent for them.
#[test]
fn an_accounts_cache_of_another_user_is_not_used() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(BOTH)
        .start();
    let t = two_tokens(3600, 3600);
    let l = Local::new("user");
    let config = l.path("config.toml");
    let write = |user: &str| {
        std::fs::write(
            &config,
            format!(
                "[accounts.work]\nserver = \"pop3://127.0.0.1:{}\"\nuser = \"{user}\"\n",
                server.port()
            ),
        )
        .unwrap();
    };
    let maildir = l.path("Mail").display().to_string();
    let run = || {
        l.tool("pop-fetch", &t)
            .args(["--config", &config.display().to_string(), "-a", "work"])
            .args(["--maildir", &maildir])
            .run()
    };
    write(USER);
    run().ok();
    assert_eq!(l.caches().len(), 1);
    assert!(l.caches()[0].ends_with("work.account"), "{:?}", l.caches());
    write("bob");
    let o = run();
    o.fails(77);
    assert_no_secret(&o.stderr);
    // bob's login had a token of its own, from bob's refresh token, never alice's.
    assert_eq!(
        tokens_sent(&server.transcript()),
        ["AT-one-access-value", "AT-two-access-value"]
    );
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].form["refresh_token"], FIRST_REFRESH);
}

/// An account's `[accounts.NAME.oauth2]` table logs in (its literal client secret and
/// first refresh token included), and a flag wins over it, as every flag wins over the
/// account: `--oauth2-client-secret-file` on the command line is the secret sent, where
/// the account's literal was.
#[test]
fn an_accounts_oauth2_table_logs_in_and_a_secret_file_flag_wins_over_it() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(&["AT-one-access-value"])
        .start();
    let t = token_server(&[(200, &granted("AT-one-access-value", 3600, None))]);
    let l = Local::new("account-table");
    let config = l.path("config.toml");
    std::fs::write(
        &config,
        format!(
            "[accounts.work]\nserver = \"pop3://127.0.0.1:{}\"\nuser = \"{USER}\"\ntls = \"none\"\n\
             [accounts.work.oauth2]\ntoken_endpoint = \"{}\"\nclient_id = \"cid\"\n\
             client_secret = \"CS-account-literal\"\nrefresh_token = \"{FIRST_REFRESH}\"\n",
            server.port(),
            t.url("/token")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = tool("pop-fetch")
        .home(l.path("home"))
        .env("XDG_STATE_HOME", l.path("state"))
        .args(["--config", &config.display().to_string(), "-a", "work"])
        .args(["--maildir", &l.path("Mail").display().to_string()])
        .args([
            "--oauth2-client-secret-file",
            &l.path("secret").display().to_string(),
        ])
        .run();
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(!o.stderr.contains("CS-account-literal"), "{}", o.stderr);
    assert_no_secret(&o.stderr);
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].form["client_secret"], CLIENT_SECRET);
    assert_eq!(reqs[0].form["refresh_token"], FIRST_REFRESH);
    assert_eq!(tokens_sent(&server.transcript()), ["AT-one-access-value"]);
    assert!(l.caches()[0].ends_with("work.account"));
}

/// A token answer whose `refresh_token` is empty brings none: the one in use is kept (it
/// was replaced by nothing, and the next refresh sent an empty one).
#[test]
fn an_empty_refresh_token_in_an_answer_keeps_the_one_in_use() {
    let server = pop(&[("u1", "Subject: one\r\n\r\nbody\r\n")])
        .bearer(BOTH)
        .start();
    let t = token_server(&[
        (200, &granted(BOTH[0], 30, Some(""))),
        (200, &granted(BOTH[1], 3600, None)),
    ]);
    let l = Local::new("empty-refresh");
    let run = pop_run(&l, &t, server.port());
    run().ok();
    // 30 s left is within the margin: the second run refreshes, with the first token.
    run().ok();
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].form["refresh_token"], FIRST_REFRESH);
    assert_eq!(tokens_sent(&server.transcript()), BOTH);
}
