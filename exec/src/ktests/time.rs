use crate::arch::x86_64::{cpu, pic};
use crate::ktest::TestResult;
use crate::time::{self, TICK_HZ};
use crate::{ensure, ensure_eq};

/// Spins (no HLT, so a dead tick cannot hang the test) until `n` ticks pass or `secs` of TSC time.
fn spin_for_ticks(n: u64, secs: u64) -> Result<u64, alloc::string::String> {
    let start = time::ticks();
    let t0 = cpu::rdtsc();
    let limit = time::tsc_hz() * secs;
    while time::ticks() < start + n {
        if cpu::rdtsc() - t0 > limit {
            return Err(alloc::format!("only {} of {n} ticks in {secs} s", time::ticks() - start));
        }
        core::hint::spin_loop();
    }
    Ok(cpu::rdtsc() - t0)
}

pub fn ticks_advance() -> TestResult {
    ensure!(cpu::interrupts_enabled());
    spin_for_ticks(5, 2)?;
    Ok(())
}

/// The TSC frequency found at boot agrees within 10% with the tick (the PIT) over 30 ticks,
/// in at least one of five windows: under QEMU TCG the TSC follows the host's clock and the
/// tick QEMU's virtual one, and a busy host can stretch a single window (seen: 10% once in a
/// CI run). A calibration that is wrong is wrong in every window.
pub fn tsc_matches_pit() -> TestResult {
    let calibrated = time::tsc_hz();
    let mut seen = alloc::vec::Vec::new();
    for _ in 0..5 {
        spin_for_ticks(1, 2)?; // start on a tick edge
        let n = 30;
        let measured = spin_for_ticks(n, 5)? * TICK_HZ / n;
        if measured.abs_diff(calibrated) * 10 <= calibrated {
            return Ok(());
        }
        seen.push(measured);
    }
    Err(alloc::format!("TSC {calibrated} Hz at boot; against the tick {seen:?} Hz: off by more than 10% every time"))
}

pub fn uptime_monotonic() -> TestResult {
    let mut last = time::uptime_ns();
    for _ in 0..1000 {
        let now = time::uptime_ns();
        ensure!(now >= last, "uptime went back from {last} to {now}");
        last = now;
    }
    Ok(())
}

pub fn irq0_unmasked() -> TestResult {
    ensure_eq!(pic::masks() & 1, 0);
    ensure_eq!(pic::masks() & 0xff00, 0xff00); // nothing on the slave asked for yet
    Ok(())
}
