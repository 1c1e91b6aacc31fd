//! Proxies (docs/CONVENTIONS.md, "Proxies"): every connection of a run through SOCKS5 or an
//! HTTP CONNECT tunnel, FTP's data connections too. Against the fake SOCKS5 proxy
//! (`support::fake_proxy`), which shows what reached it; and against the real proxies of
//! `scripts/servers/proxy` (microsocks, tinyproxy) with the real FTP, POP3, IMAP and SMTP
//! servers behind them.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_proxy::FakeProxy;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::servers::servers;
use crate::support::servers_pop::dovecot;
use crate::support::servers_proxy::proxy_servers;
use crate::support::servers_smtp::smtp_servers;
use crate::support::tool::{Out, tool};

const SECRET: &str = "pr0xy-s3cret";

fn ftp_get(args: &[&str], env: &[(&str, &str)]) -> Out {
    tool("ftp-get").args(args).envs(env).timeout(10).run()
}

#[test]
fn socks5h_sends_the_name_and_ftp_data_goes_through_the_proxy() {
    let ftp = FakeFtp::builder().file("f", "through the proxy").start();
    let proxy = FakeProxy::builder()
        .name("files.proxy.test", "127.0.0.1")
        .start();
    let url = format!("ftp://files.proxy.test:{}/f", ftp.port());
    let out = ftp_get(&["--proxy", &proxy.url(), "-o", "-", &url], &[]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, b"through the proxy");
    // The control connection and the data connection, both by name (the PASV port).
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], format!("files.proxy.test:{}", ftp.port()));
    assert!(seen[1].starts_with("files.proxy.test:"), "{seen:?}");
    assert_ne!(seen[1], seen[0]);
    // socks5:// resolves the name here, where it does not exist: 68, before the proxy.
    let socks5 = proxy.url().replace("socks5h", "socks5");
    let out = ftp_get(&["--proxy", &socks5, "-o", "-", &url], &[]);
    assert!(
        out.fails(68).starts_with("ftp-get: files.proxy.test: "),
        "{out:#?}"
    );
    assert_eq!(proxy.connections(), 2);
}

#[test]
fn parallel_connections_all_go_through_the_proxy() {
    let ftp = FakeFtp::builder()
        .file("a", "first")
        .file("b", "second")
        .file("c", "third")
        .start();
    // Only the proxy knows the name: a connection that went around it would fail.
    let proxy = FakeProxy::builder()
        .name("files.proxy.test", "127.0.0.1")
        .start();
    let dir = TempDir::new("proxy-parallel");
    let url = |f: &str| format!("ftp://files.proxy.test:{}/{f}", ftp.port());
    let (a, b, c) = (url("a"), url("b"), url("c"));
    let args = [
        "--parallel",
        "3",
        "--proxy",
        &proxy.url(),
        "-O",
        dir.arg(),
        &a,
        &b,
        &c,
    ];
    let out = ftp_get(&args, &[]);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{out:#?}");
    for (f, want) in [("a", "first"), ("b", "second"), ("c", "third")] {
        assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), want);
    }
    let seen = proxy.requests();
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(
        seen.iter().all(|r| r.starts_with("files.proxy.test:")),
        "{seen:?}"
    );
}

#[test]
fn the_environment_is_read_as_curl_reads_it_and_no_proxy_bypasses() {
    let ftp = FakeFtp::builder().file("f", "x").start();
    let proxy = FakeProxy::builder().start();
    let url = ftp.url("f");
    let all = [("ALL_PROXY", proxy.url())];
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = ftp_get(&["-o", "-", &url], &all);
    assert_eq!(
        (out.code, out.stdout.as_slice()),
        (Some(0), &b"x"[..]),
        "{out:#?}"
    );
    assert_eq!(proxy.connections(), 2, "control and data");
    // ftp_proxy wins over ALL_PROXY: here one that is down, named in the message.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://127.0.0.1:{}", down.local_addr().unwrap().port());
    drop(down);
    let mut env = all.clone();
    env.push(("ftp_proxy", &down_url));
    let line = ftp_get(&["-o", "-", &url], &env).fails(75).to_string();
    assert!(
        line.starts_with(&format!(
            "ftp-get: HTTP proxy {}: cannot connect: ",
            &down_url["http://".len()..]
        )),
        "{line}"
    );
    // NO_PROXY, --noproxy and --proxy "" go direct.
    for (args, extra) in [
        (
            &["-o", "-"][..],
            Some(("NO_PROXY", "localhost,127.0.0.0/8")),
        ),
        (&["--noproxy", "*", "-o", "-"], None),
        (
            &["--noproxy", "127.0.0.1", "-o", "-"],
            Some(("no_proxy", "other")),
        ),
        (&["--proxy", "", "-o", "-"], None),
    ] {
        let mut env = env.clone();
        env.extend(extra);
        let mut args = args.to_vec();
        args.push(&url);
        let out = ftp_get(&args, &env);
        assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{args:?}");
    }
    assert_eq!(
        proxy.connections(),
        2,
        "nothing more went through the proxy"
    );
}

#[test]
fn a_proxy_that_stalls_is_the_timeout_naming_the_proxy() {
    let proxy = FakeProxy::builder().stall().start();
    let s = FakeSmtp::builder().start();
    let out = tool("smtp-send")
        .args([
            "--server",
            &s.url(),
            "--tls",
            "none",
            "--proxy",
            &proxy.url(),
        ])
        .args(["--timeout", "1", "bob@example.org"])
        .input(b"From: a@example.test\nSubject: x\n\nx\n")
        .run();
    assert_eq!(
        out.fails(75),
        format!(
            "smtp-send: SOCKS5 proxy 127.0.0.1:{}: no reply from the proxy within 1 s",
            proxy.port()
        )
    );
    // --max-time ends the handshake too, said as such.
    let ftp = FakeFtp::builder().file("f", "x").start();
    let out = ftp_get(
        &[
            "--max-time",
            "1",
            "--timeout",
            "30",
            "--proxy",
            &proxy.url(),
            "-o",
            "-",
            &ftp.url("f"),
        ],
        &[],
    );
    assert_eq!(
        out.fails(75),
        format!(
            "ftp-get: SOCKS5 proxy 127.0.0.1:{}: gave up: the run took longer than --max-time (1 s)",
            proxy.port()
        )
    );
    assert!(s.messages().is_empty());
}

#[test]
fn smtp_send_goes_through_the_proxy_by_name() {
    let proxy = FakeProxy::builder()
        .name("mail.proxy.test", "127.0.0.1")
        .login("alice", SECRET)
        .start();
    let s = FakeSmtp::builder().start();
    let with_login = format!("socks5h://alice:{SECRET}@127.0.0.1:{}", proxy.port());
    let out = tool("smtp-send")
        .args(["--server", &format!("smtp://mail.proxy.test:{}", s.port())])
        .args([
            "--tls",
            "none",
            "-v",
            "--proxy",
            &with_login,
            "bob@example.org",
        ])
        .input(b"From: a@example.test\nSubject: x\n\nx\n")
        .timeout(10)
        .run();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("C: MAIL FROM:"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    assert_eq!(s.messages().len(), 1);
    assert_eq!(proxy.users(), ["alice"]);
    assert_eq!(proxy.requests(), [format!("mail.proxy.test:{}", s.port())]);
}

#[test]
fn a_wrong_proxy_password_is_77_and_never_shown() {
    let proxy = FakeProxy::builder().login("alice", SECRET).start();
    let ftp = FakeFtp::builder().file("f", "x").start();
    let wrong = format!("socks5h://alice:not-{SECRET}@127.0.0.1:{}", proxy.port());
    let out = ftp_get(&["-v", "--proxy", &wrong, "-o", "-", &ftp.url("f")], &[]);
    assert_eq!(
        out.fails(77),
        format!(
            "ftp-get: SOCKS5 proxy 127.0.0.1:{}: the proxy refused the user name and password \
             (status 1)",
            proxy.port()
        )
    );
    assert!(!out.stderr.contains(SECRET));
    // No login at all where one is asked for: 77, saying how to give one.
    let open = format!("socks5h://127.0.0.1:{}", proxy.port());
    let line = ftp_get(&["--proxy", &open, "-o", "-", &ftp.url("f")], &[])
        .fails(77)
        .to_string();
    assert!(line.contains("the proxy requires a login"), "{line}");
    assert_eq!(ftp.connections(), 0);
}

#[test]
fn a_malformed_proxy_url_is_64_without_its_password() {
    let ftp = FakeFtp::builder().file("f", "x").start();
    for (args, env, says) in [
        (
            vec!["--proxy", "https://u:pw-SECRET@127.0.0.1:1"],
            vec![],
            "ftp-get: --proxy: https://u:****@127.0.0.1:1: https:// proxies are not supported",
        ),
        (
            vec!["--proxy", "socks4://u:pw-SECRET@h"],
            vec![],
            "ftp-get: --proxy: socks4://u:****@h: SOCKS4 is not supported",
        ),
        (
            vec![],
            vec![("ALL_PROXY", "gopher://u:pw-SECRET@h")],
            "ftp-get: ALL_PROXY: gopher://u:****@h: unknown proxy scheme",
        ),
    ] {
        let mut args = args;
        args.extend(["-o", "-"]);
        let url = ftp.url("f");
        args.push(&url);
        let out = ftp_get(&args, &env);
        let line = out.fails(64);
        assert!(line.starts_with(says), "{line}");
        assert!(!line.contains("SECRET"), "{line}");
    }
    assert_eq!(ftp.connections(), 0);
}

#[test]
fn active_mode_through_a_proxy_is_refused_before_connecting() {
    let proxy = FakeProxy::builder().start();
    let ftp = FakeFtp::builder().file("f", "x").start();
    let url = ftp.url("f");
    let out = ftp_get(&["--active", "--proxy", &proxy.url(), "-o", "-", &url], &[]);
    assert_eq!(
        out.fails(64),
        format!(
            "ftp-get: {url}: --active cannot work through a proxy (the server cannot connect \
             back through it): leave out --active, or --noproxy the host"
        )
    );
    assert_eq!((proxy.connections(), ftp.connections()), (0, 0));
    // Without a proxy for the host, --active is as ever.
    let out = ftp_get(
        &["--active", "--noproxy", "127.0.0.1", "-o", "-", &url],
        &[("ALL_PROXY", &proxy.url())],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
}

// --- The real proxies (scripts/servers/proxy), with the real servers behind them. ---

#[test]
fn ftp_get_through_real_proxies_plain_and_ftps() {
    let Some(p) = proxy_servers() else { return };
    let Some(s) = servers() else { return };
    let want = std::fs::read(s.home.join("hello.txt")).unwrap();
    // socks5h with a name the proxy resolves; plain FTP, data through the proxy too.
    for (proxy, port, tls) in [
        (p.open("socks5h"), s.plain_port, "none"),
        (p.open("http"), s.ftps_port, "required"),
        (p.with_login("socks5", &p.password), s.ftps_port, "required"),
        (p.with_login("http", &p.password), s.plain_port, "none"),
    ] {
        let url = format!("ftp://{}@localhost:{port}/hello.txt", s.user);
        let out = tool("ftp-get")
            .args(["--tls", tls, "--proxy", &proxy, "--cacert"])
            .args([&s.ca_cert])
            .args(["--password-env", "PH_PW", "-o", "-", &url])
            .env("PH_PW", &s.password)
            .timeout(30)
            .run();
        assert_eq!(out.code, Some(0), "{proxy}: {out:#?}");
        assert_eq!(out.stdout, want, "{proxy}");
    }
}

#[test]
fn mail_tools_through_real_proxies() {
    let Some(p) = proxy_servers() else { return };
    let Some(d) = dovecot() else { return };
    let Some(smtp) = smtp_servers() else { return };
    let dir = TempDir::new("proxy-mail");
    // pop-fetch (user 19) over POP3S through SOCKS5 with a login, imap-fetch (user 18)
    // over IMAP with STARTTLS through HTTP CONNECT.
    for (bin, scheme, user, proxy) in [
        (
            "pop-fetch",
            "pop3s",
            19,
            p.with_login("socks5h", &p.password),
        ),
        ("imap-fetch", "imap", 18, p.open("http")),
    ] {
        d.clear(user);
        d.put(user, "1.proxy.test", b"Subject: through a proxy\n\nhello\n");
        let out_dir = dir.join(bin);
        let out = tool(bin)
            .home(dir.join("home"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("PH_PW", &d.password)
            .args([&d.url(scheme, user).replace("127.0.0.1", "localhost")])
            .args(["--password-env", "PH_PW", "--proxy", &proxy, "--cacert"])
            .args([&d.ca_cert])
            .args(["--maildir"])
            .args([&out_dir])
            .args(["--create-dirs"])
            .timeout(30)
            .run();
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (Some(0), ""),
            "{bin}: {out:#?}"
        );
        let new = std::fs::read_dir(out_dir.join("new")).unwrap().count();
        assert_eq!(new, 1, "{bin}");
    }
    // smtp-send through both kinds, STARTTLS and implicit TLS inside the tunnel.
    for (url, proxy) in [
        (
            format!("smtp://localhost:{}", smtp.store_port),
            p.open("socks5h"),
        ),
        (
            format!("smtps://localhost:{}", smtp.store_tls_port),
            p.with_login("http", &p.password),
        ),
    ] {
        let rcpt = format!("proxy-{}-{}@example.test", std::process::id(), url.len());
        let out = tool("smtp-send")
            .args(["--server", &url, "--proxy", &proxy, "--cacert"])
            .args([&smtp.ca_cert])
            .args([
                "--user",
                &smtp.user,
                "--password-env",
                "PH_PW",
                "--no-netrc",
                &rcpt,
            ])
            .env("PH_PW", &smtp.password)
            .input(b"From: a@example.test\nSubject: proxied\n\nhi\n")
            .timeout(30)
            .run();
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (Some(0), ""),
            "{proxy}: {out:#?}"
        );
        assert!(smtp.stored_for(&rcpt).is_some(), "{proxy}");
    }
}

#[test]
fn real_proxies_refuse_a_wrong_password_with_77() {
    let Some(p) = proxy_servers() else { return };
    let Some(s) = servers() else { return };
    for (proxy, says) in [
        (
            p.with_login("socks5h", "wrong-pw"),
            "SOCKS5 proxy 127.0.0.1:",
        ),
        (p.with_login("http", "wrong-pw"), "HTTP proxy 127.0.0.1:"),
    ] {
        let url = format!("ftp://127.0.0.1:{}/hello.txt", s.plain_port);
        let out = tool("ftp-get")
            .args(["--proxy", &proxy, "-o", "-", &url])
            .timeout(30)
            .run();
        let line = out.fails(77);
        assert!(line.starts_with(&format!("ftp-get: {says}")), "{line}");
        assert!(!line.contains("wrong-pw"), "{line}");
    }
    // An open HTTP proxy cannot reach a closed port: 75, with its status line.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ftp://127.0.0.1:{}/x", closed.local_addr().unwrap().port());
    drop(closed);
    let out = tool("ftp-get")
        .args(["--proxy", &p.open("http"), "-o", "-", &url])
        .timeout(30)
        .run();
    let line = out.fails(75);
    assert!(
        line.contains(": CONNECT 127.0.0.1:") && line.contains(" refused: \"HTTP/1."),
        "{line}"
    );
}
