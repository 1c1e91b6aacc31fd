#![allow(dead_code)]
//! A fake OAuth2 token endpoint and device authorization endpoint (RFC 6749, RFC 8628) on
//! http://127.0.0.1 (the one plain-HTTP endpoint the tools take): each POST gets the next
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
use std::sync::{Arc, Mutex};

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub form: BTreeMap<String, String>,
}

pub struct TokenServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

/// An endpoint that answers `answers` in turn.
pub fn token_server(answers: &[(u16, &str)]) -> TokenServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::new(Mutex::new(
        answers.iter().map(|(c, b)| (*c, b.to_string())).collect(),
    ));
    let (reqs, ans) = (requests.clone(), answers.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some(req) = read_request(&mut stream) else {
                continue;
            };
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
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    TokenServer {
        port,
        requests,
        answers,
    }
}

impl TokenServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
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

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
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
