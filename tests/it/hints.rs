//! A flag from msmtp, mpop, fetchmail or curl gets one line pointing to ours (exit 64), and
//! the pointer goes the way a user of that tool means it: `smtp-send -s` is a subject,
//! fetchmail's `-l` a size and its `-m` an MDA.

use crate::support::tool::tool;

#[test]
fn flags_of_the_mail_anchors_point_to_ours() {
    let pop = "pop3://u@127.0.0.1:1";
    let imap = "imap://u@127.0.0.1:1/INBOX";
    let serverinfo =
        "there is no --serverinfo: -v shows the server's greeting and EHLO reply as it sends";
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "smtp-send",
            &["-s", "disk full", "a@b"],
            "use --subject TEXT",
        ),
        ("smtp-send", &["-S"], serverinfo),
        ("smtp-send", &["--serverinfo"], serverinfo),
        ("smtp-send", &["-C", "msmtprc", "a@b"], "use --config FILE"),
        ("smtp-send", &["--logfile", "l", "a@b"], "use --log FILE"),
        ("smtp-send", &["-X", "l", "a@b"], "use --log FILE"),
        ("smtp-send", &["--domain", "me", "a@b"], "use --helo NAME"),
        (
            "smtp-send",
            &["--passwordeval", "pass x", "a@b"],
            "use --password-cmd CMD",
        ),
        ("pop-fetch", &["-l", "100000", pop], "use --max-size BYTES"),
        (
            "imap-fetch",
            &["-l", "100000", imap],
            "use --max-size BYTES",
        ),
        ("pop-fetch", &["-m", "procmail", pop], "use --mda COMMAND"),
        ("imap-fetch", &["-m", "procmail", imap], "use --mda COMMAND"),
        (
            "pop-fetch",
            &["--skipsize", "1000", pop],
            "use --max-size BYTES",
        ),
        ("pop-fetch", &["-K", pop], "use --delete"),
        ("imap-fetch", &["--nokeep", imap], "use --delete"),
        (
            "pop-fetch",
            &["--sslcertfile", "ca.pem", pop],
            "use --cacert FILE",
        ),
        ("pop-fetch", &["-C", "mpoprc", pop], "use --config FILE"),
        (
            "pop-fetch",
            &["--passwordeval", "pass x", pop],
            "use --password-cmd CMD",
        ),
        // curl's -m is still curl's to the FTP tools.
        (
            "ftp-get",
            &["-m", "60", "ftp://127.0.0.1:1/f"],
            "use --max-time DURATION (e.g. 10m)",
        ),
    ];
    for (name, args, ours) in cases {
        let flag = args[0];
        assert_eq!(
            tool(name).args(*args).run().fails(64),
            format!("{name}: unknown option '{flag}': {ours} (see --help)"),
            "{name} {args:?}"
        );
    }
}

/// --max-time is ours in every network tool now: no hint sends it elsewhere.
#[test]
fn max_time_is_a_flag_of_every_network_tool() {
    for name in [
        "smtp-send",
        "pop-fetch",
        "imap-fetch",
        "ftp-get",
        "ftp-put",
        "ftp-ls",
    ] {
        let out = tool(name).args(["--max-time", "nonsense"]).run();
        let line = out.fails(64);
        assert!(!line.contains("unknown option"), "{name}: {line}");
    }
}
