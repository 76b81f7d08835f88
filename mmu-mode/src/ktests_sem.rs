//! mmu-mode's in-kernel test of ring-3 semaphores named by handles: a task that rewrites the
//! handle in its own structure, keeps a stale one, or forges one gets only refusals, and the
//! semaphores the handles would name are untouched.

use exec::ktest::TestResult;
use exec::semaphore::SignalSemaphore;
use exec::signal::SIGF_CTRL_F;
use exec::sys_gate::{Call, ERR_BAD_POINTER, raw_call};
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::sem::HANDLE_TAG;

/// What the forger saw: each call's raw answer, in the order of [`forger`]'s steps.
#[repr(C)]
#[derive(Clone, Copy)]
struct Forger {
    parent: *mut exec::task::Task,
    answers: [u64; 12],
}

/// Ring 3: makes semaphores A and B in its own memory, then calls them with handles that are
/// wrong in one way each.
extern "C" fn forger(block: u64) -> ! {
    let f = block as *mut Forger;
    // SAFETY: our own block and memory; every value is alleged to the gate.
    unsafe {
        let sems = exec::sys::alloc_mem(4096, exec::memory::MemFlags::ANY | exec::memory::MemFlags::CLEAR) as *mut SignalSemaphore;
        let (a, b) = (sems, sems.add(1));
        a.write(SignalSemaphore::new());
        b.write(SignalSemaphore::new());
        let mut out = [0u64; 12];
        out[0] = raw_call(Call::InitSemaphore, a as u64, 0, 0);
        out[1] = raw_call(Call::InitSemaphore, b as u64, 0, 0);
        let (ha, hb) = ((*a).ring3_handle, (*b).ring3_handle);
        out[2] = raw_call(Call::ObtainSemaphore, a as u64, 0, 0);
        // A's structure rewritten to name B: its calls are refused, and B is not touched.
        (*a).ring3_handle = hb;
        out[3] = raw_call(Call::ReleaseSemaphore, a as u64, 0, 0);
        out[4] = raw_call(Call::ObtainSemaphore, a as u64, 0, 0);
        // B's own calls still work: B is free (attempt answers 1), and A is still held (a
        // release through its restored handle is accepted).
        out[5] = raw_call(Call::AttemptSemaphore, b as u64, 0, 0);
        out[6] = raw_call(Call::ReleaseSemaphore, b as u64, 0, 0);
        (*a).ring3_handle = ha;
        out[7] = raw_call(Call::ReleaseSemaphore, a as u64, 0, 0);
        // A made again: its old handle is stale, the new one works.
        out[8] = raw_call(Call::InitSemaphore, a as u64, 0, 0);
        out[9] = raw_call(Call::AttemptSemaphore, ha, 0, 0);
        // B's handle with the generation one off: refused; B's handle itself: accepted.
        out[10] = raw_call(Call::AttemptSemaphore, (hb & !HANDLE_TAG) ^ (1 << 32) | HANDLE_TAG, 0, 0);
        out[11] = raw_call(Call::AttemptSemaphore, hb, 0, 0);
        (*f).answers = out;
        exec::sys::signal((*f).parent, SIGF_CTRL_F);
    }
    crate::user::exit()
}

/// A ring-3 task's semaphores are found by the handle in their structure only when the handle's
/// record was made for that structure; stale and forged handles are refused.
pub(crate) fn semaphore_handles_are_checked() -> TestResult {
    let (_, block) = hostile("r3-sem-forger", 0, forger, Forger { parent: me3(), answers: [0; 12] })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task ends without touching it again.
    let a = unsafe { (block as *const Forger).read() }.answers;
    ensure!(gone("r3-sem-forger", 500), "the forger did not end");
    let handle = |v: u64| v & HANDLE_TAG != 0 && v != ERR_BAD_POINTER;
    ensure!(handle(a[0]) && handle(a[1]) && a[0] != a[1], "init answers tagged handles: {:#x} {:#x}", a[0], a[1]);
    ensure_eq!(a[2], 0, "obtain A");
    ensure_eq!(a[3], ERR_BAD_POINTER, "release through A's structure naming B");
    ensure_eq!(a[4], ERR_BAD_POINTER, "obtain through A's structure naming B");
    ensure_eq!(a[5], 1, "B was touched by the calls on A");
    ensure_eq!(a[6], 0, "release B");
    ensure_eq!(a[7], 0, "A, held, released through its own handle again");
    ensure!(handle(a[8]) && a[8] != a[0], "A made again has a new handle: {:#x}", a[8]);
    ensure_eq!(a[9], ERR_BAD_POINTER, "A's stale handle");
    ensure_eq!(a[10], ERR_BAD_POINTER, "B's handle with another generation");
    ensure_eq!(a[11], 1, "B's own handle");
    Ok(())
}
