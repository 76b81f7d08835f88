//! mmu-mode's in-kernel test of ring-3 semaphores named by handles: a task that rewrites the
//! handle in its own structure, keeps a stale one, forges one or guesses a private one gets
//! only refusals, and the semaphores the handles would name are untouched.

use exec::ktest::TestResult;
use exec::semaphore::SignalSemaphore;
use exec::signal::SIGF_CTRL_F;
use exec::sys_gate::{Call, ERR_BAD_POINTER, raw_call};
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::sem::HANDLE_TAG;

/// Whether a gate answer is a semaphore handle (tagged), not an error (the gate's errors sit
/// just below 2^64 and have bit 63 set too).
pub(crate) fn is_handle(v: u64) -> bool {
    v & HANDLE_TAG != 0 && v < u64::MAX - 255
}

/// Steps of [`forger`], each one raw gate answer.
const STEPS: usize = 16;

/// What the forger saw, and the handles init wrote into its structures.
#[repr(C)]
#[derive(Clone, Copy)]
struct Forger {
    parent: *mut exec::task::Task,
    answers: [u64; STEPS],
    written: [u64; 3],
}

/// Ring 3: makes semaphores A and B (private) and C (public) in its own memory, then calls them
/// with handles that are wrong in one way each.
extern "C" fn forger(block: u64) -> ! {
    let f = block as *mut Forger;
    // SAFETY: our own block and memory; every value is alleged to the gate.
    unsafe {
        let sems = exec::sys::alloc_mem(4096, exec::memory::MemFlags::ANY | exec::memory::MemFlags::CLEAR) as *mut SignalSemaphore;
        let (a, b, c) = (sems, sems.add(1), sems.add(2));
        for s in [a, b, c] {
            s.write(SignalSemaphore::new());
        }
        (*c).node.set_name("r3-forge-c");
        let mut out = [0u64; STEPS];
        out[0] = raw_call(Call::InitSemaphore, a as u64, 0, 0);
        out[1] = raw_call(Call::InitSemaphore, b as u64, 0, 0);
        let (ha, hb) = ((*a).ring3_handle, (*b).ring3_handle);
        out[2] = raw_call(Call::ObtainSemaphore, a as u64, 0, 0);
        out[3] = raw_call(Call::ObtainSemaphore, b as u64, 0, 0);
        // A's structure rewritten to name B (held once): its calls are refused.
        (*a).ring3_handle = hb;
        out[4] = raw_call(Call::ReleaseSemaphore, a as u64, 0, 0);
        out[5] = raw_call(Call::ObtainSemaphore, a as u64, 0, 0);
        // B was held exactly once, still: one release is accepted, a second refused.
        out[6] = raw_call(Call::ReleaseSemaphore, b as u64, 0, 0);
        out[7] = raw_call(Call::ReleaseSemaphore, b as u64, 0, 0);
        (*a).ring3_handle = ha;
        out[8] = raw_call(Call::ReleaseSemaphore, a as u64, 0, 0);
        // A made again: its old handle is stale even as its structure's.
        out[9] = raw_call(Call::InitSemaphore, a as u64, 0, 0);
        (*a).ring3_handle = ha;
        out[10] = raw_call(Call::AttemptSemaphore, a as u64, 0, 0);
        // Handles alone: a private one (B's) is refused, a public one (C's) accepted, and
        // C's with its generation one off refused.
        out[11] = raw_call(Call::AttemptSemaphore, hb, 0, 0);
        out[12] = raw_call(Call::AddSemaphore, c as u64, 0, 0);
        let hc = (*c).ring3_handle;
        out[13] = raw_call(Call::AttemptSemaphore, ((hc & !HANDLE_TAG) ^ (1 << 32)) | HANDLE_TAG, 0, 0);
        out[14] = raw_call(Call::AttemptSemaphore, hc, 0, 0);
        out[15] = raw_call(Call::ReleaseSemaphore, hc, 0, 0);
        (*f).answers = out;
        (*f).written = [ha, hb, hc];
        exec::sys::signal((*f).parent, SIGF_CTRL_F);
    }
    crate::user::exit()
}

/// A ring-3 task's semaphores are found by the handle in their structure only when the handle's
/// record was made for that structure; a handle alone names only a public semaphore; stale and
/// forged handles are refused.
pub(crate) fn semaphore_handles_are_checked() -> TestResult {
    let before = crate::sem::count();
    let (_, block) = hostile("r3-sem-forger", 0, forger, Forger { parent: me3(), answers: [0; STEPS], written: [0; 3] })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task ends without touching it again.
    let f = unsafe { (block as *const Forger).read() };
    let a = f.answers;
    ensure!(gone("r3-sem-forger", 500), "the forger did not end");
    ensure!(is_handle(a[0]) && is_handle(a[1]) && a[0] != a[1], "init answers tagged handles: {:#x} {:#x}", a[0], a[1]);
    ensure_eq!((f.written[0], f.written[1]), (a[0], a[1]), "init wrote its handle into the structure");
    ensure_eq!((a[2], a[3]), (0, 0), "obtain A and B");
    ensure_eq!(a[4], ERR_BAD_POINTER, "release through A's structure naming B");
    ensure_eq!(a[5], ERR_BAD_POINTER, "obtain through A's structure naming B");
    ensure_eq!((a[6], a[7]), (0, ERR_BAD_POINTER), "B was touched by the calls on A");
    ensure_eq!(a[8], 0, "A released through its own handle again");
    ensure!(is_handle(a[9]) && a[9] != a[0], "A made again has a new handle: {:#x}", a[9]);
    ensure_eq!(a[10], ERR_BAD_POINTER, "A's stale handle in its structure");
    ensure_eq!(a[11], ERR_BAD_POINTER, "a private semaphore's handle alone");
    ensure!(is_handle(a[12]) && a[12] == f.written[2], "add_semaphore answers C's handle: {:#x}", a[12]);
    ensure_eq!(a[13], ERR_BAD_POINTER, "C's handle with another generation");
    ensure_eq!((a[14], a[15]), (1, 0), "C's own handle, found as FindSemaphore gives it");
    ensure_eq!(crate::sem::count(), before, "the forger's semaphores outlived it");
    Ok(())
}

/// Semaphores a task may hold shared on its books (exec's `Task::shared_holds`).
const SHARED_SLOTS: usize = 8;

/// What the hoarder saw.
#[repr(C)]
#[derive(Clone, Copy)]
struct Hoarder {
    parent: *mut exec::task::Task,
    /// Shared obtains of its own semaphores accepted (of one past the slots).
    held: u64,
    /// The answers to: a shared obtain past the slots, a shared attempt past them, and a
    /// release of P (public, held shared by the parent only).
    past: [u64; 3],
}

/// Ring 3: makes P public and waits (CTRL_E) while the parent holds it shared; then fills its
/// shared slots with holds of its own semaphores, asks for one more, and releases P, which it
/// does not hold.
extern "C" fn hoarder(block: u64) -> ! {
    let h = block as *mut Hoarder;
    // SAFETY: our own block and memory; every value is alleged to the gate.
    unsafe {
        let sems = exec::sys::alloc_mem(4096, exec::memory::MemFlags::ANY | exec::memory::MemFlags::CLEAR) as *mut SignalSemaphore;
        let p = sems.add(SHARED_SLOTS + 2);
        p.write(SignalSemaphore::new());
        (*p).node.set_name("r3-shared-p");
        raw_call(Call::AddSemaphore, p as u64, 0, 0);
        exec::sys::signal((*h).parent, SIGF_CTRL_F);
        exec::sys::wait(exec::signal::SIGF_CTRL_E);
        for i in 0..=SHARED_SLOTS {
            let s = sems.add(i);
            s.write(SignalSemaphore::new());
            raw_call(Call::InitSemaphore, s as u64, 0, 0);
        }
        let mut held = 0;
        for i in 0..SHARED_SLOTS {
            held += u64::from(raw_call(Call::ObtainSemaphore, sems.add(i) as u64, 1, 0) == 0);
        }
        let extra = sems.add(SHARED_SLOTS) as u64;
        (*h).past = [
            raw_call(Call::ObtainSemaphore, extra, 1, 0),
            raw_call(Call::AttemptSemaphore, extra, 1, 0),
            raw_call(Call::ReleaseSemaphore, (*p).ring3_handle, 0, 0),
        ];
        (*h).held = held;
        exec::sys::signal((*h).parent, SIGF_CTRL_F);
        // Until the parent has let go of P: P's owner is still there then, so P goes with it.
        exec::sys::wait(exec::signal::SIGF_CTRL_E);
    }
    crate::user::exit()
}

/// A ring-3 task's shared holds must be on its books: one past its slots is refused, so it
/// never holds one exec cannot name, and it cannot release a semaphore that others hold shared
/// (which would leave it to be freed under them).
pub(crate) fn shared_holds_stay_on_the_books() -> TestResult {
    let before = crate::sem::count();
    let (t, block) = hostile("r3-sem-hoarder", 0, hoarder, Hoarder { parent: me3(), held: 0, past: [0; 3] })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let p = exec::semaphore::find_semaphore("r3-shared-p");
    ensure!(!p.is_null(), "P is not public");
    // SAFETY: P's working half, live while its owner waits (and it is held after).
    unsafe { exec::semaphore::obtain_semaphore_shared(p) };
    // SAFETY: the hoarder is live and waits for CTRL_E.
    unsafe { exec::signal::signal(t, exec::signal::SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal.
    let h = unsafe { (block as *const Hoarder).read() };
    exec::sched::forbid();
    // SAFETY: Forbid held; P lives while we hold it (its owner's end keeps it, an orphan).
    let still_held = unsafe { !(*p).is_idle() };
    exec::sched::permit();
    if still_held {
        // SAFETY: we hold it shared (the hoarder's release was refused).
        unsafe { exec::semaphore::release_semaphore(p) };
    }
    // SAFETY: the hoarder is live and waits for CTRL_E.
    unsafe { exec::signal::signal(t, exec::signal::SIGF_CTRL_E) };
    ensure!(gone("r3-sem-hoarder", 500), "the hoarder did not end");
    ensure_eq!(crate::sem::count(), before, "the hoarder's semaphores outlived it");
    ensure!(still_held, "P was released under the task that held it");
    ensure_eq!(h.past[2], ERR_BAD_POINTER, "a release of P, held shared by another task only");
    ensure_eq!(h.held, SHARED_SLOTS as u64, "shared holds within the slots");
    ensure_eq!(h.past[0], ERR_BAD_POINTER, "a shared obtain past the slots");
    ensure_eq!(h.past[1], ERR_BAD_POINTER, "a shared attempt past the slots");
    Ok(())
}
