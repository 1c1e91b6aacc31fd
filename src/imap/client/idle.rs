//! IDLE (RFC 2177) for an [`ImapClient`]: the command, the server's go-ahead, the wait for
//! the folder to change (or the caller to stop, or the time to re-issue it), then DONE.

use super::ImapClient;
use crate::error::{Error, Kind, Result};
use crate::imap::reply::ImapKind;
use crate::net::stream::Transport;
use std::time::{Duration, Instant};

/// How long IDLE waits before it is re-issued (RFC 2177: a server may log a client out after
/// 30 minutes idle).
pub const IDLE_REISSUE: Duration = Duration::from_secs(25 * 60);

/// Why [`ImapClient::idle`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEnd {
    /// The folder has more messages.
    NewMail,
    /// Time to re-issue IDLE.
    Reissue,
    /// The caller asked to stop.
    Stop,
}

impl<S: Transport> ImapClient<S> {
    /// IDLE (RFC 2177) in the selected folder until its message count differs from `seen`
    /// (the count the caller's last search covered: mail that arrived since, announced
    /// before or during IDLE), `max` has passed (the caller re-issues it: servers may drop a
    /// client idle for 30 minutes), or `stop` says so (checked every second); then DONE and
    /// the tagged OK.
    pub fn idle(&mut self, seen: u32, max: Duration, stop: &dyn Fn() -> bool) -> Result<IdleEnd> {
        if !self.caps.idle {
            return Err(Error::new(
                Kind::Unavailable,
                format!("{}: the server has no IDLE (RFC 2177)", self.peer()),
            ));
        }
        let tag = self.start_idle()?;
        let end = self.wait_idle(seen, max, stop)?;
        self.conn.send_command("DONE", None)?;
        let r = self.finish(&tag, "IDLE", |_, _| Ok(false))?;
        self.expect_ok(r, "IDLE")?;
        Ok(end)
    }

    /// Sends IDLE and reads to the server's `+`: the tag.
    fn start_idle(&mut self) -> Result<String> {
        let tag = self.send("IDLE")?;
        loop {
            let r = self.read("IDLE")?;
            match &r.kind {
                ImapKind::Continuation => {
                    self.conn.continuation_is_not_secret();
                    return Ok(tag);
                }
                ImapKind::Untagged => {
                    self.note_untagged(&r)?;
                    self.skip_literals(r.literal)?;
                }
                ImapKind::Tagged(t) if t.as_slice() == tag.as_bytes() => {
                    self.expect_ok(r, "IDLE")?;
                    return Err(Error::new(
                        Kind::Protocol,
                        format!("{}: IDLE ended before it began", self.peer()),
                    ));
                }
                ImapKind::Tagged(_) => return Err(self.unexpected("IDLE", &r)),
            }
        }
    }

    /// Takes what the server says while idle, until the folder no longer holds `seen`
    /// messages, `stop` says so, or `max` has passed.
    fn wait_idle(&mut self, seen: u32, max: Duration, stop: &dyn Fn() -> bool) -> Result<IdleEnd> {
        let started = Instant::now();
        loop {
            if self.selected.as_ref().is_some_and(|m| m.exists != seen) {
                return Ok(IdleEnd::NewMail);
            }
            if stop() {
                return Ok(IdleEnd::Stop);
            }
            let left = max.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Ok(IdleEnd::Reissue);
            }
            if !self.conn.wait_for_data(left.min(Duration::from_secs(1)))? {
                continue;
            }
            let r = self.read("IDLE")?;
            if r.kind != ImapKind::Untagged {
                return Err(self.unexpected("IDLE", &r));
            }
            self.note_untagged(&r)?;
            self.skip_literals(r.literal)?;
            if let Some(text) = &self.bye {
                return Err(Error::new(
                    Kind::TempFail,
                    format!("{}: the server ends the session: BYE {text}", self.peer()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{preauth, preauth_with};
    use super::*;
    use crate::wire::tests::collecting;

    #[test]
    fn idle_until_new_mail_or_a_stop() {
        let parts: Vec<&[u8]> = vec![
            b"* 2 EXISTS\r\n* OK [UIDVALIDITY 4] x\r\na1 OK [READ-ONLY] x\r\n",
            b"+ idling\r\n* 2 EXPUNGE\r\n* 2 EXISTS\r\n* 3 EXISTS\r\n",
            b"a2 OK Idle completed\r\n",
            b"+ idling\r\n",
            b"a3 OK Idle completed\r\n",
        ];
        let (t, seen) = collecting();
        let mut c = preauth_with("IMAP4rev1 IDLE", &parts, 1);
        c.conn.set_transcript(Some(t));
        c.select("INBOX", true).unwrap();
        assert_eq!(
            c.idle(2, IDLE_REISSUE, &|| false).unwrap(),
            IdleEnd::NewMail
        );
        assert_eq!(c.selected().unwrap().exists, 3);
        assert_eq!(c.idle(3, IDLE_REISSUE, &|| true).unwrap(), IdleEnd::Stop);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 EXAMINE INBOX\r\na2 IDLE\r\nDONE\r\na3 IDLE\r\nDONE\r\n"
        );
        assert!(seen.lock().unwrap().contains(&"C: DONE".to_string()));
        // Time to re-issue: DONE, and the caller starts IDLE again.
        let parts: &[&[u8]] = &[b"+ idling\r\n", b"a1 OK Idle completed\r\n"];
        let mut c = preauth_with("IMAP4rev1 IDLE", parts, 64);
        assert_eq!(
            c.idle(0, Duration::from_millis(30), &|| false).unwrap(),
            IdleEnd::Reissue
        );
        assert_eq!(c.conn.stream().written_str(), "a1 IDLE\r\nDONE\r\n");
        assert!(c.is_usable());
        // Without IDLE: 69.
        let mut c = preauth(&[], 64);
        c.caps.idle = false;
        assert_eq!(
            c.idle(0, IDLE_REISSUE, &|| false).unwrap_err().exit_code(),
            69
        );
    }
}
