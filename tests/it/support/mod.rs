//! What the test modules share: temporary folders and test data (`files`), the one way to
//! run a program under a watchdog (`run`), the
//! one way to run a tool and see what it showed (`tool`), the fake servers (`fake_server`, `fake_ftp`) and
//! a TLS front for them (`tls_front`),
//! the loopback real servers (`servers`, `servers_pop`, `servers_smtp`, `servers_cert`) and whether their
//! tests run (`interop`).

pub mod bearer;
pub mod fake_ftp;
pub mod fake_imap;
pub mod fake_pop;
pub mod fake_proxy;
pub mod fake_server;
pub mod fake_smtp;
pub mod fake_token;
pub mod files;
pub mod interop;
pub mod run;
pub mod servers;
pub mod servers_cert;
pub mod servers_pop;
pub mod servers_proxy;
pub mod servers_smtp;
pub mod tls_front;
pub mod tool;

/// Asserts `expected` appear in `lines` in this order (other lines may come between).
pub fn assert_in_order(lines: &[String], expected: &[&str]) {
    let mut it = lines.iter();
    for e in expected {
        assert!(
            it.any(|l| l == e),
            "{e:?} missing or out of order in {lines:#?}"
        );
    }
}
