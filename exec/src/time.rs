//! Time: the periodic tick (PIT channel 0 on IRQ 0) and the calibrated TSC.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::{cpu, lapic, pic, pit};
use crate::global::Global;
use crate::interrupts::Interrupt;

/// Ticks per second. A quantum is counted in these.
pub const TICK_HZ: u64 = 100;
/// How long the TSC is measured against the PIT at boot.
const CALIBRATION_MS: u64 = 20;

/// Ticks since [`init`]. Written only by the tick interrupt.
static TICKS: AtomicU64 = AtomicU64::new(0);
/// The TSC's frequency, set once by [`init`].
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// The TSC when [`init`] calibrated it: uptime starts there.
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);

/// Routes PIC interrupts to the CPU, calibrates the TSC against the PIT, and starts the tick.
/// Interrupts must still be disabled; the caller enables them when boot is ready.
pub fn init() {
    pic::init();
    lapic::init_virtual_wire();
    TSC_HZ.store(calibrate_tsc(CALIBRATION_MS), Ordering::Relaxed);
    TSC_AT_BOOT.store(cpu::rdtsc(), Ordering::Relaxed);
    pit::start_periodic(pit::divisor_for(TICK_HZ));
    // SAFETY: the server is a static, on no list, never removed.
    unsafe { crate::interrupts::add_int_server(0, TICK_SERVER.get()) };
}

/// The tick's server on IRQ 0. Disable (on the IRQ 0 chain).
static TICK_SERVER: Global<Interrupt> = Global::new(Interrupt::new("tick", 0, tick, core::ptr::null_mut()));

/// Measures the TSC frequency in Hz over `ms` milliseconds of PIT time (at most 50), against
/// the PIT's counter read at both ends (see `pit::measure_tsc`). A window spoilt by a long host
/// pause is measured again.
fn calibrate_tsc(ms: u64) -> u64 {
    let counts = (pit::PIT_HZ * ms / 1000) as u16;
    let (cycles, counts) = (0..10).find_map(|_| pit::measure_tsc(counts)).expect("the PIT's channel 2 does not count");
    cycles * pit::PIT_HZ / counts
}

fn tick(_: *mut ()) -> bool {
    let now = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
    crate::sched::tick();
    crate::ktest::watchdog(now);
    true
}

/// Ticks since boot. May be called from an interrupt.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// The TSC frequency found at boot, in Hz.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since the tick started, from the TSC. May be called from an interrupt.
pub fn uptime_ns() -> u64 {
    let hz = tsc_hz().max(1);
    let cycles = cpu::rdtsc().wrapping_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    (cycles as u128 * 1_000_000_000 / hz as u128) as u64
}

/// Converts milliseconds to ticks, rounding up.
pub const fn ms_to_ticks(ms: u64) -> u64 {
    (ms * TICK_HZ).div_ceil(1000)
}

/// Sleeps the CPU until at least `n` more ticks have passed. Interrupts must be enabled.
pub fn wait_ticks(n: u64) {
    let until = ticks() + n;
    while ticks() < until {
        cpu::wait_for_interrupt();
    }
}
