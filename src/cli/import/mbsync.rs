//! mbsync's (isync's) config file (`~/.mbsyncrc`): sections that start with a keyword and a
//! name (`IMAPAccount`, `IMAPStore`, `MaildirStore`, `Channel`, `Group`) and end at an empty
//! line; keywords outside a section are global (a Channel's defaults). Keywords are read
//! ignoring case. An argument is a word: `"` quotes (any part of it), `\` takes the next
//! character as it is, and a word starting with `#` starts a comment.
//!
//! Each Channel that pulls from an IMAP store into a Maildir store becomes an account of
//! imap-fetch, named as the Channel: its server and login from the IMAP store's account,
//! its one folder from the far side, its Maildir from the near side.

use super::msmtp::Setting;
use super::{Bad, Builder, Format, Import, bad, lines};
use crate::session::sasl::Mechanism;

/// A line's keyword and words, unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: String,
    pub args: Vec<String>,
    pub line: usize,
}

impl Line {
    fn is(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }

    /// Its words as one value (`Sync Pull New`: `Pull New`).
    fn value(&self) -> String {
        self.args.join(" ")
    }
}

/// A section: `IMAPAccount work` and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The keyword as isync spells it (`IMAPAccount`).
    pub kind: &'static str,
    pub name: String,
    pub line: usize,
    pub lines: Vec<Line>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&Line> {
        self.lines.iter().rev().find(|l| l.is(key))
    }
}

/// A whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rc {
    pub sections: Vec<Section>,
    pub globals: Vec<Line>,
}

impl Rc {
    fn find(&self, kind: &str, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.kind == kind && s.name == name)
    }
}

const SECTIONS: &[&str] = &[
    "IMAPAccount",
    "IMAPStore",
    "MaildirStore",
    "Channel",
    "Group",
];

/// Parses an mbsync config file. Pure.
pub fn parse(text: &str) -> Result<Rc, Bad> {
    let mut rc = Rc::default();
    let mut in_section = false;
    for (line, text) in lines(text)? {
        let words = words(text).map_err(|why| bad(line, why))?;
        let Some((key, args)) = words.split_first() else {
            // An empty line ends a section; a comment line does not.
            if !text.trim_start().starts_with('#') {
                in_section = false;
            }
            continue;
        };
        let l = Line {
            key: key.clone(),
            args: args.to_vec(),
            line,
        };
        let in_group = in_section && rc.sections.last().is_some_and(|s| s.kind == "Group");
        let member = in_group && (l.is("Channel") || l.is("Channels"));
        if let Some(kind) = SECTIONS.iter().find(|k| l.is(k)).filter(|_| !member) {
            let Some(name) = l.args.first() else {
                return Err(bad(line, format!("{kind}: no name")));
            };
            if rc.find(kind, name).is_some() {
                return Err(bad(line, format!("{kind} {name}: defined twice")));
            }
            rc.sections.push(Section {
                kind,
                name: name.clone(),
                line,
                lines: if *kind == "Group" {
                    vec![l.clone()]
                } else {
                    Vec::new()
                },
            });
            in_section = true;
        } else if in_section {
            if let Some(s) = rc.sections.last_mut() {
                s.lines.push(l);
            }
        } else {
            rc.globals.push(l);
        }
    }
    Ok(rc)
}

/// A line's words as isync reads them; a word starting with `#` ends the line. Pure.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(out),
            _ => {}
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) => word.push(e),
                    None => return Err("a \\ at the end of the line".to_string()),
                },
                '"' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => break,
                c => word.push(c),
            }
        }
        if quoted {
            return Err("a quote is not closed".to_string());
        }
        out.push(word);
    }
}

/// `:STORE:BOX` of a Channel's `Far` or `Near` (`Master`, `Slave`): the store and the box
/// (empty: the box is each Pattern's).
fn side(l: &Line) -> Result<(&str, &str), Bad> {
    let v = l.args.first().map(String::as_str).unwrap_or("");
    v.strip_prefix(':')
        .and_then(|r| r.split_once(':'))
        .ok_or_else(|| {
            bad(
                l.line,
                format!("{} {v:?}: expected :STORE: or :STORE:BOX", l.key),
            )
        })
}

/// Why a key of mbsync has no equivalent in imap-fetch.
fn why(key: &str) -> &'static str {
    match key.to_ascii_lowercase().as_str() {
        "tunnel" => "imap-fetch connects to a server, not through a command",
        "usercmd" => "give user",
        "expunge" | "trash" | "trashnewonly" | "trashremotenew" => {
            "imap-fetch changes nothing on the server but with delete"
        }
        "remove" | "create" => "imap-fetch creates or removes no mailbox but its one Maildir",
        "syncstate" => "imap-fetch keeps its own state file per account",
        "maxmessages" | "expireunread" => "imap-fetch keeps every message it fetched",
        "copyarrivaldate" => "imap-fetch stores messages as they arrive",
        "sslversions" | "tlsversions" | "ciphers" | "cipherstring" => {
            "use tls_min and tls_max for the TLS versions"
        }
        "systemcertificates" => "cacert replaces the system's certificates",
        "pipelinedepth" | "disableextension" | "disableextensions" => {
            "imap-fetch pipelines and uses extensions as the server offers them"
        }
        "subfolders" | "flatten" | "pathdelimiter" | "usenamespace" | "altmap" | "mapinbox"
        | "infodelimiter" => "imap-fetch fetches one folder into one Maildir",
        _ => "imap-fetch has no equivalent",
    }
}

/// The `[accounts.NAME]` tables of an mbsync file: one per Channel that pulls from IMAP
/// into a Maildir.
pub fn convert(rc: &Rc) -> Result<Import, Bad> {
    let mut import = Import::default();
    for g in &rc.globals {
        if !CHANNEL_KEYS.iter().any(|k| g.is(k)) {
            let what = format!("{} {}", g.key, g.value());
            import.skip(Format::Mbsync, g.line, &what, why(&g.key));
        }
    }
    for sec in &rc.sections {
        match sec.kind {
            "Channel" => channel(rc, sec, &mut import)?,
            "Group" => import.skip(
                Format::Mbsync,
                sec.line,
                &format!("Group {}", sec.name),
                "imap-fetch --account NAME repeated, or --all-accounts, fetches several",
            ),
            _ => {}
        }
    }
    Ok(import)
}

/// The keys a Channel takes, which may also be global.
const CHANNEL_KEYS: &[&str] = &[
    "Sync",
    "Create",
    "Remove",
    "Expunge",
    "CopyArrivalDate",
    "SyncState",
    "MaxMessages",
    "ExpireUnread",
    "Pattern",
    "Patterns",
];

fn channel(rc: &Rc, ch: &Section, import: &mut Import) -> Result<(), Bad> {
    let missing = |what: &str| bad(ch.line, format!("Channel {}: no {what}", ch.name));
    let far = ch
        .get("Far")
        .or(ch.get("Master"))
        .ok_or_else(|| missing("Far"))?;
    let near = ch
        .get("Near")
        .or(ch.get("Slave"))
        .ok_or_else(|| missing("Near"))?;
    let (far_store, far_box) = side(far)?;
    let (near_store, near_box) = side(near)?;
    let store = |l: &Line, name: &str| {
        rc.sections
            .iter()
            .find(|s| s.name == name && s.kind.ends_with("Store"))
            .ok_or_else(|| {
                bad(
                    l.line,
                    format!("{} :{name}: there is no store {name}", l.key),
                )
            })
    };
    let (imap, maildir) = (store(far, far_store)?, store(near, near_store)?);
    if imap.kind != "IMAPStore" || maildir.kind != "MaildirStore" {
        import.skip(
            Format::Mbsync,
            ch.line,
            &format!("Channel {}", ch.name),
            "imap-fetch fetches from an IMAP store (Far) into a Maildir store (Near)",
        );
        return Ok(());
    }
    // The account's lines, then those the store gives itself (an IMAPStore may hold them).
    let mut account: Vec<&Line> = Vec::new();
    if let Some(a) = imap.get("Account") {
        let name = a.args.first().map(String::as_str).unwrap_or("");
        let sec = rc.find("IMAPAccount", name).ok_or_else(|| {
            bad(
                a.line,
                format!("Account {name}: there is no IMAPAccount {name}"),
            )
        })?;
        account.extend(&sec.lines);
    }
    account.extend(imap.lines.iter().filter(|l| !l.is("Account")));
    let get = |key: &str| account.iter().rev().find(|l| l.is(key)).copied();

    let mut b = Builder::new(Format::Mbsync, import, &ch.name);
    b.note(&format!(
        "mbsync: Channel {}: Far :{far_store}:{far_box}, Near :{near_store}:{near_box}",
        ch.name
    ));
    if let Some(t) = get("Tunnel") {
        b.skip(t.line, &t.key, &t.value(), why(&t.key));
    } else {
        let host = get("Host").ok_or_else(|| {
            bad(
                imap.line,
                format!(
                    "IMAPStore {}: no Host (nor an IMAPAccount with one)",
                    imap.name
                ),
            )
        })?;
        server(&mut b, host, get("Port"), get("SSLType").or(get("TLSType")))?;
    }
    let done = ["Host", "Port", "SSLType", "TLSType", "Tunnel"];
    // Each key once, in the file's order, with the value set last.
    for (i, l) in account.iter().enumerate() {
        let later = account[i + 1..].iter().any(|m| m.is(&l.key));
        if !later && !done.iter().any(|d| l.is(d)) {
            login(&mut b, l);
        }
    }

    // The one folder, and where it goes.
    let patterns: Vec<&str> = ch
        .lines
        .iter()
        .chain(&rc.globals)
        .filter(|l| l.is("Pattern") || l.is("Patterns"))
        .flat_map(|l| l.args.iter().map(String::as_str))
        .collect();
    let box_name = if !far_box.is_empty() {
        far_box.to_string()
    } else {
        match patterns.as_slice() {
            [] => "INBOX".to_string(),
            [one] if !one.contains(['*', '%', '!']) => one.to_string(),
            more => {
                let l = ch
                    .lines
                    .iter()
                    .chain(&rc.globals)
                    .find(|l| l.is("Pattern") || l.is("Patterns"))
                    .map_or(ch.line, |l| l.line);
                b.skip(
                    l,
                    "Patterns",
                    &more.join(" "),
                    "imap-fetch fetches one folder: make an account per folder, with folder = \"NAME\"",
                );
                "INBOX".to_string()
            }
        }
    };
    // An IMAPStore's Path is the prefix of its boxes' names on the server, but INBOX's.
    let folder = match imap.get("Path") {
        Some(p) if !box_name.eq_ignore_ascii_case("INBOX") => format!("{}{box_name}", p.value()),
        _ => box_name.clone(),
    };
    if folder != "INBOX" {
        b.set("folder", folder.as_str());
    }
    let near_name = if near_box.is_empty() {
        box_name.as_str()
    } else {
        near_box
    };
    b.set("maildir", maildir_path(maildir, near_name, near)?);

    // What the Channel (and the globals before it) says about syncing.
    let sync = ch
        .get("Sync")
        .or(rc.globals.iter().rev().find(|l| l.is("Sync")));
    let one_way = sync.is_some_and(|s| {
        s.args.iter().any(|a| a.eq_ignore_ascii_case("Pull"))
            && !s.args.iter().any(|a| {
                a.to_ascii_lowercase().starts_with("push")
                    || ["all", "full", "none"].contains(&a.to_ascii_lowercase().as_str())
            })
    });
    if !one_way {
        let (line, value) = sync.map_or((ch.line, "All".to_string()), |s| (s.line, s.value()));
        b.skip(
            line,
            "Sync",
            &value,
            "imap-fetch fetches one way, server to Maildir: nothing is pushed, no flag is synced",
        );
    }
    let skip = [
        "Far", "Near", "Master", "Slave", "Sync", "Pattern", "Patterns",
    ];
    let global = rc
        .globals
        .iter()
        .filter(|l| CHANNEL_KEYS.iter().any(|k| l.is(k)));
    for l in global.chain(&ch.lines) {
        if !skip.iter().any(|k| l.is(k)) {
            b.skip(l.line, &l.key, &l.value(), why(&l.key));
        }
    }
    for l in &maildir.lines {
        if !l.is("Path") && !l.is("Inbox") {
            b.skip(l.line, &l.key, &l.value(), why(&l.key));
        }
    }
    b.done();
    Ok(())
}

/// `server` and `tls` from `Host`, `Port` and `SSLType` (`TLSType` in isync 1.5): IMAPS is
/// TLS from the start, STARTTLS (isync's default) requires the upgrade, None none.
fn server(
    b: &mut Builder<'_>,
    host: &Line,
    port: Option<&Line>,
    tls: Option<&Line>,
) -> Result<(), Bad> {
    let as_setting = |l: &Line| Setting {
        key: l.key.clone(),
        value: l.value(),
        line: l.line,
    };
    let host = super::msmtp::host(&as_setting(host))?;
    let port = match port {
        Some(p) => format!(":{}", super::msmtp::port(&as_setting(p))?),
        None => String::new(),
    };
    let kind = tls.map(|t| t.value().to_ascii_lowercase());
    match kind.as_deref() {
        Some("imaps") => b.set("server", format!("imaps://{host}{port}")),
        None | Some("starttls") => {
            b.set("server", format!("imap://{host}{port}"));
            b.set("tls", "required");
        }
        Some("none") => {
            b.set("server", format!("imap://{host}{port}"));
            b.set("tls", "none");
        }
        Some(other) => {
            let l = tls.map_or(0, |t| t.line);
            return Err(bad(
                l,
                format!("SSLType {other}: expected IMAPS, STARTTLS or None"),
            ));
        }
    }
    Ok(())
}

/// A key of the IMAP account or store other than the server's.
fn login(b: &mut Builder<'_>, l: &Line) {
    let v = l.value();
    match l.key.to_ascii_lowercase().as_str() {
        "user" => b.set("user", v),
        "pass" => b.password(l.line, &l.key, &v),
        // A leading + only tells isync the command may prompt.
        "passcmd" => b.set(
            "password_cmd",
            v.strip_prefix('+').unwrap_or(&v).to_string(),
        ),
        "certificatefile" => b.set("cacert", v),
        "clientcertificate" => b.set("cert", v),
        "clientkey" => b.set("key", v),
        "authmechs" | "authmech" => match l.args.as_slice() {
            [one] if one == "*" => {}
            [one] if Mechanism::parse(one).is_some() => {
                b.set("auth", one.to_ascii_lowercase());
            }
            _ => b.skip(
                l.line,
                &l.key,
                &v,
                "auth takes one mechanism imap-fetch offers",
            ),
        },
        "timeout" if v.bytes().all(|c| c.is_ascii_digit()) && v != "0" && !v.is_empty() => {
            b.set("timeout", format!("{v}s"))
        }
        "systemcertificates" if v.eq_ignore_ascii_case("yes") => {}
        "path" => {} // the folder's prefix (see channel)
        _ => b.skip(l.line, &l.key, &v, why(&l.key)),
    }
}

/// The Maildir of the near side's box `name`: INBOX is the store's `Inbox` (isync's default
/// `~/Maildir`), any other box `Path` followed by its name, as isync joins them.
fn maildir_path(store: &Section, name: &str, near: &Line) -> Result<String, Bad> {
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok(store
            .get("Inbox")
            .map_or("~/Maildir".to_string(), Line::value));
    }
    match store.get("Path") {
        Some(p) => Ok(format!("{}{name}", p.value())),
        None => Err(bad(
            near.line,
            format!("MaildirStore {}: no Path for the box {name}", store.name),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::import::tests::s;

    const SAMPLE: &str = "\
Create Near
SyncState *

IMAPAccount work
Host imap.example.com
User \"me@example.com\"
PassCmd \"pass show mail/work\" # a comment
SSLType IMAPS
CertificateFile /etc/ssl/certs/ca-certificates.crt
PipelineDepth 1

IMAPStore work-remote
Account work
Path INBOX.

MaildirStore work-local
Path ~/Mail/work/
Inbox ~/Mail/work/INBOX
SubFolders Verbatim

Channel work
Far :work-remote:
Near :work-local:
Patterns INBOX
Sync Pull

Channel archive
Far :work-remote:Archive
Near :work-local:
Sync All

Channel many
Far :work-remote:
Near :work-local:
Patterns * !Junk

Channel push
Far :work-local:
Near :work-remote:

Group all
Channel work
";

    #[test]
    fn words_unquote_escape_and_end_at_a_comment() {
        assert_eq!(words(r#"Pass "a b\"c" # x"#).unwrap(), ["Pass", "a b\"c"]);
        assert_eq!(words(r"Path a\ b").unwrap(), ["Path", "a b"]);
        assert_eq!(words("  # only").unwrap(), Vec::<String>::new());
        assert!(words("Pass \"open").is_err());
        assert!(words("Pass x\\").is_err());
    }

    #[test]
    fn each_pulling_channel_is_an_account() {
        let import = convert(&parse(SAMPLE).unwrap()).unwrap();
        let names: Vec<&str> = import.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["work", "archive", "many"]);
        let work = &import.tables[0];
        assert_eq!(work.get("server"), Some(&s("imaps://imap.example.com")));
        assert_eq!(work.get("tls"), None);
        assert_eq!(work.get("user"), Some(&s("me@example.com")));
        assert_eq!(work.get("password_cmd"), Some(&s("pass show mail/work")));
        assert_eq!(
            work.get("cacert"),
            Some(&s("/etc/ssl/certs/ca-certificates.crt"))
        );
        assert_eq!(work.get("maildir"), Some(&s("~/Mail/work/INBOX")));
        assert_eq!(work.get("folder"), None);
        let archive = &import.tables[1];
        assert_eq!(archive.get("folder"), Some(&s("INBOX.Archive")));
        assert_eq!(archive.get("maildir"), Some(&s("~/Mail/work/Archive")));
        let text = import.render("rc", "imap-fetch --import-mbsyncrc");
        assert!(
            text.contains("# mbsync: Sync All: not carried over ("),
            "{text}"
        );
        assert!(text.contains(
            "# mbsync: Patterns * !Junk: not carried over (imap-fetch fetches one folder"
        ));
        assert!(text.contains("# mbsync: Channel push: not carried over ("));
        assert!(text.contains("# mbsync: Group all: not carried over ("));
        assert!(text.contains("# mbsync: PipelineDepth 1: not carried over ("));
        crate::cli::config::parse(&text).expect("valid TOML");
        // PipelineDepth's line is said once, though three accounts use it.
        assert_eq!(
            import
                .warnings
                .iter()
                .filter(|w| w.contains("PipelineDepth"))
                .count(),
            1
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        let e = |t: &str| convert(&parse(t)?).map(|_| ());
        assert_eq!(
            e("Channel c\nFar :nope:\nNear :nope:\n").unwrap_err().line,
            2
        );
        assert_eq!(e("Channel c\nFar nope\nNear :l:\n").unwrap_err().line, 2);
        assert_eq!(e("Channel c\nNear :l:\n").unwrap_err().line, 1);
        assert_eq!(e("IMAPStore r\nAccount gone\n\nMaildirStore l\nPath /m/\n\nChannel c\nFar :r:\nNear :l:\n").unwrap_err().line, 2);
        assert_eq!(e("IMAPStore r\nHost h\nSSLType Maybe\n\nMaildirStore l\n\nChannel c\nFar :r:\nNear :l:\n").unwrap_err().line, 3);
        assert_eq!(e("IMAPAccount a\nPass \"x\n").unwrap_err().line, 2);
        assert_eq!(e("IMAPAccount a\r\nPass x\0\r\n").unwrap_err().line, 2);
    }

    #[test]
    fn a_store_may_hold_its_account_and_starttls_is_required() {
        let import = convert(
            &parse("IMAPStore r\nHost ::1\nPort 1143\nUser u\nPass \"p w\"\n\nMaildirStore l\n\nChannel c\nFar :r:\nNear :l:\nSync Pull New\n")
                .unwrap(),
        )
        .unwrap();
        let c = &import.tables[0];
        assert_eq!(c.get("server"), Some(&s("imap://[::1]:1143")));
        assert_eq!(c.get("tls"), Some(&s("required")));
        assert_eq!(c.get("password"), Some(&s("p w")));
        assert_eq!(c.get("maildir"), Some(&s("~/Maildir")));
        assert!(import.warnings.iter().all(|w| !w.contains("p w")));
        assert!(import.warnings.iter().all(|w| !w.contains("Sync")));
    }
}
