//! Options anywhere on a command line whose list of values comes before one more value
//! (ftp-put's `FILE... URL`), as curl and the other tools take them.
//!
//! clap ends such a list at the value before an option: `ftp-put a.txt --tls none URL` gives
//! `a.txt` the URL's place and refuses the URL as an unknown argument. The command line is
//! read here as clap reads it (which options take a value, short options bundled, `--`) and
//! its options are moved before its values, in their order, so that clap sees
//! `--tls none a.txt URL`.

use clap::Command;
use std::ffi::{OsStr, OsString};

/// `argv` with its options before its positional values, when `cmd` has a list of values
/// before another positional argument; otherwise (or when the order is already so) `argv`
/// as it is. Values after `--` stay after it. An unknown option is kept as an option, for
/// clap to name.
pub fn options_first(cmd: &Command, argv: Vec<OsString>) -> Vec<OsString> {
    let mut cmd = cmd.clone();
    cmd.build();
    let positionals: Vec<_> = cmd.get_positionals().collect();
    let list_first = positionals
        .iter()
        .rev()
        .skip(1)
        .any(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1));
    // An option whose value may be left out would make "takes the next word" a guess.
    let optional_value = cmd.get_opts().any(|a| {
        a.get_num_args()
            .is_some_and(|n| n.min_values() != 1 || n.max_values() != 1)
    });
    if !list_first || optional_value {
        return argv;
    }
    let takes_value = |a: &clap::Arg| a.get_action().takes_values();
    let mut options: Vec<OsString> = Vec::new();
    let mut values: Vec<OsString> = Vec::new();
    let mut escaped: Vec<OsString> = Vec::new();
    let mut moved = false;
    let mut rest = argv.iter().skip(1);
    while let Some(word) = rest.next() {
        let text = word.to_str();
        let next_is_value = match text {
            Some("--") => {
                escaped.extend(std::iter::once(word).chain(rest.by_ref()).cloned());
                break;
            }
            Some(t) if t.starts_with("--") => {
                let name = &t[2..];
                !name.contains('=')
                    && cmd
                        .get_opts()
                        .any(|a| a.get_long() == Some(name) && takes_value(a))
            }
            Some(t) if t.starts_with('-') && t.len() > 1 => short_wants_next(&cmd, &t[1..]),
            _ if word.as_os_str() != OsStr::new("-") && is_option(word) => false,
            _ => {
                values.push(word.clone());
                continue;
            }
        };
        moved |= !values.is_empty();
        options.push(word.clone());
        if next_is_value {
            options.extend(rest.next().cloned());
        }
    }
    if !moved {
        return argv;
    }
    let mut out = Vec::with_capacity(argv.len());
    out.extend(argv.first().cloned());
    out.extend(options);
    out.extend(values);
    out.extend(escaped);
    out
}

/// Whether a word that is not UTF-8 starts like an option (`-x`).
fn is_option(word: &OsStr) -> bool {
    let b = word.as_encoded_bytes();
    b.len() > 1 && b[0] == b'-'
}

/// Whether the bundle of short options `bundle` (`qc`, `ofile`, `o`) ends with one that
/// takes its value from the next word.
fn short_wants_next(cmd: &Command, bundle: &str) -> bool {
    for (i, c) in bundle.char_indices() {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(c)) else {
            return false;
        };
        if arg.get_action().takes_values() {
            // `-ofile` holds its value; `-o` takes the next word.
            return i + c.len_utf8() == bundle.len();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn put() -> Command {
        Command::new("t")
            .arg(Arg::new("files").required(true).num_args(1..))
            .arg(Arg::new("url").required(true).value_name("URL"))
            .arg(Arg::new("tls").long("tls"))
            .arg(Arg::new("output").short('o').long("output"))
            .arg(Arg::new("quiet").short('q').action(ArgAction::SetTrue))
            .arg(Arg::new("resume").short('c').action(ArgAction::SetTrue))
    }

    fn moved(cmd: &Command, words: &[&str]) -> Vec<String> {
        let argv = std::iter::once("t")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect();
        options_first(cmd, argv)
            .into_iter()
            .skip(1)
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn options_after_the_first_value_go_before_the_values() {
        let cmd = put();
        for (words, want) in [
            (
                &["a", "--tls", "none", "b", "URL"][..],
                &["--tls", "none", "a", "b", "URL"][..],
            ),
            (&["a", "--tls=none", "URL"], &["--tls=none", "a", "URL"]),
            (&["a", "-qc", "URL"], &["-qc", "a", "URL"]),
            (&["a", "-qo", "x", "URL"], &["-qo", "x", "a", "URL"]),
            (&["a", "-ox", "URL"], &["-ox", "a", "URL"]),
            // Standard input is a value; an option's value that looks like one stays its.
            (&["-", "-o", "-", "URL"], &["-o", "-", "-", "URL"]),
            // After `--`, everything is a value, and stays after it.
            (
                &["a", "-q", "--", "-c", "URL"],
                &["-q", "a", "--", "-c", "URL"],
            ),
            // Unknown options stay options, for clap to name.
            (&["a", "--bogus", "URL"], &["--bogus", "a", "URL"]),
            (&["a", "-z", "URL"], &["-z", "a", "URL"]),
        ] {
            assert_eq!(moved(&cmd, words), want, "{words:?}");
            let m = cmd
                .clone()
                .try_get_matches_from(std::iter::once("t").chain(want.iter().copied()));
            if !words.contains(&"--bogus") && !words.contains(&"-z") {
                let m = m.unwrap();
                assert_eq!(m.get_one::<String>("url").unwrap(), "URL", "{words:?}");
            }
        }
    }

    #[test]
    fn a_command_line_in_order_or_without_a_list_first_is_left_alone() {
        let cmd = put();
        let words = ["--tls", "none", "a", "b", "URL"];
        assert_eq!(moved(&cmd, &words), words);
        let get = Command::new("t")
            .arg(Arg::new("urls").num_args(1..))
            .arg(Arg::new("quiet").short('q').action(ArgAction::SetTrue));
        let words = ["a", "-q", "b"];
        assert_eq!(moved(&get, &words), words);
    }
}
