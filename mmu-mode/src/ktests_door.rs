//! mmu-mode's in-kernel tests of the one door to task memory (`uaccess.rs`) as the gate uses it
//! for long copies: chunked, overlapping either way, with pending interrupts let in between.

use exec::ktest::{Test, TestResult};
use exec::memory::{MemFlags, alloc_mem, free_mem};
use exec::{ensure, ensure_eq};

use crate::uaccess::{CHUNK, UserRead, UserWrite};

pub static TESTS: &[Test] = &[Test::new("mmu.door.long_copies_let_interrupts_in", long_copies_let_interrupts_in)];

/// Bytes of each copy: many chunks.
const LEN: usize = 4 << 20;
/// How far the overlapping copies move the bytes.
const SHIFT: usize = 1000;

fn pattern(i: usize) -> u8 {
    (i * 7 + i / 4093) as u8
}

/// A copy of megabytes through the door, as a gate call makes it (under Forbid, interrupts
/// off, no Disable held), lets pending interrupts in between its chunks: the clock ticks on
/// through 100 ms of copies (with interrupts held off throughout, at most one tick would
/// come, late). And chunked copies are still memmove: overlapping ranges moved up and back down
/// come out exact.
fn long_copies_let_interrupts_in() -> TestResult {
    let a = alloc_mem(LEN + SHIFT, MemFlags::PUBLIC);
    let b = alloc_mem(LEN, MemFlags::PUBLIC);
    let free = || {
        // SAFETY: both from alloc_mem with these sizes (null is ignored), not used after.
        unsafe {
            free_mem(a, LEN + SHIFT);
            free_mem(b, LEN);
        }
    };
    if a.is_null() || b.is_null() {
        free();
        return Err("no memory".into());
    }
    // SAFETY: our own blocks, of these sizes; nothing else touches them.
    let (moved, back) = unsafe {
        let bytes = core::slice::from_raw_parts_mut(a, LEN + SHIFT);
        for (i, x) in bytes.iter_mut().enumerate() {
            *x = pattern(i);
        }
        // Up by SHIFT (the chunks go from the top down), then back down (bottom up).
        UserWrite::trusted(a as u64 + SHIFT as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64, LEN as u64), 0, LEN as u64);
        let moved = (0..LEN).all(|i| bytes[i + SHIFT] == pattern(i));
        UserWrite::trusted(a as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64 + SHIFT as u64, LEN as u64), 0, LEN as u64);
        (moved, (0..LEN).all(|i| bytes[i] == pattern(i)))
    };
    exec::sched::forbid();
    exec::arch::x86_64::cpu::disable_interrupts();
    let (t0, start) = (exec::time::ticks(), exec::time::uptime_ns());
    let mut copies = 0;
    while exec::time::uptime_ns() - start < 100_000_000 {
        // SAFETY: as above.
        unsafe { UserWrite::trusted(b as u64, LEN as u64).copy_from(0, UserRead::trusted(a as u64, LEN as u64), 0, LEN as u64) };
        copies += 1;
    }
    let ticks = exec::time::ticks() - t0;
    exec::arch::x86_64::cpu::enable_interrupts();
    exec::sched::permit();
    free();
    ensure!(moved, "a copy up over itself came out wrong");
    ensure!(back, "a copy down over itself came out wrong");
    ensure!(LEN > 8 * CHUNK);
    ensure!(ticks >= 5, "{ticks} ticks in 100 ms of {copies} copies of {LEN} bytes: interrupts were held off");
    ensure_eq!(exec::arch::x86_64::cpu::interrupts_enabled(), true);
    Ok(())
}
