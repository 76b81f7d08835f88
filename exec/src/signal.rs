//! Signals: 32 bits per task. alloc_signal, free_signal, signal, wait, set_signal.
//!
//! Bits 0..15 are reserved for the system, as on the Amiga (allocated from the start):
//! 0 abort, 1 child, 4 single (semaphores), 8 dos, and 12..15 the break signals CTRL-C..F.
//! `alloc_signal(-1)` hands out free bits from 31 downwards.

/// Signals allocated to every new task: the system's sixteen.
pub const SIGNALS_RESERVED: u32 = 0x0000_ffff;
pub const SIGB_ABORT: u8 = 0;
pub const SIGB_CHILD: u8 = 1;
/// Used by semaphores while a task waits for one.
pub const SIGB_SINGLE: u8 = 4;
pub const SIGB_DOS: u8 = 8;
pub const SIGB_CTRL_C: u8 = 12;
pub const SIGB_CTRL_D: u8 = 13;
pub const SIGB_CTRL_E: u8 = 14;
pub const SIGB_CTRL_F: u8 = 15;
pub const SIGF_SINGLE: u32 = 1 << SIGB_SINGLE;
pub const SIGF_CTRL_C: u32 = 1 << SIGB_CTRL_C;
pub const SIGF_CTRL_D: u32 = 1 << SIGB_CTRL_D;
pub const SIGF_CTRL_E: u32 = 1 << SIGB_CTRL_E;
pub const SIGF_CTRL_F: u32 = 1 << SIGB_CTRL_F;

/// Picks a bit to allocate from the mask `allocated`: `wanted` = -1 takes the highest free
/// bit, 0..=31 takes exactly that bit. Returns the bit, or `None` if it is taken (or out of
/// range, or every bit is taken).
pub fn pick_bit(allocated: u32, wanted: i32) -> Option<u8> {
    match wanted {
        -1 => (0..32u8).rev().find(|&b| allocated & (1 << b) == 0),
        0..=31 => (allocated & (1 << wanted) == 0).then_some(wanted as u8),
        _ => None,
    }
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use super::pick_bit;
    use crate::execbase::base;
    use crate::sched::{self, disable, enable};
    use crate::task::{Task, TaskState};

    /// Allocates signal bit `wanted` (0..=31) or, with -1, any free one, to the calling task.
    /// Result: the bit number, or -1 if it is taken / none is free. Clears the bit's received
    /// state. Not callable from an interrupt.
    pub fn alloc_signal(wanted: i32) -> i32 {
        disable();
        // SAFETY: Disable held; the running task is live.
        let r = unsafe {
            let me = &mut *(*base()).this_task;
            match pick_bit(me.sig_alloc, wanted) {
                Some(b) => {
                    me.sig_alloc |= 1 << b;
                    me.sig_recvd &= !(1 << b);
                    b as i32
                }
                None => -1,
            }
        };
        enable();
        r
    }

    /// Gives back signal bit `bit` of the calling task; -1 and out-of-range bits do nothing.
    /// Not callable from an interrupt.
    pub fn free_signal(bit: i32) {
        if !(0..32).contains(&bit) {
            return;
        }
        disable();
        // SAFETY: Disable held; the running task is live.
        unsafe { (*(*base()).this_task).sig_alloc &= !(1 << bit) };
        enable();
    }

    /// Sends the signals `mask` to `task`. If it waits for any of them it becomes ready, and if
    /// it outranks the caller it runs at once (after the interrupt, if called from one).
    /// Callable from an interrupt.
    ///
    /// # Safety
    /// `task` is a live task.
    pub unsafe fn signal(task: *mut Task, mask: u32) {
        disable();
        // SAFETY: Disable held; `task` live (caller).
        unsafe { signal_disabled(task, mask) };
        enable();
    }

    /// [`signal`] for callers that already hold Disable.
    ///
    /// # Safety
    /// Disable held; `task` is a live task.
    pub(crate) unsafe fn signal_disabled(task: *mut Task, mask: u32) {
        // SAFETY: per the contract.
        unsafe {
            let eb = &mut *base();
            let t = &mut *task;
            t.sig_recvd |= mask;
            // A waiting task is on no list: it goes straight to the ready list.
            if t.state == TaskState::Waiting && t.sig_recvd & t.sig_wait != 0 {
                sched::make_ready(eb, task);
            }
        }
    }

    /// Waits until the caller has received any of `mask`. Result: the received signals of
    /// `mask`, which are cleared. With a mask of 0 this returns 0 at once. Breaks Forbid and
    /// Disable while waiting. Not callable from an interrupt.
    pub fn wait(mask: u32) -> u32 {
        disable();
        // SAFETY: Disable held; the running task is live; no reference to ExecBase spans the
        // switch in `block`.
        let got = unsafe {
            let me = (*base()).this_task;
            while mask != 0 && (*me).sig_recvd & mask == 0 {
                (*me).sig_wait = mask;
                (*me).state = TaskState::Waiting;
                sched::block(me);
            }
            // `sig_wait` keeps the last mask: it is read only while the task is Waiting.
            let got = (*me).sig_recvd & mask;
            (*me).sig_recvd &= !got;
            got
        };
        enable();
        got
    }

    /// Sets the caller's received signals under `mask` to those of `new`; returns the old
    /// received set. `set_signal(0, 0)` reads them. Not callable from an interrupt.
    pub fn set_signal(new: u32, mask: u32) -> u32 {
        disable();
        // SAFETY: Disable held; the running task is live.
        let old = unsafe {
            let me = &mut *(*base()).this_task;
            let old = me.sig_recvd;
            me.sig_recvd = (old & !mask) | (new & mask);
            old
        };
        enable();
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bit_comes_from_the_top() {
        assert_eq!(pick_bit(SIGNALS_RESERVED, -1), Some(31));
        assert_eq!(pick_bit(0xffff_0fff | 0x8000_0000, -1), Some(15));
        assert_eq!(pick_bit(u32::MAX, -1), None);
    }

    #[test]
    fn a_given_bit_only_if_free() {
        assert_eq!(pick_bit(SIGNALS_RESERVED, 20), Some(20));
        assert_eq!(pick_bit(SIGNALS_RESERVED, 12), None);
        assert_eq!(pick_bit(0, 32), None);
        assert_eq!(pick_bit(0, -2), None);
    }
}
