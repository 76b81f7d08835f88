//! Formatting helpers for the shell: sizes and durations as people read them.
#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;

/// `n` bytes as "512 B", "4.0 KiB", "126 MiB", "3.5 GiB" (one decimal below 10 units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 { format!("{:.1} {}", v, UNITS[u]) } else { format!("{} {}", v as u64, UNITS[u]) }
}

/// A duration in seconds as "3d 04:05:06", or "04:05:06" under a day.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 { format!("{d}d {h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4096), "4.0 KiB");
        assert_eq!(bytes(126 << 20), "126 MiB");
        assert_eq!(bytes(3 << 30 | 1 << 29), "3.5 GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "00:00:00");
        assert_eq!(duration(3661), "01:01:01");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 5 * 60 + 6), "3d 04:05:06");
    }
}
