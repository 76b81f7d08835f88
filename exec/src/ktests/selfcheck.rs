//! Tests that must fail, proving the harness never counts a broken kernel as passing. All are
//! explicit: they run only when named.

use alloc::string::String;

use crate::arch::x86_64::{cpu, probe};
use crate::ktest::TestResult;

pub fn fails() -> TestResult {
    Err(String::from("this test fails on purpose"))
}

pub fn panics() -> TestResult {
    panic!("selfcheck panic on purpose")
}

/// An exception nobody armed a probe for: a real Guru Meditation.
pub fn guru() -> TestResult {
    // Deliberately raises #UD; the alert ends the run.
    crate::arch::x86_64::cpu::invalid_opcode();
    Ok(())
}

pub fn triple_fault() -> TestResult {
    probe::triple_fault()
}

/// Caught by the kernel's own watchdog (the tick still runs).
pub fn hangs() -> TestResult {
    loop {
        cpu::wait_for_interrupt();
    }
}

/// Not even the tick runs: only the host harness's time limit can stop this one.
pub fn hangs_interrupts_off() -> TestResult {
    cpu::halt_forever()
}
