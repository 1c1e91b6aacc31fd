//! Date (RFC 5322 3.3) and Message-ID (3.6.4) for new messages.

use crate::error::Result;
use crate::util::calendar::DateTime;

/// Formats `unix` seconds at `offset` seconds east of UTC: `Thu, 09 Apr 2026 14:03:00 +0200`.
pub fn format(unix: i64, offset: i64) -> String {
    let t = DateTime::from_unix(unix + offset);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.abs() / 60;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        t.weekday(),
        t.day,
        t.month_name(),
        t.year,
        t.hour,
        t.minute,
        t.second,
        off / 60,
        off % 60
    )
}

/// Seconds since the epoch, and the local zone's offset from UTC at that moment
/// (`localtime_r`; `+0000` if the zone cannot be determined).
pub fn now() -> (i64, i64) {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (unix, local_offset(unix))
}

fn local_offset(unix: i64) -> i64 {
    let t = unix as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills in; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok { tm.tm_gmtoff as i64 } else { 0 }
}

/// A new Message-ID: `<time.random@host>`, time in base 36, 80 random bits in hex.
pub fn message_id(unix: i64, host: &str) -> Result<String> {
    let mut r = [0u8; 10];
    getrandom::fill(&mut r).map_err(|e| {
        crate::Error::new(
            crate::error::Kind::Software,
            format!("cannot get random bytes for Message-ID: {e}"),
        )
    })?;
    let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("<{}.{hex}@{host}>", base36(unix.max(0) as u64)))
}

fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc5322_dates() {
        assert_eq!(format(0, 0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            format(1_709_210_096, 3600),
            "Thu, 29 Feb 2024 13:34:56 +0100"
        );
        assert_eq!(
            format(1_709_210_096, -(5 * 3600 + 1800)),
            "Thu, 29 Feb 2024 07:04:56 -0530"
        );
        assert_eq!(format(951_782_400, 0), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn message_ids_are_unique_and_well_formed() {
        let a = message_id(1_700_000_000, "h.example").unwrap();
        let b = message_id(1_700_000_000, "h.example").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@h.example>"));
    }
}
