//! `--parallel` and `--limit-rate`.

use super::*;

#[test]
fn parallel_downloads_share_the_queue_over_several_connections() {
    let mut b = FakeFtp::builder().delay(Duration::from_millis(5));
    for i in 0..30 {
        b = b.file(&format!("p/f{i:02}"), sample(1000 + i * 997));
    }
    let ftp = b.file("p/sub/deep", "d").start();
    let dir = TempDir::new("parallel-get");
    ftp_get(&["--parallel", "4", "-O", dir.arg(), &ftp.url("p/f*")]).ok();
    for i in 0..30 {
        assert_file(&dir.join(format!("f{i:02}")), &sample(1000 + i * 997));
    }
    assert_eq!(dir.names().len(), 30, "no .part left");
    // Four workers (each connects when it first gets a file) and one that listed.
    let n = ftp.connections();
    assert!((3..=5).contains(&n), "{n} connections");
    assert_eq!(ftp.commands("RETR").len(), 30);
    // A tree, with a rate limit over all connections.
    let tree = TempDir::new("parallel-tree");
    ftp_get(&[
        "-r",
        "--parallel",
        "3",
        "--limit-rate",
        "20M",
        "-O",
        tree.arg(),
        &ftp.url("p/"),
    ])
    .ok();
    assert_file(&tree.join("sub/deep"), b"d");
    assert_file(&tree.join("f29"), &sample(1000 + 29 * 997));
}

#[test]
fn parallel_goes_on_with_the_connections_the_server_accepts() {
    // A server that takes one connection at a time (plain URLs need no listing
    // connection): the others are told 421, and their files go over the one that logged
    // in; said once, and exit 0.
    let mut b = FakeFtp::builder().max_connections(1);
    for i in 0..8 {
        b = b.file(&format!("p/f{i}"), sample(1000 + i * 100));
    }
    let ftp = b.start();
    let dir = TempDir::new("parallel-get-421");
    let urls: Vec<String> = (0..8).map(|i| ftp.url(&format!("p/f{i}"))).collect();
    let mut args = vec!["--parallel", "4", "-O", dir.arg()];
    args.extend(urls.iter().map(String::as_str));
    let o = ftp_get(&args);
    assert_eq!(o.code, Some(0), "{o:#?}");
    for i in 0..8 {
        assert_file(&dir.join(format!("f{i}")), &sample(1000 + i * 100));
    }
    assert_eq!(ftp.commands("RETR").len(), 8);
    assert_eq!(
        o.stderr,
        format!(
            "ftp-get: 127.0.0.1:{}: greeting: server said: 421 Too many connections; going on with the connections the server accepted\n",
            ftp.port()
        )
    );
}

#[test]
fn parallel_failures_are_reported_once_each() {
    let ftp = FakeFtp::builder()
        .login("u", "right")
        .file("a", "a")
        .file("b", "b")
        .file("c", "c")
        .start();
    let dir = TempDir::new("parallel-fail");
    let url = |p: &str| ftp.url(p).replace("ftp://", "ftp://u:wrong@");
    let o = ftp_get(&[
        "--tls",
        "none",
        "--parallel",
        "3",
        "-O",
        dir.arg(),
        &url("a"),
        &url("b"),
        &url("c"),
    ]);
    let line = o
        .stderr
        .lines()
        .filter(|l| !l.contains("warning"))
        .collect::<Vec<_>>();
    assert_eq!(o.code, Some(77), "{o:#?}");
    assert_eq!(line.len(), 1, "{o:#?}");
    assert!(line[0].contains("login as u failed"), "{o:#?}");
    // A missing file among good ones: that one fails (66), the rest arrive.
    let ftp = FakeFtp::builder().file("a", "a").file("c", "c").start();
    let o = ftp_get(&[
        "--parallel",
        "2",
        "-O",
        dir.arg(),
        &ftp.url("a"),
        &ftp.url("b"),
        &ftp.url("c"),
    ]);
    assert!(o.fails(66).contains("b"));
    assert_file(&dir.join("a"), b"a");
    assert_file(&dir.join("c"), b"c");
    // Usage errors.
    assert!(
        ftp_get(&["--parallel", "0", &ftp.url("a")])
            .fails(64)
            .contains("from 1 to 64")
    );
    assert!(
        ftp_get(&["--parallel", "2", "--stdout", &ftp.url("a")])
            .fails(64)
            .contains("--parallel")
    );
    assert!(
        ftp_get(&["--limit-rate", "fast", &ftp.url("a")])
            .fails(64)
            .contains("not a rate")
    );
}
