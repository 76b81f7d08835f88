//! The host side of Lorraine's tests: boots a kernel image under QEMU (TCG), reads its serial
//! port, types into it, and judges how it ended.
//!
//! A run passes only if QEMU left through isa-debug-exit with status 33 *and* the kernel printed
//! a `N passed, 0 failed` line (with `, N skipped` after it when some were) that agrees with the
//! `test ... ok` and `test ... skipped (why)` lines. A skipped test is neither a pass nor a
//! failure: the machine lacked what it checks. Status 0 (a triple
//! fault), any other status, a missing summary, or a run that outlived its time limit all fail,
//! and the failure names the test that was running.
#![deny(unsafe_code)]

pub mod linuxref;
pub mod report;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which build of the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Flat,
    Mmu,
}

impl Mode {
    pub const BOTH: [Mode; 2] = [Mode::Flat, Mode::Mmu];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Flat => "flat",
            Mode::Mmu => "mmu",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "flat" => Some(Mode::Flat),
            "mmu" => Some(Mode::Mmu),
            _ => None,
        }
    }

    /// The image `make` built for this mode: `$LORRAINE_IMAGE_FLAT` / `$LORRAINE_IMAGE_MMU`, or
    /// `target/lorraine-<mode>.elf` in the workspace.
    pub fn image(self) -> PathBuf {
        let var = format!("LORRAINE_IMAGE_{}", self.name().to_uppercase());
        std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/lorraine-{}.elf", self.name()))
        })
    }
}

/// QEMU's exit status when the kernel wrote 0x10 (success) to isa-debug-exit.
pub const EXIT_SUCCESS: i32 = 33;

/// How to boot one machine.
#[derive(Clone, Debug)]
pub struct Boot {
    pub mode: Mode,
    /// Extra QEMU arguments (`-M q35`, `-m 4G`, ...), after those of `$QEMUFLAGS`.
    pub flags: Vec<String>,
    /// The kernel command line.
    pub append: String,
    /// Let a reset reboot the machine instead of ending QEMU (no `-no-reboot`).
    pub allow_reboot: bool,
}

impl Boot {
    pub fn new(mode: Mode) -> Self {
        Boot { mode, flags: Vec::new(), append: String::new(), allow_reboot: false }
    }
    pub fn flags(mut self, flags: &str) -> Self {
        self.flags.extend(flags.split_whitespace().map(String::from));
        self
    }
    pub fn append(mut self, line: &str) -> Self {
        self.append = line.to_string();
        self
    }

    /// The full QEMU command line.
    pub fn command(&self) -> Command {
        let qemu = std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
        let mut c = Command::new(qemu);
        c.arg("-kernel").arg(self.mode.image());
        c.args(["-display", "none", "-serial", "stdio"]);
        if !self.allow_reboot {
            c.arg("-no-reboot");
        }
        c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        if let Ok(extra) = std::env::var("QEMUFLAGS") {
            c.args(extra.split_whitespace());
        }
        c.args(&self.flags);
        if !self.append.is_empty() {
            c.arg("-append").arg(&self.append);
        }
        c
    }

    /// Starts QEMU. Panics with a clear message if the image or QEMU is missing.
    pub fn start(&self) -> Machine {
        let image = self.mode.image();
        assert!(image.exists(), "no kernel image at {} (build it with `make images`)", image.display());
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start QEMU ({e}); install qemu-system-x86"));
        let out = Arc::new(Mutex::new(Vec::new()));
        for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())] {
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        let stdin = child.stdin.take();
        Machine { child, stdin, out, started: Instant::now() }
    }
}

/// A running QEMU.
pub struct Machine {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    started: Instant,
}

/// How a machine ended.
#[derive(Clone, Debug)]
pub struct Ending {
    /// QEMU's exit status; `None` if it was killed after the time limit.
    pub status: Option<i32>,
    pub transcript: String,
}

impl Machine {
    /// Everything the machine printed so far (serial port and QEMU's own messages).
    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until the output contains `text`; returns the time since start, or an error with
    /// the transcript.
    pub fn expect(&mut self, text: &str, timeout: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.transcript().contains(text) {
                return Ok(self.elapsed());
            }
            if Instant::now() > deadline || matches!(self.child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(50));
                if self.transcript().contains(text) {
                    return Ok(self.elapsed());
                }
                return Err(format!("did not see {text:?} within {timeout:?}; output was:\n{}", self.transcript()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `text` into the serial port, a byte at a time like a person (the UART has a small
    /// FIFO and the kernel polls it).
    pub fn type_text(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin closed");
        for b in text.bytes() {
            stdin.write_all(&[b]).expect("QEMU's stdin closed");
            stdin.flush().ok();
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sends `bytes` to the serial port all at once, as fast as QEMU takes them.
    pub fn send_fast(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin closed");
        stdin.write_all(bytes).expect("QEMU's stdin closed");
        stdin.flush().ok();
    }

    /// Waits for QEMU to exit, killing it after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Ending {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.code(),
                _ if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        std::thread::sleep(Duration::from_millis(50)); // let the readers drain
        Ending { status, transcript: self.transcript() }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` without ANSI escape sequences (CSI ... letter) and carriage returns.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if n.is_ascii_alphabetic() || n == '~' {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A machine booted to the shell prompt, driven a line at a time.
pub struct ShellSession {
    pub machine: Machine,
}

/// The shell's prompt as it is drawn.
pub const PROMPT: &str = "1.SYS:> ";

impl ShellSession {
    /// Boots `boot` and waits for the first prompt.
    pub fn start(boot: &Boot) -> ShellSession {
        let mut machine = boot.start();
        machine.expect(PROMPT, Duration::from_secs(20)).unwrap();
        // Every DOS handler is up (the shell would fall back to serial.device without CON:).
        let boot_text = machine.transcript();
        assert!(!boot_text.contains("DOS: "), "a DOS handler did not start:\n{boot_text}");
        ShellSession { machine }
    }

    /// Bytes of output so far.
    pub fn mark(&self) -> usize {
        self.machine.transcript().len()
    }

    /// Output since `mark`, without ANSI escapes and CRs.
    pub fn since(&self, mark: usize) -> String {
        strip_ansi(&self.machine.transcript()[mark..])
    }

    /// Waits until the output since `mark` contains `text`; returns that output.
    pub fn expect_since(&mut self, mark: usize, text: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.since(mark);
            if out.contains(text) {
                return Ok(out);
            }
            if Instant::now() > deadline {
                return Err(format!("did not see {text:?}; output since the mark:\n{out}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `line` and Enter, waits until the output after the Enter contains `until`, and
    /// returns that output (for lines that end at another prompt than the shell's).
    pub fn run_until(&mut self, line: &str, until: &str) -> String {
        self.enter_and_wait(line, &format!("{until:?}"), |after| after.contains(until).then(|| after.to_string()))
    }

    /// Types `line` and Enter, waits for the next prompt, and returns what the command printed
    /// (the lines between the Enter and the prompt). Redraws while typing also show the
    /// prompt, so only a prompt after the Enter's newline counts.
    pub fn run(&mut self, line: &str) -> String {
        self.enter_and_wait(line, "prompt", |after| after.rfind(PROMPT).map(|p| after[..p].to_string()))
    }

    /// AVAIL TOTAL: the bytes the shell reports free.
    pub fn avail_total(&mut self) -> u64 {
        let out = self.run("avail total");
        out.trim().parse().unwrap_or_else(|_| panic!("AVAIL TOTAL printed {out:?}"))
    }

    /// Polls AVAIL TOTAL (20 s at most) until it is `before` again: ended tasks give their
    /// memory back when their reaper runs, not at once. Panics with `what` and both figures.
    pub fn await_avail(&mut self, before: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let after = self.avail_total();
            if after == before {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: AVAIL {before} before, {after} after");
        }
    }

    /// Types `line` and Enter, then waits (30 s at most) until `done` finds what it looks for
    /// in the output after the Enter's newline, and returns that.
    fn enter_and_wait(&mut self, line: &str, what: &str, done: impl Fn(&str) -> Option<String>) -> String {
        let mark = self.mark();
        self.machine.type_text(line);
        self.machine.type_text("\r");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.since(mark);
            if let Some(nl) = out.find('\n')
                && let Some(found) = done(&out[nl + 1..])
            {
                return found;
            }
            if Instant::now() > deadline {
                panic!("{line:?}: no {what} after the command; output:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The verdict on one in-kernel test run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Names of the tests that failed (or were running when the machine died).
    pub failures: Vec<String>,
    /// Why the run as a whole failed, if it did.
    pub problem: Option<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.problem.is_none() && self.failed == 0 && self.passed > 0
    }
}

/// Judges an in-kernel test run from its transcript and QEMU's exit status (pure; see the
/// module docs for the rules).
pub fn judge(transcript: &str, status: Option<i32>) -> Verdict {
    let mut passed = 0;
    let mut skipped = 0;
    let mut failures: Vec<String> = Vec::new();
    let mut running: Option<String> = None;
    let mut summary: Option<(usize, usize, usize)> = None;
    for line in transcript.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, result)) = rest.split_once(" ...") {
                let result = result.trim();
                if result == "ok" {
                    passed += 1;
                    running = None;
                } else if result.starts_with("skipped") {
                    skipped += 1;
                    running = None;
                } else if result.starts_with("FAILED") {
                    if !failures.iter().any(|f| f == name) {
                        failures.push(name.to_string());
                    }
                    running = None;
                } else {
                    running = Some(name.to_string());
                }
            }
        } else if let (Some(name), true) =
            (&running, line == "ok" || line.starts_with("FAILED") || line.starts_with("skipped ("))
        {
            // A test that printed something finishes on a line of its own.
            if line == "ok" {
                passed += 1;
            } else if line.starts_with("skipped (") {
                skipped += 1;
            } else if !failures.contains(name) {
                failures.push(name.clone());
            }
            running = None;
        } else if let Some(counts) = parse_summary(line) {
            summary = Some(counts);
        }
    }
    let mut problem = match status {
        Some(EXIT_SUCCESS) => None,
        Some(0) => Some("QEMU exited with status 0: a triple fault".to_string()),
        Some(s) => Some(format!("QEMU exited with status {s}")),
        None => Some("timed out: the machine was killed".to_string()),
    };
    if let Some(name) = running {
        if !failures.contains(&name) {
            failures.push(name.clone());
        }
        let why = problem.take().unwrap_or_default();
        problem = Some(format!("test {name} never finished ({why})"));
    }
    match summary {
        None if problem.is_none() => problem = Some("no 'N passed, N failed' line".into()),
        Some((p, f, s)) if problem.is_none() && (p != passed || f != failures.len() || s != skipped) => {
            problem = Some(format!(
                "summary says {p} passed, {f} failed, {s} skipped; lines say {passed}, {} and {skipped}",
                failures.len()
            ))
        }
        _ => {}
    }
    Verdict { passed, failed: failures.len(), skipped, failures, problem }
}

/// `N passed, N failed`, optionally followed by `, N skipped` (absent means none).
fn parse_summary(line: &str) -> Option<(usize, usize, usize)> {
    let (p, rest) = line.split_once(" passed, ")?;
    let (f, s) = match rest.split_once(" failed, ") {
        Some((f, s)) => (f, s.strip_suffix(" skipped")?.trim().parse().ok()?),
        None => (rest.strip_suffix(" failed")?, 0),
    };
    Some((p.trim().parse().ok()?, f.trim().parse().ok()?, s))
}

/// Boots `boot`, waits up to `timeout` for it to end, and judges the run.
pub fn run_suite(boot: &Boot, timeout: Duration) -> (Verdict, String) {
    let ending = boot.start().wait(timeout);
    (judge(&ending.transcript, ending.status), ending.transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_run_passes() {
        let v = judge("running 2 tests\ntest a ... ok\ntest b ... ok\n2 passed, 0 failed\n", Some(33));
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.passed, v.failed), (2, 0));
    }

    #[test]
    fn a_failing_test_fails() {
        let v = judge("test a ... ok\ntest b ... FAILED: no\n1 passed, 1 failed\n", Some(35));
        assert!(!v.ok());
        assert_eq!(v.failures, vec!["b"]);
    }

    #[test]
    fn a_triple_fault_fails_and_names_the_test() {
        let v = judge("test a ... ok\ntest boom ... ", Some(0));
        assert!(!v.ok());
        assert_eq!(v.failures, vec!["boom"]);
        assert!(v.problem.unwrap().contains("triple fault"));
    }

    #[test]
    fn a_timeout_fails_and_names_the_test() {
        let v = judge("test a ... ok\ntest slow ... ", None);
        assert!(!v.ok());
        assert!(v.problem.unwrap().contains("test slow never finished (timed out"));
    }

    #[test]
    fn success_status_without_summary_fails() {
        assert!(!judge("test a ... ok\n", Some(33)).ok());
        assert!(!judge("", Some(33)).ok());
    }

    #[test]
    fn summary_must_agree_with_lines() {
        assert!(!judge("test a ... ok\n2 passed, 0 failed\n", Some(33)).ok());
    }

    #[test]
    fn zero_tests_is_not_a_pass() {
        assert!(!judge("0 passed, 0 failed\n", Some(33)).ok());
    }

    #[test]
    fn a_test_that_prints_finishes_on_its_own_line() {
        let v = judge("test e ... type a line:\necho: x\nok\n1 passed, 0 failed\n", Some(33));
        assert!(v.ok(), "{v:?}");
    }

    #[test]
    fn a_skip_is_counted_and_is_not_a_failure() {
        let t = "test a ... ok\ntest nx ... skipped (the CPU has no NX)\ntest p ... type:\nskipped (no input)\n1 passed, 0 failed, 2 skipped\n";
        let v = judge(t, Some(33));
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.passed, v.failed, v.skipped), (1, 0, 2));
    }

    #[test]
    fn a_summary_that_miscounts_skips_fails() {
        assert!(!judge("test a ... ok\ntest b ... skipped (x)\n1 passed, 0 failed, 0 skipped\n", Some(33)).ok());
        assert!(!judge("test a ... ok\ntest b ... skipped (x)\n1 passed, 0 failed\n", Some(33)).ok());
        assert!(!judge("test a ... skipped (x)\n0 passed, 0 failed, 1 skipped\n", Some(33)).ok(), "only skips is no pass");
    }

    #[test]
    fn a_guru_during_a_test_fails() {
        let t = "test p ... \n*** Guru Meditation #81000F00.00000000\ntest p ... FAILED: Guru\n0 passed, 1 failed\n";
        let v = judge(t, Some(35));
        assert_eq!(v.failures, vec!["p"]);
        assert!(!v.ok());
    }
}
