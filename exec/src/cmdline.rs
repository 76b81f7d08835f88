//! The kernel command line (`qemu -append "..."`): which tests to run, and for how long.
//!
//! Words are separated by spaces. Known words:
//! - `test` runs every in-kernel test; `test=<prefix>` runs the tests whose names start with
//!   `<prefix>` (a test whose name starts with `selfcheck.` only runs when named this way);
//! - `timeout=<ms>` bounds each test (default [`DEFAULT_TEST_TIMEOUT_MS`]);
//! - `bench` runs the in-kernel benchmarks and exits; `bench=quick` runs every row with a few
//!   samples only (`make test` checks so that every row runs).
//!
//! Anything else is reported and ignored, so a typo never silently changes what boots.

/// Per-test time limit when the command line does not set one.
pub const DEFAULT_TEST_TIMEOUT_MS: u64 = 10_000;
/// Longest command line we look at; the rest is ignored with a warning.
pub const MAX_CMDLINE: usize = 1024;

/// What the boot should do, from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions<'a> {
    /// `Some("")` runs all tests, `Some(p)` those named with prefix `p`, `None` boots normally.
    pub test: Option<&'a str>,
    /// Per-test time limit in milliseconds.
    pub test_timeout_ms: u64,
    /// Run the benchmarks instead of booting normally.
    pub bench: bool,
    /// With a few samples per row only.
    pub bench_quick: bool,
}

/// A word of the command line that was not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complaint<'a> {
    /// A word this kernel does not know.
    Unknown(&'a str),
    /// A known key with a value that does not parse (`timeout=abc`).
    BadValue(&'a str),
}

impl<'a> BootOptions<'a> {
    /// Parses `line`, calling `complain` for every word it ignores.
    ///
    /// Never fails: an unusable word is reported and skipped.
    pub fn parse(line: &'a str, mut complain: impl FnMut(Complaint<'a>)) -> Self {
        let mut opts = BootOptions { test: None, test_timeout_ms: DEFAULT_TEST_TIMEOUT_MS, bench: false, bench_quick: false };
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let (key, value) = match word.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (word, None),
            };
            match (key, value) {
                ("test", None) => opts.test = Some(""),
                ("bench", None) => opts.bench = true,
                ("bench", Some("quick")) => (opts.bench, opts.bench_quick) = (true, true),
                ("test", Some(prefix)) => opts.test = Some(prefix),
                ("timeout", Some(v)) => match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => opts.test_timeout_ms = ms,
                    _ => complain(Complaint::BadValue(word)),
                },
                _ => complain(Complaint::Unknown(word)),
            }
        }
        opts
    }
}

/// Why the raw command line bytes could not be used as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawProblem {
    /// Longer than [`MAX_CMDLINE`]: cut there.
    TooLong,
    /// Not UTF-8: only the valid prefix is used.
    NotUtf8 { valid_up_to: usize },
}

/// Turns the NUL-terminated bytes the boot loader gave into a usable string.
///
/// `bytes` holds at most [`MAX_CMDLINE`] + 1 bytes read from the loader's buffer; returns the text
/// up to the first NUL, cut to the longest valid UTF-8 prefix, plus what was wrong, if anything.
pub fn from_raw(bytes: &[u8]) -> (&str, Option<RawProblem>) {
    let (bytes, mut problem) = match bytes.iter().position(|&b| b == 0) {
        Some(nul) if nul <= MAX_CMDLINE => (&bytes[..nul], None),
        _ => (&bytes[..bytes.len().min(MAX_CMDLINE)], Some(RawProblem::TooLong)),
    };
    let text = match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            problem = Some(RawProblem::NotUtf8 { valid_up_to: e.valid_up_to() });
            // Cannot fail: this prefix was just validated.
            core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("")
        }
    };
    (text, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> (BootOptions<'_>, Vec<Complaint<'_>>) {
        let mut v = Vec::new();
        let o = BootOptions::parse(line, |c| v.push(c));
        (o, v)
    }

    #[test]
    fn empty_line_boots_normally() {
        let (o, c) = parse("");
        assert_eq!(o, BootOptions { test: None, test_timeout_ms: DEFAULT_TEST_TIMEOUT_MS, bench: false, bench_quick: false });
        assert!(parse("bench").0.bench);
        let q = parse("bench=quick").0;
        assert!(q.bench && q.bench_quick);
        assert_eq!(parse("bench=slow").1.len(), 1, "an unknown bench mode is reported");
        assert!(c.is_empty());
    }

    #[test]
    fn test_words() {
        assert_eq!(parse("test").0.test, Some(""));
        assert_eq!(parse("  test=arch.  timeout=500 ").0, BootOptions { test: Some("arch."), test_timeout_ms: 500, bench: false, bench_quick: false });
    }

    #[test]
    fn bad_words_are_reported_not_fatal() {
        let (o, c) = parse("tset timeout=abc timeout=0 test");
        assert_eq!(o.test, Some(""));
        assert_eq!(o.test_timeout_ms, DEFAULT_TEST_TIMEOUT_MS);
        assert_eq!(c, vec![Complaint::Unknown("tset"), Complaint::BadValue("timeout=abc"), Complaint::BadValue("timeout=0")]);
    }

    #[test]
    fn raw_bytes() {
        assert_eq!(from_raw(b"test\0junk"), ("test", None));
        assert_eq!(from_raw(b"ab\xffcd\0"), ("ab", Some(RawProblem::NotUtf8 { valid_up_to: 2 })));
        let long = vec![b'a'; MAX_CMDLINE + 1];
        assert_eq!(from_raw(&long).1, Some(RawProblem::TooLong));
        assert_eq!(from_raw(&long).0.len(), MAX_CMDLINE);
    }
}
