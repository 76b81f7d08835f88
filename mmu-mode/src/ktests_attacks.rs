//! mmu-mode's in-kernel tests of ring-3 tasks that attack on purpose: each asserts that the
//! attacker is refused or removed, that the others (this test task among them) go on, and
//! that what it took comes back.
//!
//! The attacks through messages are in `ktests_msg_attacks.rs`, those that hold Forbid in
//! `ktests_forbid.rs`.
//!
//! Adding a hostile program: write its body as an `extern "C" fn(u64) -> !` that makes exec
//! calls through `exec::sys` (as any ring-3 program does) and reports what it saw in its block
//! (a `#[repr(C)]` struct of plain fields, its argument), then a test that starts it with
//! [`hostile`] and checks the block and the system. Add the test to [`TESTS`].

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys;
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::policy::{FAMILY_BYTES, FAMILY_TASKS};

/// Every attack test.
pub static TESTS: &[Test] = &[
    Test::new("mmu.attack.task_bomb_stops_at_the_quota", task_bomb_stops_at_the_quota),
    Test::new("mmu.attack.memory_bomb_stops_at_the_quota", memory_bomb_stops_at_the_quota),
    Test::new("mmu.attack.semaphore_bomb_stops_at_the_quota", semaphore_bomb_stops_at_the_quota),
    Test::new("mmu.attack.priority_hijack_refused", priority_hijack_refused),
    Test::new("mmu.attack.signal_reaches_only_kin", signal_reaches_only_kin),
    Test::new("mmu.attack.tasks_by_number_only", tasks_by_number_only),
    Test::new("mmu.attack.device_bomb_stops_at_its_bound", device_bomb_stops_at_its_bound),
    Test::new("mmu.attack.heap_exhaustion_is_an_error", heap_exhaustion_is_an_error),
    Test::new("mmu.attack.panic_is_contained", panic_is_contained),
];

pub(crate) fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// The running test, as ring 3 names it (its number: for the ring-3 tasks that signal it).
pub(crate) fn me3() -> *mut Task {
    crate::user::ring3_name(me())
}

/// Starts `body` in ring 3 at priority `pri` with `init` as its block. Result: the task and
/// its block's address.
pub(crate) fn hostile<T>(name: &str, pri: i8, body: extern "C" fn(u64) -> !, init: T) -> Result<(*mut Task, u64), alloc::string::String> {
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    crate::user::add_user_task_with(name, pri, body, init).ok_or_else(|| alloc::format!("{name}: no memory"))
}

/// Waits up to `ms` for the task called `name` to be gone.
pub(crate) fn gone(name: &str, ms: u64) -> bool {
    for _ in 0..ms / 10 {
        if exec::task::find_task(Some(name)).is_null() {
            return true;
        }
        devices::timer_sleep_ms(10);
    }
    exec::task::find_task(Some(name)).is_null()
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Bomb {
    parent: *mut Task,
    made: u64,
    refused: u64,
}

/// A child that waits forever (to be ended by the test).
fn sleeper(_: usize) {
    sys::wait(SIGF_CTRL_E);
}

/// Ring 3: starts children until add_task refuses, ten refusals in a row; reports.
extern "C" fn task_bomber(block: u64) -> ! {
    let b = block as *mut Bomb;
    // SAFETY: our own block; the parent is alleged to the gate.
    unsafe {
        while (*b).refused < 10 && (*b).made < 4 * FAMILY_TASKS as u64 {
            if sys::add_task("r3-bomblet", 0, sleeper, 0, 4096).is_null() {
                (*b).refused += 1;
            } else {
                (*b).made += 1;
            }
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ends every task called `name`.
fn end_all(name: &str) {
    loop {
        let t = exec::task::find_task(Some(name));
        if t.is_null() {
            break;
        }
        // SAFETY: a live task (found just now; nothing else ends it meanwhile).
        unsafe { exec::task::rem_task(t) };
    }
}

/// A task bomb: add_task in a loop from ring 3. The family stops at its quota, the kernel
/// heap keeps its reserve, and once the tasks are gone memory is back where it was.
fn task_bomb_stops_at_the_quota() -> TestResult {
    warm_up()?;
    let heap0 = exec::heap::stats().free;
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-task-bomber", 0, task_bomber, Bomb { parent: me3(), made: 0, refused: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the bomber wrote its figures before signalling, and waits.
    let b = unsafe { (block as *const Bomb).read() };
    ensure_eq!(b.made, FAMILY_TASKS as u64 - 1, "children made before the quota");
    ensure_eq!(b.refused, 10);
    ensure!(exec::heap::stats().free >= crate::policy::HEAP_RESERVE, "the kernel heap went below its reserve");
    end_all("r3-bomblet");
    // SAFETY: the bomber is live and waits.
    unsafe { exec::task::rem_task(t) };
    devices::timer_sleep_ms(30);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
    ensure_eq!(exec::heap::stats().free, heap0, "kernel heap back to its baseline");
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy)]
struct MemBomb {
    parent: *mut Task,
    bytes: u64,
    refused: bool,
}

/// Ring 3: allocates 1 MiB blocks until refused; reports what it got.
extern "C" fn memory_bomber(block: u64) -> ! {
    let b = block as *mut MemBomb;
    // SAFETY: our own block; the parent is alleged to the gate.
    unsafe {
        loop {
            if sys::alloc_mem(1 << 20, MemFlags::ANY).is_null() {
                (*b).refused = true;
                break;
            }
            (*b).bytes += 1 << 20;
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A memory bomb: the family stops at its quota; exec memory is back when the task ends.
fn memory_bomb_stops_at_the_quota() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-memory-bomber", 0, memory_bomber, MemBomb { parent: me3(), bytes: 0, refused: false })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the bomber wrote its figures before signalling, and waits.
    let b = unsafe { (block as *const MemBomb).read() };
    ensure!(b.refused);
    ensure!(b.bytes > 0 && b.bytes <= FAMILY_BYTES, "got {} bytes", b.bytes);
    ensure!(exec::memory::avail_mem(MemFlags::ANY) as u64 >= crate::policy::MEMORY_RESERVE);
    // SAFETY: live, waiting.
    unsafe { exec::task::rem_task(t) };
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
    Ok(())
}

/// Ring 3: makes semaphores (each a kernel record) at every spot of 64 KiB of its memory until
/// init_semaphore is refused ten times; reports how many it got in `made` (a `Bomb`).
extern "C" fn semaphore_bomber(block: u64) -> ! {
    let b = block as *mut Bomb;
    let step = size_of::<exec::semaphore::SignalSemaphore>();
    // SAFETY: our own block and memory; the semaphores are alleged to the gate.
    unsafe {
        let area = sys::alloc_mem(64 << 10, MemFlags::ANY);
        let mut at = 0;
        while (*b).refused < 10 && at + step <= 64 << 10 {
            let s = area.add(at) as *mut exec::semaphore::SignalSemaphore;
            sys::init_semaphore(s);
            // A semaphore the gate made can be obtained at once; a refused one cannot.
            if sys::attempt_semaphore(s) {
                (*b).made += 1;
            } else {
                (*b).refused += 1;
            }
            at += step;
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3: ends at once (a family started and ended before a baseline is taken).
extern "C" fn ends_at_once(_: u64) -> ! {
    crate::user::exit()
}

/// The first family to end since boot grows tables the kernel keeps (their free lists): one
/// ends before a test takes its kernel-heap baseline, so that the baseline is the steady state
/// whichever test runs first (a test run alone, `test=...`, included).
pub(crate) fn warm_up() -> TestResult {
    hostile("r3-warm-up", 0, ends_at_once, 0u64)?;
    ensure!(gone("r3-warm-up", 500), "the warm-up task did not end");
    Ok(())
}

/// A semaphore bomb: each semaphore's working half is a kernel record; the family stops at
/// its quota, and the kernel heap is back when the task ends.
fn semaphore_bomb_stops_at_the_quota() -> TestResult {
    warm_up()?;
    let heap0 = exec::heap::stats().free;
    let (t, block) = hostile("r3-sem-bomber", 0, semaphore_bomber, Bomb { parent: me3(), made: 0, refused: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task waits.
    let b = unsafe { (block as *const Bomb).read() };
    ensure_eq!(b.made, crate::policy::FAMILY_RECORDS as u64);
    ensure_eq!(b.refused, 10);
    // SAFETY: live, waiting.
    unsafe { exec::task::rem_task(t) };
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::heap::stats().free, heap0, "kernel heap back to its baseline");
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Hijack {
    parent: *mut Task,
    idle: *mut Task,
    /// The child it started at 127 (the test reads its priority: ring 3 cannot).
    child: *mut Task,
}

/// Ring 3 at priority 0: tries to raise its parent (a ring-0 task) and the idle task to 127,
/// itself to 127, and starts a child at 127.
extern "C" fn hijacker(block: u64) -> ! {
    let b = block as *mut Hijack;
    // SAFETY: our own block; tasks are alleged to the gate.
    unsafe {
        sys::set_task_pri((*b).parent, 127);
        sys::set_task_pri((*b).idle, 127);
        sys::set_task_pri(core::ptr::null_mut(), 127);
        (*b).child = sys::add_task("r3-hijack-child", 127, sleeper, 0, 4096);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Priority hijack: a ring-3 task can raise neither its parent nor the idle task, nor itself
/// or a child above its ceiling (the priority its ring-0 creator gave it).
fn priority_hijack_refused() -> TestResult {
    // SAFETY: the running task and idle are live.
    let (my_pri, idle_pri) = unsafe { ((*me()).pri(), (*exec::task::find_task(Some("idle"))).pri()) };
    let idle = exec::task::find_task(Some("idle"));
    let (t, block) = hostile("r3-hijacker", 0, hijacker, Hijack { parent: me3(), idle: crate::user::ring3_name(idle), child: core::ptr::null_mut() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the tasks are live (the child waits, the hijacker too).
    let (b, my_now, idle_now, own) = unsafe { ((block as *const Hijack).read(), (*me()).pri(), (*idle).pri(), (*t).pri()) };
    ensure_eq!(my_now, my_pri, "the parent's priority changed");
    ensure_eq!(idle_now, idle_pri, "idle's priority changed");
    ensure_eq!(own, 0, "rose above its ceiling");
    let child = exec::task::task_by_number(b.child as u64);
    ensure!(!child.is_null(), "no child");
    // SAFETY: the child is live (it waits to be ended).
    ensure_eq!(unsafe { (*child).pri() }, 0, "child started above the ceiling");
    end_all("r3-hijack-child");
    // SAFETY: live, waiting.
    unsafe { exec::task::rem_task(t) };
    ensure!(gone("r3-hijacker", 200));
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Reacher {
    parent: *mut Task,
    stranger: *mut Task,
}

/// Ring 3: signals a ring-0 task it has no tie to (CTRL_E), then its parent (CTRL_F).
extern "C" fn reacher(block: u64) -> ! {
    // SAFETY: our own block; tasks are alleged to the gate.
    unsafe {
        let b = block as *const Reacher;
        sys::signal((*b).stranger, SIGF_CTRL_E);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-0 task the reacher has no tie to: waits for CTRL_E or CTRL_F and records which.
fn stranger(arg: usize) {
    let got = exec::signal::wait(SIGF_CTRL_E | SIGF_CTRL_F);
    // SAFETY: the test's cell, alive until it has seen our answer.
    unsafe { (arg as *mut u32).write_volatile(got) };
}

/// Checks that the stranger `s` (waiting, its answer to go in `got`) was not signalled, then
/// lets it end, and checks it heard our CTRL_F.
fn stranger_heard_nothing(s: *mut Task, got: *const u32) -> TestResult {
    // SAFETY: the stranger is live and waits; the caller's cell outlives it.
    unsafe {
        ensure_eq!(got.read_volatile(), 0, "the stranger was signalled");
        exec::signal::signal(s, SIGF_CTRL_F);
    }
    devices::timer_sleep_ms(10);
    // SAFETY: written by the stranger before it ended.
    ensure_eq!(unsafe { got.read_volatile() }, SIGF_CTRL_F);
    Ok(())
}

/// signal from ring 3 reaches only the caller's kin: a ring-0 task it has no tie to is not
/// signalled (the call is refused and counted).
fn signal_reaches_only_kin() -> TestResult {
    let mut got = 0u32;
    let s = exec::task::add_task("r0-stranger", 1, stranger, &raw mut got as usize, 8192);
    ensure!(!s.is_null());
    let refused = crate::gate::PRIVILEGED_REFUSED.load(Ordering::SeqCst);
    hostile("r3-reacher", 0, reacher, Reacher { parent: me3(), stranger: crate::user::ring3_name(s) })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure!(gone("r3-reacher", 200));
    ensure_eq!(crate::gate::PRIVILEGED_REFUSED.load(Ordering::SeqCst), refused + 1);
    stranger_heard_nothing(s, &raw const got)
}

/// What the number-forger tries, each a task named wrongly in one field, then rightly.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Forger {
    /// Its parent's number, and its parent's kernel address.
    parent: u64,
    parent_address: u64,
    /// The number of a task that ended, whose slot a live ring-0 task (`reused`) holds now.
    stale: u64,
    reused: u64,
    /// What each try returned (the gate's encoded result).
    got: [u64; 9],
}

/// Ring 3: signals and reprioritises tasks by forged numbers and by an address, then
/// signals its parent by its true number.
extern "C" fn forger(block: u64) -> ! {
    use exec::sys_gate::{Call, raw_call};
    let b = block as *mut Forger;
    // SAFETY: our own block, read and written only by us while we run.
    unsafe {
        let p = (*b).parent;
        let signal = |t: u64| raw_call(Call::Signal, t, SIGF_CTRL_E as u64, 0);
        let tries = [
            signal((*b).parent_address),                   // an address, not a number
            signal((*b).stale),                            // an ended task's number
            signal(p + (1 << 32)),                         // the next generation
            signal(p & 0xffff_ffff),                       // generation 0, never given
            signal(p | 1 << 63),                           // a high bit set
            signal(0),                                     // none
            signal((*b).reused),                           // a live stranger: no authority
            raw_call(Call::SetTaskPri, (*b).stale, 5, 0),  // reprioritise by the stale number
            raw_call(Call::SetTaskPri, raw_call(Call::FindSelf, 0, 0, 0), 0, 0), // itself: allowed
        ];
        (*b).got = tries;
        sys::signal(p as *mut Task, SIGF_CTRL_F);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3 names tasks by number (index and generation), checked in O(1): an address, a stale
/// number whose slot a live task now holds, and numbers wrong in one field are refused as
/// bad pointers; a live stranger's true number as privileged; the parent's true number and
/// the task's own work. The task holding the reused slot hears nothing.
fn tasks_by_number_only() -> TestResult {
    use crate::gate::{ERR_BAD_POINTER, ERR_PRIVILEGED};
    let mut got = 0u32;
    exec::sched::forbid(); // so that the ended task's slot goes to the stranger
    let ended = exec::task::add_task("r0-ended", 1, stranger, 0, 8192);
    if ended.is_null() {
        exec::sched::permit();
        return Err("no memory for a task".into());
    }
    // SAFETY: live (it cannot run under Forbid); removed at once.
    let stale = unsafe {
        let id = (*ended).id();
        exec::task::rem_task(ended);
        id
    };
    let s = exec::task::add_task("r0-stranger", 1, stranger, &raw mut got as usize, 8192);
    exec::sched::permit();
    ensure!(!s.is_null());
    // SAFETY: live (it waits for our signal).
    let reused = unsafe { (*s).id() };
    ensure_eq!(reused & 0xffff_ffff, stale & 0xffff_ffff, "the slot was not used again");
    let bad = crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst);
    let init = Forger { parent: me3() as u64, parent_address: me() as u64, stale, reused, got: [0; 9] };
    let (_, block) = hostile("r3-forger", 0, forger, init)?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure!(gone("r3-forger", 200));
    // SAFETY: written before the signal; the block is the kernel's to read.
    let b = unsafe { (block as *const Forger).read() };
    let b3 = ERR_BAD_POINTER;
    ensure_eq!(b.got, [b3, b3, b3, b3, b3, b3, ERR_PRIVILEGED, b3, 0]);
    ensure_eq!(crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst), bad + 7);
    stranger_heard_nothing(s, &raw const got)
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DeviceBomb {
    parent: *mut Task,
    opened: u64,
    refused: u64,
}

/// Requests the device bomber opens (more than it may hold).
const BOMB_REQUESTS: usize = 2 * crate::io::DEVICES_PER_TASK + 8;

/// Ring 3: opens timer.device on one request after another (each a distinct request in its own
/// memory: each would cost the kernel a shadow), counts what is opened and refused, and waits
/// to be ended with all of them open.
extern "C" fn device_bomber(block: u64) -> ! {
    use exec::device::IoRequest;
    let b = block as *mut DeviceBomb;
    let size = size_of::<IoRequest>();
    let reqs = sys::alloc_mem(BOMB_REQUESTS * size, MemFlags::ANY) as *mut IoRequest;
    // SAFETY: our own block and our own memory (null: nothing opened, the test says so).
    unsafe {
        for i in 0..BOMB_REQUESTS {
            if reqs.is_null() {
                break;
            }
            let r = reqs.add(i);
            r.write(IoRequest::new(core::ptr::null_mut(), size));
            if sys::open_device("timer.device", devices::timer::UNIT_MICROHZ, r, 0) == 0 {
                (*b).opened += 1;
            } else {
                (*b).refused += 1;
            }
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A device bomb: open_device in a loop from ring 3, each on a new request. The task holds at
/// most `DEVICES_PER_TASK` open (each costs kernel heap); once it has ended, with all of them
/// open, the kernel heap and exec memory are back where they were.
fn device_bomb_stops_at_its_bound() -> TestResult {
    warm_up()?;
    let heap0 = exec::heap::stats().free;
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-device-bomber", 0, device_bomber, DeviceBomb { parent: me3(), opened: 0, refused: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the bomber wrote its figures before signalling, and waits.
    let b = unsafe { (block as *const DeviceBomb).read() };
    ensure_eq!(b.opened, crate::io::DEVICES_PER_TASK as u64, "requests opened");
    ensure_eq!(b.refused, (BOMB_REQUESTS - crate::io::DEVICES_PER_TASK) as u64, "requests refused");
    // SAFETY: the bomber is live and waits.
    unsafe { exec::task::rem_task(t) };
    ensure!(gone("r3-device-bomber", 200));
    devices::timer_sleep_ms(30);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
    ensure_eq!(exec::heap::stats().free, heap0, "kernel heap back to its baseline");
    Ok(())
}

// --- the task's own heap ------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct Greedy {
    parent: *mut Task,
    /// A reservation larger than the task's heap failed as an error.
    refused: bool,
    /// A small allocation afterwards worked.
    small_ok: bool,
}

/// Ring 3: asks its heap for more than it has (an error, not a crash), then for a little.
extern "C" fn greedy(block: u64) -> ! {
    let b = block as *mut Greedy;
    let mut big: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
    let refused = big.try_reserve(1 << 20).is_err();
    let small = alloc::vec![7u8; 1000];
    // SAFETY: our own block; the parent is alleged to the gate.
    unsafe {
        (*b).refused = refused;
        (*b).small_ok = small.iter().all(|&x| x == 7);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-3 task whose heap runs out gets an error back (and can go on), not a Guru.
fn heap_exhaustion_is_an_error() -> TestResult {
    let contained = crate::gate::FAULTS_CONTAINED.load(Ordering::SeqCst);
    let (t, block) = hostile("r3-greedy", 0, greedy, Greedy { parent: me3(), refused: false, small_ok: false })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task waits.
    let b = unsafe { (block as *const Greedy).read() };
    ensure!(b.refused, "a reservation past the heap did not fail");
    ensure!(b.small_ok, "the heap did not go on after the failure");
    ensure_eq!(crate::gate::FAULTS_CONTAINED.load(Ordering::SeqCst), contained);
    // SAFETY: live, waiting.
    unsafe { exec::task::rem_task(t) };
    Ok(())
}

/// Ring 3: a heap allocation that cannot be had, without asking whether: Rust panics.
extern "C" fn overreacher(_: u64) -> ! {
    let v = alloc::vec![1u8; 4 << 20];
    core::hint::black_box(&v);
    unreachable!("a 4 MiB vector in a 256 KiB heap")
}

/// A ring-3 panic (here, an allocation that failed) ends that task alone, with a Guru
/// Meditation that shows its message; the system goes on.
fn panic_is_contained() -> TestResult {
    let contained = crate::gate::FAULTS_CONTAINED.load(Ordering::SeqCst);
    hostile("r3-overreacher", 0, overreacher, 0u64)?;
    ensure!(gone("r3-overreacher", 1000), "the task did not end");
    ensure_eq!(crate::gate::FAULTS_CONTAINED.load(Ordering::SeqCst), contained + 1);
    ensure_eq!(crate::gate::LAST_FAULT_VECTOR.load(Ordering::SeqCst), crate::gate::ALERT_VECTOR);
    Ok(())
}
