#![allow(dead_code)]
//! A fake OAuth2 token endpoint and device authorization endpoint (RFC 6749, RFC 8628) on
//! http://127.0.0.1 (the one plain-HTTP endpoint the tools take), or https:// with a given
//! certificate: each POST gets the next
//! scripted answer (status, JSON), a 500 once they run out; every request's path and form
//! are kept for the test to check.
//!
//! ```ignore
//! let t = token_server(&[(200, r#"{"access_token":"at-1","expires_in":3600}"#)]);
//! tool("pop-fetch").args(["--oauth2-token-endpoint", &t.url("/token"), ...]);
//! assert_eq!(t.requests()[0].form["grant_type"], "refresh_token");
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub form: BTreeMap<String, String>,
}

pub struct TokenServer {
    port: u16,
    tls: bool,
    requests: Arc<Mutex<Vec<Request>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

/// An endpoint on http://127.0.0.1 that answers `answers` in turn.
pub fn token_server(answers: &[(u16, &str)]) -> TokenServer {
    serve(answers, None)
}

/// The same on https://, with the certificate and key in the PEM files `cert` and `key`.
pub fn token_server_tls(answers: &[(u16, &str)], cert: &Path, key: &Path) -> TokenServer {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    serve(answers, Some(Arc::new(config)))
}

fn serve(answers: &[(u16, &str)], tls: Option<Arc<rustls::ServerConfig>>) -> TokenServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::new(Mutex::new(
        answers.iter().map(|(c, b)| (*c, b.to_string())).collect(),
    ));
    let (reqs, ans) = (requests.clone(), answers.clone());
    let is_tls = tls.is_some();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { return };
            let _ = match &tls {
                Some(config) => {
                    let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                        continue;
                    };
                    answer(&mut rustls::StreamOwned::new(conn, tcp), &reqs, &ans)
                }
                None => answer(&mut { tcp }, &reqs, &ans),
            };
        }
    });
    TokenServer {
        port,
        tls: is_tls,
        requests,
        answers,
    }
}

/// Reads one request from `stream`, keeps it, and sends the next answer.
fn answer(
    stream: &mut (impl Read + Write),
    reqs: &Mutex<Vec<Request>>,
    ans: &Mutex<VecDeque<(u16, String)>>,
) -> Option<()> {
    let req = read_request(stream)?;
    reqs.lock().unwrap().push(req);
    let (code, body) = ans
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((500, r#"{"error":"server_error"}"#.to_string()));
    let reply = format!(
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).ok()?;
    stream.flush().ok()
}

impl TokenServer {
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Answers to come, after those given.
    pub fn then(&self, code: u16, body: &str) {
        self.answers
            .lock()
            .unwrap()
            .push_back((code, body.to_string()));
    }
}

fn read_request(stream: &mut impl Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1)?.to_string();
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    Some(Request { path, form })
}
