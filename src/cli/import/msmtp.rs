//! msmtp's config file (`~/.msmtprc`), and the account grammar mpop shares: a command and
//! its argument per line; `#` starts a comment line; `defaults` starts the settings every
//! later account starts from; `account NAME` starts an account, `account NAME : A, B` one
//! that starts from the settings of the accounts A and B (defined above, in that order);
//! `account default : NAME` names the default account. An argument may be quoted (`"..."`,
//! also for part of it), `\"` and `\\` standing for `"` and `\`.

use super::{Bad, Builder, Format, Import, bad, lines};
use crate::session::sasl::Mechanism;

/// A command and its argument, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    /// The line it is on, from 1.
    pub line: usize,
}

/// An account, with what it inherits before its own settings (a later one wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub line: usize,
    pub settings: Vec<Setting>,
    /// How many of `settings` are its own lines (at the end).
    pub own: usize,
    /// The accounts it inherits from.
    pub bases: Vec<String>,
}

impl Account {
    /// Each key once, in the order first set, with the value set last.
    pub fn effective(&self) -> Vec<&Setting> {
        let mut out: Vec<&Setting> = Vec::new();
        for s in &self.settings {
            match out.iter_mut().find(|o| o.key == s.key) {
                Some(o) => *o = s,
                None => out.push(s),
            }
        }
        out
    }

    /// The value set last for `key`.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.key == key)
    }
}

/// A whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rc {
    pub accounts: Vec<Account>,
    /// `account default : NAME`: NAME.
    pub default: Option<String>,
}

/// Parses an msmtp or mpop config file. Pure.
pub fn parse(text: &str) -> Result<Rc, Bad> {
    let mut rc = Rc::default();
    let mut defaults: Vec<Setting> = Vec::new();
    // Where settings go: None before any `account` or `defaults`, Some(None) for
    // `defaults`, Some(Some(i)) for account i.
    let mut current: Option<Option<usize>> = None;
    for (line, text) in lines(text)? {
        let text = text.trim_start_matches([' ', '\t']);
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (key, rest) = text
            .split_once([' ', '\t'])
            .map_or((text, ""), |(k, r)| (k, r.trim_matches([' ', '\t'])));
        if !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(bad(line, format!("{key}: not a command")));
        }
        let value = unquote(rest).map_err(|why| bad(line, why))?;
        match key {
            "defaults" => {
                if !value.is_empty() {
                    return Err(bad(line, "defaults takes no argument"));
                }
                current = Some(None);
            }
            "account" => {
                let account = account(&rc, &defaults, &value, line)?;
                rc.accounts.push(account);
                current = Some(Some(rc.accounts.len() - 1));
            }
            _ => {
                let setting = Setting {
                    key: key.to_string(),
                    value,
                    line,
                };
                match current {
                    None => {
                        return Err(bad(
                            line,
                            format!("{key}: before any account or defaults line"),
                        ));
                    }
                    Some(None) => defaults.push(setting),
                    Some(Some(i)) => {
                        rc.accounts[i].settings.push(setting);
                        rc.accounts[i].own += 1;
                    }
                }
            }
        }
    }
    // `account default : NAME` and nothing of its own: NAME is the default account.
    if let Some(i) = rc
        .accounts
        .iter()
        .position(|a| a.name == "default" && a.own == 0 && a.bases.len() == 1)
    {
        let d = rc.accounts.remove(i);
        rc.default = d.bases.into_iter().next();
    } else if rc.accounts.iter().any(|a| a.name == "default") {
        rc.default = Some("default".to_string());
    }
    Ok(rc)
}

/// `account NAME` or `account NAME : BASE[, BASE...]`: the new account, starting from the
/// defaults so far and then each base's settings.
fn account(rc: &Rc, defaults: &[Setting], value: &str, line: usize) -> Result<Account, Bad> {
    let (name, bases) = match value.split_once(':') {
        Some((n, b)) => (n.trim(), Some(b)),
        None => (value.trim(), None),
    };
    if name.is_empty() {
        return Err(bad(line, "account: no name"));
    }
    if rc.accounts.iter().any(|a| a.name == name) {
        return Err(bad(line, format!("account {name}: defined twice")));
    }
    let mut account = Account {
        name: name.to_string(),
        line,
        settings: defaults.to_vec(),
        own: 0,
        bases: Vec::new(),
    };
    for base in bases.into_iter().flat_map(|b| b.split(',')) {
        let base = base.trim();
        let Some(from) = rc.accounts.iter().find(|a| a.name == base) else {
            return Err(bad(
                line,
                format!(
                    "account {name}: no account {base:?} above to inherit from (an account inherits from those defined before it)"
                ),
            ));
        };
        account.settings.extend(from.settings.iter().cloned());
        account.bases.push(base.to_string());
    }
    Ok(account)
}

/// An argument as msmtp reads it: `"` quotes (any part), `\"` and `\\` stand for `"` and
/// `\`; a quote left open is an error. Pure.
pub fn unquote(arg: &str) -> Result<String, String> {
    let mut out = String::with_capacity(arg.len());
    let mut quoted = false;
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('"' | '\\')) => {
                out.extend(chars.next());
            }
            '"' => quoted = !quoted,
            c => out.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".to_string());
    }
    Ok(out)
}

/// `on`/`off` (an empty argument is `on`, as msmtp reads `tls` alone).
pub(crate) fn on_off(s: &Setting) -> Result<bool, Bad> {
    match s.value.as_str() {
        "" | "on" => Ok(true),
        "off" => Ok(false),
        v => Err(bad(s.line, format!("{} {v}: expected on or off", s.key))),
    }
}

/// What the SMTP and POP3 accounts share: the server URL from `host`, `port`, `tls` and
/// `tls_starttls`; the TLS settings; the login (`user`, `password`, `passwordeval`); the
/// proxy and the timeout. Returns the keys it read; `auth` is the caller's.
pub(crate) fn common(
    b: &mut Builder<'_>,
    acc: &Account,
    schemes: (&str, &str),
) -> Result<&'static [&'static str], Bad> {
    let tls = acc.get("tls").map(on_off).transpose()?.unwrap_or(false);
    let starttls = acc
        .get("tls_starttls")
        .map(on_off)
        .transpose()?
        .unwrap_or(true);
    if let Some(h) = acc.get("host") {
        let host = host(h)?;
        let port = match acc.get("port") {
            Some(p) => format!(":{}", port(p)?),
            None => String::new(),
        };
        let scheme = if tls && !starttls {
            schemes.1
        } else {
            schemes.0
        };
        b.set("server", format!("{scheme}://{host}{port}"));
        if !tls {
            b.set("tls", "none");
        } else if starttls {
            b.set("tls", "required");
        }
    }
    for s in acc.effective() {
        let (line, v) = (s.line, s.value.as_str());
        match s.key.as_str() {
            "tls_trust_file" if v == "system" || v.is_empty() => {}
            "tls_trust_file" => b.set("cacert", v),
            "tls_fingerprint" => match pin(v) {
                Some(p) => b.set("pin", p),
                None => b.skip(
                    line,
                    &s.key,
                    v,
                    "only a SHA-256 fingerprint is a pin = \"sha256:HEX\"",
                ),
            },
            "tls_cert_file" => b.set("cert", v),
            "tls_key_file" => b.set("key", v),
            "tls_certcheck" if !on_off(s)? => b.flag("insecure", true),
            "tls_host_override" => b.set("tls_server_name", v),
            "user" => b.set("user", v),
            "password" => b.password(line, &s.key, v),
            "passwordeval" => b.set("password_cmd", v),
            "timeout" if v == "off" => {}
            "timeout" if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) => {
                b.set("timeout", format!("{v}s"))
            }
            "timeout" => b.skip(line, &s.key, v, "not a number of seconds"),
            "proxy_host" => {
                let port = match acc.get("proxy_port") {
                    Some(p) => port(p)?,
                    None => "1080".to_string(),
                };
                // msmtp and mpop send the server's name to the proxy, which resolves it.
                b.set("proxy", format!("socks5h://{}:{port}", host(s)?));
            }
            _ => {}
        }
    }
    Ok(&[
        "host",
        "port",
        "tls",
        "tls_starttls",
        "tls_trust_file",
        "tls_fingerprint",
        "tls_cert_file",
        "tls_key_file",
        "tls_certcheck",
        "tls_host_override",
        "user",
        "password",
        "passwordeval",
        "timeout",
        "proxy_host",
        "proxy_port",
    ])
}

/// A host name or address as a URL's host: nothing that would end or change the URL
/// (`/`, `@`, `?`, `#`, space), an IPv6 address in brackets.
pub(crate) fn host(s: &Setting) -> Result<String, Bad> {
    let v = s.value.as_str();
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/@?#[]\\\"".contains(c))
    {
        return Err(bad(s.line, format!("{} {v:?}: not a host name", s.key)));
    }
    Ok(if v.contains(':') {
        format!("[{v}]")
    } else {
        v.to_string()
    })
}

/// A port: 1 to 65535.
pub(crate) fn port(s: &Setting) -> Result<String, Bad> {
    match s.value.parse::<u16>() {
        Ok(p) if p > 0 && s.value.bytes().all(|b| b.is_ascii_digit()) => Ok(p.to_string()),
        _ => Err(bad(
            s.line,
            format!("{} {:?}: not a port number", s.key, s.value),
        )),
    }
}

/// msmtp's `tls_fingerprint` (hex bytes, colons between them) as `sha256:HEX`, when it is a
/// SHA-256 one (32 bytes; msmtp also took SHA-1 and MD5 ones).
fn pin(v: &str) -> Option<String> {
    let hex: String = v.chars().filter(|&c| c != ':').collect();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// Why an msmtp key has no equivalent in smtp-send.
fn smtp_why(key: &str) -> &'static str {
    match key {
        "protocol" => "smtp-send speaks SMTP only",
        "tls_crl_file" | "tls_priorities" | "tls_min_dh_prime_bits" => {
            "smtp-send's TLS has no such setting"
        }
        "auto_from" | "set_from_header" | "add_missing_from_header" => {
            "smtp-send takes the sender from -f or the message's From (else LOGIN@maildomain)"
        }
        "add_missing_date_header" => "smtp-send adds a Date header when the message has none",
        "remove_bcc_headers" => "smtp-send never sends a Bcc header",
        "undisclosed_recipients"
        | "eval"
        | "source_ip"
        | "socket"
        | "ntlmdomain"
        | "dsn_notify"
        | "dsn_return"
        | "allow_from_override"
        | "from_full_name" => "smtp-send has no such account setting (see its flags)",
        _ => "smtp-send has no equivalent",
    }
}

/// The tables of an msmtp or mpop file: each account's server, TLS, login and proxy
/// ([`common`]), then `own` for each of its other keys (with the value set last), then
/// `end` for the account as a whole.
pub(crate) fn accounts(
    rc: &Rc,
    format: Format,
    schemes: (&str, &str),
    own: impl Fn(&mut Builder<'_>, &Setting) -> Result<(), Bad>,
    end: impl Fn(&mut Builder<'_>, &Account),
) -> Result<Import, Bad> {
    let mut import = Import {
        default: rc.default.clone(),
        ..Import::default()
    };
    for acc in &rc.accounts {
        let mut b = Builder::new(format, &mut import, &acc.name);
        let done = common(&mut b, acc, schemes)?;
        for s in acc.effective() {
            if !done.contains(&s.key.as_str()) {
                own(&mut b, s)?;
            }
        }
        end(&mut b, acc);
        b.done();
    }
    Ok(import)
}

/// The `[accounts.NAME]` tables of an msmtp file, for smtp-send.
pub fn convert(rc: &Rc) -> Result<Import, Bad> {
    accounts(rc, Format::Msmtp, ("smtp", "smtps"), smtp_key, |_, _| {})
}

/// An msmtp key besides [`common`]'s.
fn smtp_key(b: &mut Builder<'_>, s: &Setting) -> Result<(), Bad> {
    let (line, key, v) = (s.line, s.key.as_str(), s.value.as_str());
    match key {
        "auth" => auth(b, s, "smtp-send"),
        "from" if v.contains(['?', '[', '%']) => b.skip(
            line,
            key,
            v,
            "smtp-send's from takes * as its only wildcard",
        ),
        "from" => b.set("from", v),
        "domain" if v.contains('%') => b.skip(line, key, v, "helo takes a name, not a pattern"),
        "domain" => b.set("helo", v),
        "aliases" => b.set("aliases", v),
        "maildomain" => b.set("maildomain", v),
        "logfile" if v == "-" => b.skip(line, key, v, "log takes a file"),
        "logfile" => b.set("log", v),
        "syslog" => match v {
            "off" => {}
            "" | "on" | "LOG_MAIL" => b.flag("syslog", true),
            _ => b.skip(line, key, v, "smtp-send logs to the mail facility"),
        },
        _ => b.skip(line, key, v, smtp_why(key)),
    }
    Ok(())
}

/// `auth on|off|MECH`: on is the default (the best the server offers); a SASL mechanism
/// posthaste offers is `auth = "mech"`, in lower case as every tool's `--auth` takes it (an
/// account's value must suit each tool that has the key).
pub(crate) fn auth(b: &mut Builder<'_>, s: &Setting, tool: &str) {
    let v = s.value.as_str();
    match v {
        "" | "on" => {}
        "off" => b.skip(
            s.line,
            &s.key,
            v,
            &format!("{tool} logs in whenever it has a user: leave out user to send without"),
        ),
        _ => match Mechanism::parse(v) {
            Some(m) => b.set("auth", m.name().to_ascii_lowercase()),
            None => b.skip(s.line, &s.key, v, &format!("{tool} does not offer it")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::import::tests::s;

    const SAMPLE: &str = "\
# a comment
defaults
  auth on
  tls on
  logfile ~/.msmtp.log

account work
host mail.example.com
port 587
user \"me@example.com\"
passwordeval \"pass show \\\"mail\\\"/work\"
from *@example.com
domain laptop.example.com
tls_trust_file /etc/ssl/work.pem
tls_fingerprint AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89

account home : work
host smtp.home.example
tls_starttls off
port 465
auth plain
password s3cr#t
proxy_host 127.0.0.1
proxy_port 9050
tls_crl_file /x

account default : home
";

    #[test]
    fn accounts_inherit_from_defaults_and_bases() {
        let rc = parse(SAMPLE).unwrap();
        assert_eq!(rc.default.as_deref(), Some("home"));
        let names: Vec<&str> = rc.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["work", "home"]);
        let home = &rc.accounts[1];
        assert_eq!(home.get("user").unwrap().value, "me@example.com");
        assert_eq!(home.get("host").unwrap().value, "smtp.home.example");
        assert_eq!(home.get("password").unwrap().value, "s3cr#t");
        assert_eq!(
            rc.accounts[0].get("passwordeval").unwrap().value,
            "pass show \"mail\"/work"
        );
    }

    #[test]
    fn aliases_and_maildomain_are_carried_over() {
        let rc = "account a\nhost h\naliases /etc/aliases\nmaildomain example.com\nauto_from on\n";
        let import = convert(&parse(rc).unwrap()).unwrap();
        let a = &import.tables[0];
        assert_eq!(a.get("aliases"), Some(&s("/etc/aliases")));
        assert_eq!(a.get("maildomain"), Some(&s("example.com")));
        let text = import.render("rc", "smtp-send --import-msmtprc");
        assert!(
            text.contains("# msmtp: auto_from on: not carried over ("),
            "{text}"
        );
    }

    #[test]
    fn tables_say_what_msmtp_meant() {
        let import = convert(&parse(SAMPLE).unwrap()).unwrap();
        let work = &import.tables[0];
        assert_eq!(work.get("server"), Some(&s("smtp://mail.example.com:587")));
        assert_eq!(work.get("tls"), Some(&s("required")));
        assert_eq!(
            work.get("password_cmd"),
            Some(&s("pass show \"mail\"/work"))
        );
        assert_eq!(work.get("from"), Some(&s("*@example.com")));
        assert_eq!(work.get("helo"), Some(&s("laptop.example.com")));
        assert_eq!(work.get("log"), Some(&s("~/.msmtp.log")));
        assert_eq!(work.get("cacert"), Some(&s("/etc/ssl/work.pem")));
        assert_eq!(
            work.get("pin"),
            Some(&s(
                "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
            ))
        );
        assert_eq!(work.get("auth"), None);
        let home = &import.tables[1];
        assert_eq!(
            home.get("server"),
            Some(&s("smtps://smtp.home.example:465"))
        );
        assert_eq!(home.get("tls"), None);
        assert_eq!(home.get("auth"), Some(&s("plain")));
        assert_eq!(home.get("password"), Some(&s("s3cr#t")));
        assert_eq!(home.get("proxy"), Some(&s("socks5h://127.0.0.1:9050")));
        let text = import.render("rc", "smtp-send --import-msmtprc");
        assert!(text.contains("# msmtp: tls_crl_file /x: not carried over ("));
        assert!(text.contains("# default = \"home\"\n"));
        // The password's warning names the line, never the secret.
        assert!(
            import
                .warnings
                .iter()
                .any(|w| w.starts_with("line 22: account home: password"))
        );
        assert!(import.warnings.iter().all(|w| !w.contains("s3cr")));
        crate::cli::config::parse(&text).expect("valid TOML");
    }

    #[test]
    fn an_unknown_base_is_malformed_naming_the_line() {
        let e = parse("account a : nope\nhost h\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.why.contains("no account \"nope\""), "{}", e.why);
        // A base must come first, as msmtp reads the file top down.
        assert_eq!(parse("account a : b\naccount b\n").unwrap_err().line, 1);
    }

    #[test]
    fn hostile_lines_are_malformed_or_escaped() {
        assert_eq!(parse("account a\nuser \"me\n").unwrap_err().line, 2);
        assert_eq!(parse("account a\nuser me\0x\n").unwrap_err().line, 2);
        assert_eq!(parse("host h\n").unwrap_err().line, 1);
        assert_eq!(parse("account a\nHost h\n").unwrap_err().line, 2);
        assert_eq!(
            parse("account a\nhost h/x\n")
                .map(|rc| convert(&rc))
                .unwrap()
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            parse("account a\nport 99999\nhost h\n")
                .map(|rc| convert(&rc))
                .unwrap()
                .unwrap_err()
                .line,
            2
        );
        assert_eq!(
            parse("account a\ntls maybe\n")
                .map(|rc| convert(&rc))
                .unwrap()
                .unwrap_err()
                .line,
            2
        );
        // CRLF line ends; a very long value; control characters and quotes in a value.
        let long = "x".repeat(100_000);
        let rc = parse(&format!(
            "account a\r\nhost h\r\nuser {long}\r\nfrom \"a\\\"b\u{1b}]0;t\u{7}\"@x\r\n"
        ))
        .unwrap();
        let import = convert(&rc).unwrap();
        assert_eq!(import.tables[0].get("server"), Some(&s("smtp://h")));
        assert_eq!(import.tables[0].get("user"), Some(&s(&long)));
        let text = import.render("rc", "x");
        let t = crate::cli::config::parse(&text).expect("valid TOML");
        let crate::cli::config::Value::Table(accounts) = t["accounts"].get_ref() else {
            panic!("no accounts")
        };
        let crate::cli::config::Value::Table(a) = accounts["a"].get_ref() else {
            panic!("no a")
        };
        assert!(
            matches!(a["from"].get_ref(), crate::cli::config::Value::String(f) if f == "a\"b\u{1b}]0;t\u{7}@x")
        );
    }

    #[test]
    fn an_account_named_default_with_settings_is_an_account() {
        let rc = parse("account default\nhost h\n").unwrap();
        assert_eq!(rc.default.as_deref(), Some("default"));
        assert_eq!(rc.accounts.len(), 1);
    }

    #[test]
    fn an_account_defined_twice_is_malformed() {
        assert_eq!(parse("account a\naccount a\n").unwrap_err().line, 2);
    }
}
