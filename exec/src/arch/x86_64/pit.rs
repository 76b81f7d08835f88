//! The 8254 PIT: channel 0 drives the tick (IRQ 0), and its counter calibrates the TSC.

use x86_64::instructions::port::Port;

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

const CHANNEL0: u16 = 0x40;
const COMMAND: u16 = 0x43;

fn out(port: u16, v: u8) {
    // SAFETY: the PIT's ports; writes follow the 8254 protocol (command, then low, high byte).
    unsafe { Port::<u8>::new(port).write(v) }
}

/// Starts channel 0 as a rate generator (mode 2) with the given divisor (0 means 65536).
pub fn start_periodic(divisor: u16) {
    out(COMMAND, 0b00_11_010_0); // channel 0, lobyte/hibyte, mode 2, binary
    out(CHANNEL0, divisor as u8);
    out(CHANNEL0, (divisor >> 8) as u8);
}

/// The divisor for a tick of `hz` per second.
pub const fn divisor_for(hz: u64) -> u16 {
    ((PIT_HZ + hz / 2) / hz) as u16
}

/// Channel 0's current count (it counts down).
pub fn read_count() -> u16 {
    out(COMMAND, 0b00_00_000_0); // latch channel 0
    // SAFETY: reading the latched count, low byte then high byte.
    let (lo, hi) = unsafe { (Port::<u8>::new(CHANNEL0).read(), Port::<u8>::new(CHANNEL0).read()) };
    u16::from_le_bytes([lo, hi])
}

/// Measures the TSC against the PIT for at least `pit_counts` PIT input cycles; returns
/// `(tsc_cycles, pit_counts_elapsed)`. Channel 0 must be running with divisor 65536, so that a
/// wrap is never missed between two reads. Call with interrupts disabled.
pub fn measure_tsc(pit_counts: u64) -> (u64, u64) {
    let mut last = read_count();
    // Align to a count change so the first partial count doesn't skew a short window.
    while read_count() == last {}
    last = read_count();
    let t0 = super::cpu::rdtsc();
    let mut elapsed = 0u64;
    while elapsed < pit_counts {
        let now = read_count();
        elapsed += last.wrapping_sub(now) as u64;
        last = now;
    }
    (super::cpu::rdtsc() - t0, elapsed)
}
