//! The 8254 PIT: channel 0 drives the tick (IRQ 0); channel 2 (gated through port 0x61, the
//! speaker port, with the speaker left off) is a free counter that calibrates the TSC, and can
//! check it later without touching the tick.
#![allow(clippy::unusual_byte_groupings, reason = "command bytes are grouped by their fields: channel, access, mode, BCD")]

use x86_64::instructions::port::Port;

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

const CHANNEL0: u16 = 0x40;
const CHANNEL2: u16 = 0x42;
const COMMAND: u16 = 0x43;
/// Bit 0 gates channel 2, bit 1 connects it to the speaker (absent on `-M microvm`, where
/// QEMU's channel 2 counts ungated).
const SPEAKER: u16 = 0x61;

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

fn speaker_port() -> u8 {
    // SAFETY: reading port 0x61 has no side effect.
    unsafe { Port::<u8>::new(SPEAKER).read() }
}

/// Starts channel 2 counting down once from 65535 (mode 0: about 55 ms), gate on and speaker
/// off. [`read_channel2`] reads it.
pub fn start_channel2() {
    out(SPEAKER, (speaker_port() & !0b10) | 0b01);
    out(COMMAND, 0b10_11_000_0); // channel 2, lobyte/hibyte, mode 0, binary
    out(CHANNEL2, 0xff);
    out(CHANNEL2, 0xff);
}

/// Channel 2's count (counting down from 65535 since [`start_channel2`]), and whether it has
/// reached zero (then the count has wrapped and says nothing). Uses the read-back command, whose
/// status byte carries the output pin, so it needs no speaker port.
pub fn read_channel2() -> (u16, bool) {
    out(COMMAND, 0b11_0_0_100_0); // read-back: latch count and status of channel 2
    let read = || {
        // SAFETY: reading what read-back latched: status, then the count's low and high byte.
        unsafe { Port::<u8>::new(CHANNEL2).read() }
    };
    let (status, lo, hi) = (read(), read(), read());
    (u16::from_le_bytes([lo, hi]), status & 0x80 != 0)
}

/// At most this many PIT counts (about 20 µs) between the two counter reads of a pair.
const PAIR_MAX: u16 = 24;

/// The TSC and channel 2's count at one moment: a TSC read between two counter reads at most
/// [`PAIR_MAX`] counts apart, paired with the middle of them (so off by 10 µs at most). A pair
/// further apart (an interrupt came, or the host paused QEMU) is read again. `None` when
/// channel 2 has run out, or no pair was close in 1,000 tries.
pub fn paired_read() -> Option<(u64, u16)> {
    for _ in 0..1000 {
        let (c0, w0) = read_channel2();
        let tsc = super::cpu::rdtsc();
        let (c1, w1) = read_channel2();
        if w0 || w1 {
            return None;
        }
        if c0 - c1 <= PAIR_MAX {
            return Some((tsc, c1 + (c0 - c1) / 2));
        }
    }
    None
}

/// Measures the TSC against channel 2 (restarted) for at least `pit_counts` PIT input cycles
/// (under 65535 - [`PAIR_MAX`]); returns `(tsc_cycles, pit_counts_elapsed)`, or `None` when a
/// pause longer than channel 2's 55 ms spoilt the window. The tick is left alone; only the
/// two ends are timed, so what happens in between (an interrupt, a host pause) does not count.
pub fn measure_tsc(pit_counts: u16) -> Option<(u64, u64)> {
    start_channel2();
    let (t0, c0) = paired_read()?;
    loop {
        let (c, wrapped) = read_channel2();
        if wrapped {
            return None;
        }
        if c0 - c >= pit_counts {
            break;
        }
    }
    let (t1, c1) = paired_read()?;
    Some((t1 - t0, (c0 - c1) as u64))
}
