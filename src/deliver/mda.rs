//! `--mda COMMAND`: each message piped to `sh -c COMMAND` (procmail, maildrop, a script), in
//! LF line ends, without a `From ` line (procmail and maildrop add their own). A message
//! counts as delivered only when the command exits 0 after reading it; any other exit, a
//! signal, or a command that stops reading early is a failure, and nothing is recorded or
//! deleted. A message abandoned midway (the connection broke) kills the command before its
//! input ends, so it never sees a truncated message as a whole one; so does SIGINT, SIGTERM
//! or SIGHUP (`crate::interrupt::kill_on_signal`). The command runs in a process group
//! of its own, so that what it starts (`sh -c 'procmail ...'`) is killed with it.

use super::{Deliver, MessageInfo, MessageSink};
use crate::error::{Error, Kind, Result, io_reason};
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Mda {
    command: String,
}

impl Mda {
    pub fn new(command: &str) -> Mda {
        Mda {
            command: command.to_string(),
        }
    }
}

impl Deliver for Mda {
    fn begin(&mut self, _info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Error::new(
                    Kind::CantCreate,
                    format!(
                        "--mda {}: cannot start /bin/sh: {}",
                        self.command,
                        io_reason(&e)
                    ),
                )
            })?;
        let stdin = child.stdin.take();
        crate::interrupt::kill_on_signal(child.id());
        Ok(Box::new(MdaMessage {
            command: &self.command,
            child: Some(child),
            stdin,
        }))
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        format!("--mda {}", self.command)
    }
}

struct MdaMessage<'a> {
    command: &'a str,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl MdaMessage<'_> {
    fn failed(&self, why: String) -> Error {
        Error::new(Kind::CantCreate, format!("--mda {}: {why}", self.command))
    }

    /// Only exit 0 delivers; 75 (EX_TEMPFAIL from procmail or maildrop) is worth trying
    /// again later; any other status or a signal is a failure.
    fn status_error(&self, status: std::process::ExitStatus) -> Result<()> {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(0), _) => Ok(()),
            (Some(75), _) => Err(Error::new(
                Kind::TempFail,
                format!(
                    "--mda {}: exited with status 75 (try again later)",
                    self.command
                ),
            )),
            (Some(c), _) => Err(self.failed(format!("exited with status {c}"))),
            (None, Some(s)) => Err(self.failed(format!("killed by signal {s}"))),
            _ => Err(self.failed("ended abnormally".into())),
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_group(&c);
            self.stdin = None;
            let _ = c.wait();
            crate::interrupt::forget_child();
        }
    }
}

impl MessageSink for MdaMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let w = self
            .stdin
            .as_mut()
            .expect("open until commit")
            .write_all(data);
        w.map_err(|e| {
            // The command closed its input early: most often because it ended (killed, or
            // exited), and then how it ended is the better message.
            self.stdin = None;
            let mut child = self.child.take().expect("open until commit");
            let mut ended = None;
            for _ in 0..50 {
                match child.try_wait() {
                    Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                    Ok(Some(s)) => {
                        ended = Some(s);
                        break;
                    }
                    Err(_) => break,
                }
            }
            if ended.is_none() {
                kill_group(&child);
                let _ = child.wait();
            }
            crate::interrupt::forget_child();
            match ended.map(|s| self.status_error(s)) {
                Some(Err(e)) => e,
                _ => self.failed(format!(
                    "it stopped reading the message ({})",
                    io_reason(&e)
                )),
            }
        })
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.stdin = None; // EOF: the message is complete
        let mut child = self.child.take().expect("committed once");
        let status = child.wait();
        crate::interrupt::forget_child();
        let status =
            status.map_err(|e| self.failed(format!("cannot wait for it: {}", io_reason(&e))))?;
        self.status_error(status)
    }
}

/// Kills the command and whatever it started (its process group, which it leads).
fn kill_group(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on the process group of a child we have not reaped yet.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

impl Drop for MdaMessage<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cmd: &str, data: &[u8]) -> Result<()> {
        let mut m = Mda::new(cmd);
        let mut s = m.begin(&MessageInfo::new(None, None))?;
        s.write(data)?;
        s.commit()
    }

    #[test]
    fn only_exit_0_delivers() {
        let d = crate::util::test_folder("mda");
        let out = d.join("got");
        run(&format!("cat > '{}'", out.display()), b"Subject: x\n\nhi\n").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"Subject: x\n\nhi\n");
        assert_eq!(
            run("cat >/dev/null; exit 1", b"x").unwrap_err().exit_code(),
            73
        );
        assert_eq!(
            run("cat >/dev/null; exit 75", b"x")
                .unwrap_err()
                .exit_code(),
            75
        );
        // Killed before or after the write: either way the signal is what is reported.
        let e = run("kill -9 $$", b"x").unwrap_err();
        assert!(e.to_string().contains("signal 9"), "{e}");
        let e = run("kill -9 $$", &vec![b'x'; 4 << 20]).unwrap_err();
        assert!(e.to_string().contains("signal 9"), "{e}");
        // A command that fails without reading says how it ended.
        let e = run("exit 3", &vec![b'x'; 4 << 20]).unwrap_err();
        assert!(e.to_string().contains("exited with status 3"), "{e}");
        assert_eq!(e.exit_code(), 73);
        let e = run("exit 75", &vec![b'x'; 4 << 20]).unwrap_err();
        assert_eq!(e.exit_code(), 75, "{e}");
        // A command that never reads a large message fails, even with exit 0.
        let e = run("exit 0", &vec![b'x'; 4 << 20]).unwrap_err();
        assert!(e.to_string().contains("stopped reading"), "{e}");
        // Abandoned midway: killed, so the partial message is never taken as whole.
        let mut m = Mda::new(&format!(
            "cat > '{}.2' && touch '{}.done'",
            out.display(),
            out.display()
        ));
        let mut s = m.begin(&MessageInfo::new(None, None)).unwrap();
        s.write(b"partial").unwrap();
        s.abort();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!d.join("got.done").exists());
        assert_eq!(
            m.name(),
            format!(
                "--mda cat > '{}.2' && touch '{}.done'",
                out.display(),
                out.display()
            )
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
