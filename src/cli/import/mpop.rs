//! mpop's config file (`~/.mpoprc`): msmtp's account grammar ([`super::msmtp::parse`]) with
//! mpop's own commands, converted for pop-fetch.

use super::msmtp::{Account, Rc, Setting, accounts, auth, on_off};
use super::{Bad, Builder, Format, Import};

/// Why an mpop key has no equivalent in pop-fetch.
fn why(key: &str) -> &'static str {
    match key {
        "uidls_file" => {
            "pop-fetch keeps its own state file, in its own format; its first run fetches again what mpop left on the server"
        }
        "killsize" => {
            "pop-fetch never deletes a message it has not stored; max_size skips large ones"
        }
        "tls_crl_file" | "tls_priorities" | "tls_min_dh_prime_bits" => {
            "pop-fetch's TLS has no such setting"
        }
        "pipelining" => "pop-fetch pipelines whenever the server offers it",
        "received_header" => "pop-fetch stores each message as the server sent it",
        "filter" | "source_ip" | "socket" | "ntlmdomain" | "eval" => {
            "pop-fetch has no such account setting"
        }
        _ => "pop-fetch has no equivalent",
    }
}

/// The `[accounts.NAME]` tables of an mpop file, for pop-fetch.
pub fn convert(rc: &Rc) -> Result<Import, Bad> {
    accounts(rc, Format::Mpop, ("pop3", "pop3s"), pop_key, needs_store)
}

/// An mpop key besides [`super::msmtp::common`]'s.
fn pop_key(b: &mut Builder<'_>, s: &Setting) -> Result<(), Bad> {
    let (line, key, v) = (s.line, s.key.as_str(), s.value.as_str());
    match key {
        // pop-fetch's own methods: in [accounts.NAME] the other tools would refuse them.
        "auth" if v == "user" || v == "apop" => b.set_for("pop-fetch", "auth", v),
        "auth" => auth(b, s, "pop-fetch"),
        "delivery" => delivery(b, s),
        "keep" if !on_off(s)? => b.flag("delete", true),
        "only_new" if !on_off(s)? => b.flag("all", true),
        "keep" | "only_new" => {}
        "skipsize" => match size(v) {
            Some(None) => {}
            Some(Some(n)) => b.set("max_size", n),
            None => b.skip(line, key, v, "not a size"),
        },
        _ => b.skip(line, key, v, why(key)),
    }
    Ok(())
}

/// `delivery maildir DIR`, `mbox FILE`, `mda COMMAND`; `exchange` has no equivalent, nor an
/// MDA command that wants mpop's `%F` (the envelope sender).
fn delivery(b: &mut Builder<'_>, s: &Setting) {
    let (how, what) = s
        .value
        .split_once([' ', '\t'])
        .map_or((s.value.as_str(), ""), |(h, w)| (h, w.trim()));
    match how {
        "maildir" if !what.is_empty() => b.set("maildir", what),
        "mbox" if !what.is_empty() => b.set("mbox", what),
        "mda" if what.contains("%F") => b.skip(
            s.line,
            &s.key,
            &s.value,
            "pop-fetch gives the command no %F (the sender is in the message's Return-Path)",
        ),
        "mda" if !what.is_empty() => b.set("mda", what),
        _ => b.skip(
            s.line,
            &s.key,
            &s.value,
            "pop-fetch delivers to a maildir, an mbox or an mda",
        ),
    }
}

/// An account without a store is no pop-fetch run: say so in the table.
fn needs_store(b: &mut Builder<'_>, acc: &Account) {
    if acc.get("delivery").is_none() {
        b.note("no delivery in the mpop account: give maildir, mbox or mda");
    }
}

/// mpop's size (`off`, bytes, or with k or m) as pop-fetch's `max_size`: `Some(None)` for
/// off, `None` when it is no size. Pure.
fn size(v: &str) -> Option<Option<String>> {
    if v == "off" {
        return Some(None);
    }
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v, ""),
    };
    let unit = match unit {
        "" => "",
        "k" | "K" | "kb" | "KB" => "k",
        "m" | "M" | "mb" | "MB" => "M",
        _ => return None,
    };
    (!digits.is_empty()).then(|| Some(format!("{digits}{unit}")))
}

#[cfg(test)]
mod tests {
    use super::super::msmtp::parse;
    use super::*;
    use crate::cli::import::{Val, tests::s};

    #[test]
    fn an_mpoprc_becomes_pop_fetch_accounts() {
        let rc = parse(
            "defaults\ntls on\nkeep off\nuidls_file ~/.mpop_uidls/%U_at_%H\n\naccount work\nhost pop.example.com\nuser me\npasswordeval pass work\ndelivery maildir ~/Mail/work\nonly_new off\nkillsize 10m\nskipsize 5m\n\naccount plain\nhost 127.0.0.1\nport 1110\ntls off\nkeep on\ndelivery mda \"procmail -f %F\"\nauth apop\n",
        )
        .unwrap();
        let import = convert(&rc).unwrap();
        let work = &import.tables[0];
        assert_eq!(work.get("server"), Some(&s("pop3://pop.example.com")));
        assert_eq!(work.get("tls"), Some(&s("required")));
        assert_eq!(work.get("password_cmd"), Some(&s("pass work")));
        assert_eq!(work.get("maildir"), Some(&s("~/Mail/work")));
        assert_eq!(work.get("delete"), Some(&Val::Bool(true)));
        assert_eq!(work.get("all"), Some(&Val::Bool(true)));
        assert_eq!(work.get("max_size"), Some(&s("5M")));
        assert_eq!(work.get("state_file"), None);
        let plain = &import.tables[1];
        assert_eq!(plain.get("server"), Some(&s("pop3://127.0.0.1:1110")));
        assert_eq!(plain.get("tls"), Some(&s("none")));
        assert_eq!(plain.get("delete"), None);
        assert_eq!(plain.get("mda"), None);
        assert_eq!(plain.get("auth"), None);
        assert_eq!(plain.get_for("auth"), Some(&s("apop")));
        let text = import.render("rc", "pop-fetch --import-mpoprc");
        assert!(
            text.ends_with("\n[accounts.plain.pop-fetch]\nauth = \"apop\"\n"),
            "{text}"
        );
        let uidls = "# mpop: uidls_file ~/.mpop_uidls/%U_at_%H: not carried over (";
        assert_eq!(text.matches(uidls).count(), 2);
        assert!(text.contains("# mpop: killsize 10m: not carried over ("));
        assert!(text.contains("# mpop: delivery mda procmail -f %F: not carried over ("));
        crate::cli::config::parse(&text).expect("valid TOML");
        // uidls_file comes from defaults: one warning for its line, though a comment in both
        // tables.
        assert_eq!(
            import
                .warnings
                .iter()
                .filter(|w| w.contains("uidls_file"))
                .count(),
            1
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size("off"), Some(None));
        assert_eq!(size("100"), Some(Some("100".into())));
        assert_eq!(size("20k"), Some(Some("20k".into())));
        assert_eq!(size("k"), None);
        assert_eq!(size("1x"), None);
    }
}
