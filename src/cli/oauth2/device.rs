//! The device authorization grant (RFC 8628): the user is shown a URL and a code to enter
//! there, from any browser (a phone will do); meanwhile the tool polls the token endpoint at
//! the interval the server asks for, until the sign-in is done, declined or too late.

use super::endpoint::{Answer, Refusal};
use crate::error::{Error, Kind, Result};
use crate::wire::printable;
use serde_json::{Map, Value};
use std::time::Duration;

/// The longest `verification_uri` shown (a browser's practical limit).
const MAX_URI: usize = 2048;

/// The longest `user_code` shown: RFC 8628 section 6.1 wants a few characters a person types.
const MAX_USER_CODE: usize = 64;

/// RFC 8628 section 3.2: what the device authorization endpoint answers. `Debug` shows no
/// device code: with the client id it fetches the tokens once the user has signed in.
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl DeviceCode {
    /// From the endpoint's JSON; `verification_url` is Google's older name for
    /// `verification_uri`. Missing fields are 76.
    pub fn from_json(what: &str, m: &Map<String, Value>) -> Result<DeviceCode> {
        let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let missing =
            |k: &str| Error::new(Kind::Protocol, format!("{what}: the answer has no {k}"));
        let verification_uri = text("verification_uri")
            .or_else(|| text("verification_url"))
            .ok_or_else(|| missing("verification_uri"))?;
        let user_code = text("user_code").ok_or_else(|| missing("user_code"))?;
        // What the user is sent to and types in: bounded, and a URL as the endpoints' own
        // must be (https://, no user part: `https://login.example@evil.example/`), so that
        // the endpoint cannot show a long or cleartext lure in the tool's name.
        for (key, value, max) in [
            ("verification_uri", &verification_uri, MAX_URI),
            ("user_code", &user_code, MAX_USER_CODE),
        ] {
            if value.len() > max {
                return Err(Error::new(
                    Kind::Protocol,
                    format!("{what}: the answer's {key} is over {max} bytes"),
                ));
            }
        }
        super::endpoint::check_url(
            &format!("{what}: the answer's verification_uri"),
            &verification_uri,
        )
        .map_err(|e| Error::new(Kind::Protocol, e.message().to_string()))?;
        Ok(DeviceCode {
            device_code: text("device_code").ok_or_else(|| missing("device_code"))?,
            user_code,
            verification_uri,
            // RFC 8628 section 3.2: expires_in is required; interval defaults to 5 s.
            expires_in: m
                .get("expires_in")
                .and_then(Value::as_u64)
                .ok_or_else(|| missing("expires_in"))?,
            interval: m.get("interval").and_then(Value::as_u64).unwrap_or(5),
        })
    }

    /// What the user is told to do, every server-chosen part visible-escaped.
    pub fn instructions(&self) -> String {
        format!(
            "to sign in, open {} in a browser and enter the code {} (within {} min); waiting for the sign-in...",
            printable(&self.verification_uri),
            printable(&self.user_code),
            self.expires_in.div_ceil(60)
        )
    }
}

/// Polls with `poll` (one token request with the device code) until it grants tokens:
/// `authorization_pending` waits `interval` seconds and asks again, `slow_down` adds 5 s to
/// the interval for good (RFC 8628 section 3.5); `access_denied` and `expired_token`, or
/// more time waited than the code lives, are 77, said in words. `sleep` waits.
pub fn poll(
    code: &DeviceCode,
    fix: &str,
    mut poll: impl FnMut() -> Result<Answer>,
    mut sleep: impl FnMut(Duration),
) -> Result<Map<String, Value>> {
    // An interval of 0 would ask without pause; one past the code's life would sleep past
    // it (for ever, at 2^64 s): at least 1 s, never beyond the code's end.
    let mut interval = code.interval.max(1);
    let mut waited = 0u64;
    loop {
        if waited >= code.expires_in {
            return Err(expired(fix));
        }
        let wait = interval.min(code.expires_in - waited);
        sleep(Duration::from_secs(wait));
        waited += wait;
        match poll()? {
            Answer::Granted(m) => return Ok(m),
            Answer::Refused(r) => match r.error.as_str() {
                "authorization_pending" => {}
                "slow_down" => interval = interval.saturating_add(5),
                "access_denied" => {
                    return Err(Error::new(
                        Kind::Auth,
                        format!("the sign-in was declined ({})", said(&r)),
                    ));
                }
                "expired_token" => return Err(expired(fix)),
                _ => {
                    return Err(Error::new(
                        Kind::Auth,
                        format!("the token endpoint refused the sign-in: {}", said(&r)),
                    ));
                }
            },
        }
    }
}

fn said(r: &Refusal) -> String {
    r.said(&[])
}

fn expired(fix: &str) -> Error {
    Error::new(
        Kind::Auth,
        format!("the code expired before the sign-in was done: run {fix} again"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: &str) -> Answer {
        Answer::Refused(Refusal {
            status: 400,
            error: error.into(),
            description: None,
        })
    }

    fn code(interval: u64, expires_in: u64) -> DeviceCode {
        DeviceCode {
            device_code: "dc".into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri: "https://login.example/device".into(),
            expires_in,
            interval,
        }
    }

    /// The waits taken and the outcome, when the token endpoint answers `answers` in turn.
    fn run(c: &DeviceCode, answers: Vec<Answer>) -> (Vec<u64>, Result<Map<String, Value>>) {
        let mut answers = answers.into_iter();
        let mut waits = Vec::new();
        let r = poll(
            c,
            "pop-fetch --account work --authorize",
            || Ok(answers.next().expect("asked once too often")),
            |d| waits.push(d.as_secs()),
        );
        (waits, r)
    }

    #[test]
    fn pending_waits_the_interval_and_slow_down_adds_five_seconds() {
        let granted = Answer::Granted(Map::new());
        let answers = vec![
            refused("authorization_pending"),
            refused("slow_down"),
            refused("authorization_pending"),
            granted,
        ];
        let (waits, r) = run(&code(2, 900), answers);
        assert!(r.is_ok());
        assert_eq!(waits, [2, 2, 7, 7]);
    }

    #[test]
    fn an_interval_of_zero_or_past_the_codes_life_is_bounded() {
        // 0 waits a second between asks, not none.
        let (waits, r) = run(&code(0, 3), vec![refused("authorization_pending"); 3]);
        assert_eq!(waits, [1, 1, 1]);
        assert_eq!(r.unwrap_err().exit_code(), 77);
        // 2^64-1 s waits out the code's life, asks once more, and gives up.
        let (waits, r) = run(&code(u64::MAX, 900), vec![refused("authorization_pending")]);
        assert_eq!(waits, [900]);
        assert_eq!(r.unwrap_err().exit_code(), 77);
        // slow_down near the top neither overflows nor outlives the code.
        let (waits, r) = run(&code(u64::MAX - 1, 900), vec![refused("slow_down"); 1]);
        assert_eq!(waits, [900]);
        assert_eq!(r.unwrap_err().exit_code(), 77);
    }

    #[test]
    fn a_lure_in_the_device_answer_is_refused() {
        let answer = |uri: &str, user_code: &str| {
            let m: Map<String, Value> = serde_json::from_value(serde_json::json!({
                "device_code": "d", "user_code": user_code,
                "verification_uri": uri, "expires_in": 900,
            }))
            .unwrap();
            DeviceCode::from_json("device authorization endpoint https://t/device", &m)
        };
        assert!(answer("https://login.example/device", "ABCD-EFGH").is_ok());
        for (uri, code, said) in [
            (
                "http://login.example/device",
                "A",
                "device authorization endpoint https://t/device: the answer's verification_uri http://login.example/device: must be an https:// URL (http:// only to 127.0.0.1 or [::1])",
            ),
            (
                "https://login.example@evil.example/\u{1b}[2J",
                "A",
                "device authorization endpoint https://t/device: the answer's verification_uri https://login.example@evil.example/\\x1b[2J: a URL with a user or password is not taken",
            ),
            (
                &format!("https://e.example/{}", "a".repeat(3000)),
                "A",
                "device authorization endpoint https://t/device: the answer's verification_uri is over 2048 bytes",
            ),
            (
                "https://e.example/",
                &"9".repeat(65),
                "device authorization endpoint https://t/device: the answer's user_code is over 64 bytes",
            ),
        ] {
            let e = answer(uri, code).unwrap_err();
            assert_eq!(e.exit_code(), 76, "{uri}");
            assert_eq!(e.to_string(), said);
        }
    }

    #[test]
    fn declined_and_expired_are_77_in_words() {
        let (_, r) = run(&code(1, 900), vec![refused("access_denied")]);
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert_eq!(e.to_string(), "the sign-in was declined (access_denied)");
        let (_, r) = run(&code(1, 900), vec![refused("expired_token")]);
        assert_eq!(
            r.unwrap_err().to_string(),
            "the code expired before the sign-in was done: run pop-fetch --account work --authorize again"
        );
        // The code's life runs out while the server still says "pending".
        let (waits, r) = run(&code(5, 10), vec![refused("authorization_pending"); 2]);
        assert_eq!(waits, [5, 5]);
        assert_eq!(r.unwrap_err().exit_code(), 77);
    }

    #[test]
    fn the_answer_is_read_with_googles_names_too() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"device_code":"d","user_code":"U\u001b","verification_url":"https://g/device","expires_in":1800}"#,
        )
        .unwrap();
        let c = DeviceCode::from_json("t", &m).unwrap();
        assert_eq!(c.interval, 5);
        assert!(!format!("{c:?}").contains("device_code: \"d\""), "{c:?}");
        assert_eq!(
            c.instructions(),
            "to sign in, open https://g/device in a browser and enter the code U\\x1b (within 30 min); waiting for the sign-in..."
        );
        let m: Map<String, Value> = serde_json::from_str(r#"{"device_code":"d"}"#).unwrap();
        assert_eq!(DeviceCode::from_json("t", &m).unwrap_err().exit_code(), 76);
    }
}
