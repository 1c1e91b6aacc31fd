//! Retrying transient failures (`--retries`), the same way in every tool: a failure that
//! [`Error::is_transient`] says may pass (a timeout, a 4xx reply, a connection that broke)
//! is tried again after a pause that doubles each time, up to a limit; anything else, or
//! the last failure, ends the operation.

use crate::error::Error;
use std::time::{Duration, Instant};

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub retries: u32,
    /// The pause before the first retry; it doubles for each one after.
    pub first_delay: Duration,
    /// The longest pause.
    pub max_delay: Duration,
    /// No retry starts after this (`--max-time`), nor does a pause run past it.
    pub until: Option<Instant>,
}

impl RetryPolicy {
    /// `retries` retries, 1, 2, 4... s apart, at most 60 s.
    pub fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            until: None,
        }
    }

    /// The same retries, none of them after `until` (the end of `--max-time`).
    pub fn until(self, until: Option<Instant>) -> RetryPolicy {
        RetryPolicy { until, ..self }
    }

    /// The retries of one operation, from its first try.
    pub fn start(&self) -> Backoff {
        Backoff {
            policy: *self,
            attempt: 0,
            delay: self.first_delay,
        }
    }
}

/// Where one operation stands in its retries.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    delay: Duration,
}

impl Backoff {
    /// Which try this is: 0 for the first, 1 for the first retry...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After `err`: the pause before the next try, or `None` when there is none (the error
    /// is not transient, or no retries are left).
    pub fn next(&mut self, err: &Error) -> Option<Duration> {
        if !err.is_transient() || self.attempt >= self.policy.retries {
            return None;
        }
        if let Some(until) = self.policy.until {
            if Instant::now() + self.delay >= until {
                return None;
            }
        }
        self.attempt += 1;
        let delay = self.delay;
        self.delay = (self.delay * 2).min(self.policy.max_delay);
        Some(delay)
    }

    /// What to tell the user before a retry: the error, the pause and which retry it is.
    pub fn message(&self, err: &Error, delay: Duration) -> String {
        format!(
            "{err}; retrying in {} s (retry {} of {})",
            delay.as_secs_f64(),
            self.attempt,
            self.policy.retries
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn transient_failures_back_off_until_the_retries_are_spent() {
        let policy = RetryPolicy {
            retries: 4,
            first_delay: Duration::from_secs(20),
            max_delay: Duration::from_secs(60),
            until: None,
        };
        let mut b = policy.start();
        let e = Error::new(Kind::Timeout, "slow");
        assert_eq!(b.attempt(), 0);
        let delays: Vec<Option<u64>> = (0..5).map(|_| b.next(&e).map(|d| d.as_secs())).collect();
        assert_eq!(delays, [Some(20), Some(40), Some(60), Some(60), None]);
        assert_eq!(b.attempt(), 4);
        assert_eq!(
            b.message(&e, Duration::from_secs(60)),
            "slow; retrying in 60 s (retry 4 of 4)"
        );
    }

    #[test]
    fn lasting_failures_are_never_retried() {
        let mut b = RetryPolicy::new(3).start();
        assert_eq!(b.next(&Error::new(Kind::Auth, "no")), None);
        assert_eq!(b.next(&Error::new(Kind::Io, "disk full")), None);
        assert_eq!(b.attempt(), 0);
        let broken = Error::network(
            "h",
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        );
        assert_eq!(b.next(&broken), Some(Duration::from_secs(1)));
        assert_eq!(RetryPolicy::new(0).start().next(&broken), None);
    }

    #[test]
    fn no_retry_pauses_past_the_end_of_the_run() {
        let broken = Error::network(
            "h",
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        );
        let now = Instant::now();
        let soon = RetryPolicy::new(3).until(Some(now + Duration::from_millis(500)));
        assert_eq!(soon.start().next(&broken), None);
        let later = RetryPolicy::new(3).until(Some(now + Duration::from_secs(100)));
        let mut b = later.start();
        assert_eq!(b.next(&broken), Some(Duration::from_secs(1)));
        assert_eq!(b.next(&broken), Some(Duration::from_secs(2)));
    }
}
