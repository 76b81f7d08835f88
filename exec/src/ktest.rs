//! The in-kernel test runner.
//!
//! Any crate can contribute tests: it exposes a `&'static [Test]` and the image passes all of
//! them to [`run`]. The kernel command line picks which run (`test`, or `test=<prefix>`). Each
//! test prints `test <name> ... ok`, `test <name> ... FAILED: <why>`, or, when it called
//! [`skip`] because the machine lacks what it checks, `test <name> ... skipped (<reason>)`; the
//! run ends with the line `N passed, N failed, N skipped` and exits QEMU through isa-debug-exit
//! (status 33 = none failed and at least one passed).
//!
//! A test that panics, raises a Guru Meditation or outlives its time limit is reported as failed
//! by name and ends the run: tests run on the runner's own task and stack, so there is nothing
//! left to go on from.

use alloc::string::String;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::arch::x86_64::{cpu, qemu};
use crate::{kprint, kprintln};

/// One in-kernel test.
pub struct Test {
    /// Dotted name, e.g. `arch.exceptions.page_fault`; prefixes select groups.
    pub name: &'static str,
    pub run: fn() -> TestResult,
    /// Runs only when selected by a prefix of its own name, never under plain `test`
    /// (tests that must fail, or that need input from the host harness).
    pub explicit: bool,
    /// A longer time limit than the run's (a long fuzz), in milliseconds; 0: the run's.
    pub limit_ms: u64,
}

impl Test {
    /// A test that runs under plain `test`.
    pub const fn new(name: &'static str, run: fn() -> TestResult) -> Self {
        Test { name, run, explicit: false, limit_ms: 0 }
    }
    /// A test that runs only when named by `test=<prefix>`.
    pub const fn explicit(name: &'static str, run: fn() -> TestResult) -> Self {
        Test { name, run, explicit: true, limit_ms: 0 }
    }
    /// This test with at least `ms` to run in, whatever the run's limit.
    pub const fn with_limit(mut self, ms: u64) -> Self {
        self.limit_ms = ms;
        self
    }
}

/// What a test returns: `Err` carries the reason, printed after `FAILED: `.
pub type TestResult = Result<(), String>;

/// Why the current test skipped itself (see [`skip`]); cleared before each test.
static SKIPPED: spin::Mutex<Option<&'static str>> = spin::Mutex::new(None);

/// Ends the current test as skipped, not passed: `return skip("the CPU has no NX")`, for a test
/// whose subject the machine lacks (so that an `Ok` never stands for a check not made).
pub fn skip(reason: &'static str) -> TestResult {
    *SKIPPED.lock() = Some(reason);
    Ok(())
}

/// Fails the test with a message (and the location) unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            return Err(alloc::format!("{}:{}: {}", file!(), line!(), stringify!($cond)));
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(alloc::format!("{}:{}: {}", file!(), line!(), format_args!($($arg)+)));
        }
    };
}

/// Fails the test unless the two values are equal, showing both.
#[macro_export]
macro_rules! ensure_eq {
    ($a:expr, $b:expr $(,)?) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(alloc::format!(
                "{}:{}: {} == {} failed: {:?} != {:?}",
                file!(), line!(), stringify!($a), stringify!($b), a, b
            ));
        }
    }};
    ($a:expr, $b:expr, $($arg:tt)+) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(alloc::format!(
                "{}:{}: {:?} != {:?}: {}",
                file!(), line!(), a, b, format_args!($($arg)+)
            ));
        }
    }};
}

/// The test now running (null between tests and outside a run). Written by [`run`], read by the
/// tick interrupt and by alerts; atomics are the only guard needed.
static CURRENT: AtomicPtr<Test> = AtomicPtr::new(core::ptr::null_mut());
/// Tick at which the current test has run too long (0 = no limit armed).
static DEADLINE: AtomicU64 = AtomicU64::new(0);
/// The current test's limit, for the message.
static LIMIT_MS: AtomicU64 = AtomicU64::new(0);
static PASSED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);
static SKIPS: AtomicU32 = AtomicU32::new(0);

fn selected(t: &Test, prefix: &str) -> bool {
    if t.explicit { !prefix.is_empty() && t.name.starts_with(prefix) } else { t.name.starts_with(prefix) }
}

/// Runs the tests of `suites` whose names start with `prefix` (all non-explicit ones for `""`),
/// each limited to `timeout_ms`, then exits QEMU. Interrupts must be enabled (the time limit
/// and the timer tests need the tick).
pub fn run(suites: &[&'static [Test]], prefix: &str, timeout_ms: u64) -> ! {
    let tests = || suites.iter().flat_map(|s| s.iter()).filter(|t| selected(t, prefix));
    let count = tests().count();
    if count == 0 {
        kprintln!("No in-kernel test matches '{prefix}'.");
        summary_and_exit();
    }
    kprintln!("running {count} tests");
    for t in tests() {
        kprint!("test {} ... ", t.name);
        let limit = timeout_ms.max(t.limit_ms);
        LIMIT_MS.store(limit, Ordering::Relaxed);
        CURRENT.store(t as *const Test as *mut Test, Ordering::SeqCst);
        DEADLINE.store(crate::time::ticks() + crate::time::ms_to_ticks(limit) + 1, Ordering::SeqCst);
        *SKIPPED.lock() = None;
        let result = (t.run)();
        DEADLINE.store(0, Ordering::SeqCst);
        CURRENT.store(core::ptr::null_mut(), Ordering::SeqCst);
        if !cpu::interrupts_enabled() {
            cpu::enable_interrupts();
        }
        let skipped = SKIPPED.lock().take();
        match (result, skipped) {
            (Ok(()), Some(reason)) => {
                SKIPS.fetch_add(1, Ordering::Relaxed);
                kprintln!("skipped ({reason})");
            }
            (Ok(()), None) => {
                PASSED.fetch_add(1, Ordering::Relaxed);
                kprintln!("ok");
            }
            (Err(why), _) => {
                FAILED.fetch_add(1, Ordering::Relaxed);
                kprintln!("FAILED: {why}");
            }
        }
    }
    summary_and_exit()
}

fn summary_and_exit() -> ! {
    let (p, f, s) = (PASSED.load(Ordering::Relaxed), FAILED.load(Ordering::Relaxed), SKIPS.load(Ordering::Relaxed));
    kprintln!("{p} passed, {f} failed, {s} skipped");
    qemu::exit(if f == 0 && p > 0 { qemu::ExitCode::Success } else { qemu::ExitCode::Failure })
}

/// Ends the run with the current test failed for `why`. Interrupt context or dying system.
fn abort_current(why: core::fmt::Arguments) -> ! {
    cpu::disable_interrupts();
    // SAFETY: CURRENT only ever holds null or a pointer to a `&'static Test`.
    let name = match unsafe { CURRENT.load(Ordering::SeqCst).as_ref() } {
        Some(t) => t.name,
        None => "(between tests)",
    };
    FAILED.fetch_add(1, Ordering::Relaxed);
    let mut line = crate::alert::Report::new();
    let _ = core::fmt::Write::write_fmt(&mut line, format_args!("\ntest {name} ... FAILED: {why}\n"));
    crate::console::print_emergency(line.as_str());
    let (p, f, s) = (PASSED.load(Ordering::Relaxed), FAILED.load(Ordering::Relaxed), SKIPS.load(Ordering::Relaxed));
    let mut line = crate::alert::Report::new();
    let _ = core::fmt::Write::write_fmt(&mut line, format_args!("{p} passed, {f} failed, {s} skipped\n"));
    crate::console::print_emergency(line.as_str());
    qemu::exit(qemu::ExitCode::Failure)
}

/// Called by the tick interrupt: ends the run if the current test is over its time limit.
pub(crate) fn watchdog(now: u64) {
    let deadline = DEADLINE.load(Ordering::Relaxed);
    if deadline != 0 && now >= deadline {
        abort_current(format_args!("timed out after {} ms", LIMIT_MS.load(Ordering::Relaxed)));
    }
}

/// Called by a dead-end alert (after the Guru Meditation is printed): during a test run, the
/// test is reported as failed and QEMU exits; otherwise this returns and the system halts.
pub(crate) fn on_dead_end(guru: &str) {
    if !CURRENT.load(Ordering::SeqCst).is_null() {
        abort_current(format_args!("{}", guru.trim_matches(|c| c == '*' || c == ' ')));
    }
}
