use crate::arch::x86_64::{cpu, pic, pit};
use crate::ktest::TestResult;
use crate::time;
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

/// The TSC frequency found at boot agrees within 0.5% with the PIT's own counter (channel 2, so
/// the tick runs on), in each of three 30 ms windows.
///
/// Why not against the tick: under QEMU TCG both the TSC and the PIT follow the host's clock,
/// but a tick is an interrupt: when the host does not run QEMU for a while, the ticks due
/// meanwhile arrive late and back to back, and the PIC, which holds one pending edge, keeps one
/// of them, so a window of ticks stretches (by 10% once in CI). The counter has no such lag:
/// read it, it tells the PIT time of the read. What is left is a host pause between the TSC
/// read and the counter read, which `pit::paired_read` rules out (10 µs at most at each end,
/// under 0.1% of a window). The boot calibration uses the same counter, timed by the PIT;
/// these windows are timed by the TSC.
pub fn tsc_matches_pit() -> TestResult {
    let calibrated = time::tsc_hz();
    let mut judged = 0;
    for _ in 0..20 {
        // A window a host pause stretched past channel 2's 55 ms tells nothing: measured again.
        let Some((measured, counts)) = tsc_window(calibrated / 33) else { continue };
        ensure!(
            measured.abs_diff(calibrated) * 200 <= calibrated,
            "TSC {calibrated} Hz at boot, {measured} Hz against the PIT counter over {counts} counts: off by more than 0.5%"
        );
        judged += 1;
        if judged == 3 {
            return Ok(());
        }
    }
    Err(alloc::format!("only {judged} of 3 windows against the PIT counter completed in 20 tries"))
}

/// The TSC frequency over `cycles` of TSC time against PIT channel 2, and the PIT counts it
/// spanned; `None` if channel 2 ran out first.
fn tsc_window(cycles: u64) -> Option<(u64, u64)> {
    pit::start_channel2();
    let (t0, c0) = pit::paired_read()?;
    while cpu::rdtsc() - t0 < cycles {
        core::hint::spin_loop();
    }
    let (t1, c1) = pit::paired_read()?;
    let counts = (c0 - c1) as u64; // it counts down
    Some(((t1 - t0) * pit::PIT_HZ / counts.max(1), counts))
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
