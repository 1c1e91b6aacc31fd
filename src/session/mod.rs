//! The session layer, between the engine (`crate::wire`) and the protocol clients, as
//! curl splits pingpong.c and curl_sasl.c from its protocols: opening a session for any
//! protocol (`open`: the connect deadline, implicit TLS, the greeting, the one way a wait
//! that ran out is said), the upgrade to TLS with the `--tls` policy (`starttls`), the
//! SASL exchange (`authenticate`, over the mechanisms of [`sasl`]), and who logs in
//! ([`credentials`]). Each protocol supplies only what is its own: how to ask for TLS, how
//! to carry SASL, which refusals are a failed login. (Making a connection again after it
//! broke, and retrying, are the jobs' business.)

pub(crate) mod authenticate;
pub mod credentials;
pub(crate) mod open;
pub mod sasl;
pub(crate) mod starttls;

pub use credentials::{Credentials, Method, Origin, Secret};
pub use open::SessionOptions;
