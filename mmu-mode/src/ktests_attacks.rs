//! mmu-mode's in-kernel tests of ring-3 tasks that attack on purpose: each asserts that the
//! attacker is refused or removed, that the others (this test task among them) go on, and
//! that what it took comes back.
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
    Test::new("mmu.attack.forbid_spin_is_removed", forbid_spin_is_removed),
    Test::new("mmu.attack.disable_spin_is_removed", disable_spin_is_removed),
    Test::new("mmu.attack.task_bomb_stops_at_the_quota", task_bomb_stops_at_the_quota),
    Test::new("mmu.attack.memory_bomb_stops_at_the_quota", memory_bomb_stops_at_the_quota),
    Test::new("mmu.attack.semaphore_bomb_stops_at_the_quota", semaphore_bomb_stops_at_the_quota),
    Test::new("mmu.attack.priority_hijack_refused", priority_hijack_refused),
    Test::new("mmu.attack.signal_reaches_only_kin", signal_reaches_only_kin),
    Test::new("mmu.attack.forged_reply_port_refused", forged_reply_port_refused),
    Test::new("mmu.attack.scribbled_headers_change_nothing", scribbled_headers_change_nothing),
    Test::new("mmu.attack.lent_memory_cannot_be_freed", lent_memory_cannot_be_freed),
    Test::new("mmu.attack.heap_exhaustion_is_an_error", heap_exhaustion_is_an_error),
    Test::new("mmu.attack.panic_is_contained", panic_is_contained),
    Test::new("mmu.attack.ring0_message_to_ring3_comes_back", ring0_message_to_ring3_comes_back),
];

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// Starts `body` in ring 3 at priority `pri` with `init` as its block. Result: the task and
/// its block's address.
fn hostile<T>(name: &str, pri: i8, body: extern "C" fn(u64) -> !, init: T) -> Result<(*mut Task, u64), alloc::string::String> {
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    crate::user::add_user_task_with(name, pri, body, init).ok_or_else(|| alloc::format!("{name}: no memory"))
}

/// Waits up to `ms` for the task called `name` to be gone.
fn gone(name: &str, ms: u64) -> bool {
    for _ in 0..ms / 10 {
        if exec::task::find_task(Some(name)).is_null() {
            return true;
        }
        devices::timer_sleep_ms(10);
    }
    exec::task::find_task(Some(name)).is_null()
}

/// Ring 3: tells `parent` it is about to spin, takes Forbid (or Disable), and spins forever.
extern "C" fn forbid_spinner(block: u64) -> ! {
    // SAFETY: the block holds the parent's address and the way to lock.
    let (parent, disable) = unsafe { *(block as *const (*mut Task, bool)) };
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent, SIGF_CTRL_F) };
    if disable { sys::disable() } else { sys::forbid() }
    loop {
        core::hint::spin_loop();
    }
}

fn spin_is_removed(name: &str, disable: bool) -> TestResult {
    let overruns = crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst);
    let start = exec::time::ticks();
    // At this task's priority: while it holds Forbid, nothing else would ever run again.
    // SAFETY: the running task is live.
    let pri = unsafe { (*me()).pri() };
    hostile(name, pri, forbid_spinner, (me(), disable))?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // We run again only once the spinner is gone (or preempted, which Forbid forbids).
    devices::timer_sleep_ms(10);
    let waited = exec::time::ticks() - start;
    ensure!(gone(name, 1000), "the spinner is still there");
    ensure_eq!(crate::gate::FORBID_OVERRUNS.load(Ordering::SeqCst), overruns + 1);
    ensure!(waited <= exec::sched::RING3_FORBID_TICKS as u64 + 20, "we waited {waited} ticks");
    ensure_eq!(exec::sched::forbid_depth(), 0);
    Ok(())
}

/// A ring-3 task that takes Forbid and spins is removed once it held it past the bound; the
/// others run again.
fn forbid_spin_is_removed() -> TestResult {
    spin_is_removed("r3-forbid-spin", false)
}

/// The same with Disable (which in ring 3 masks no interrupt, and acts as Forbid).
fn disable_spin_is_removed() -> TestResult {
    spin_is_removed("r3-disable-spin", true)
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
    let heap0 = exec::heap::stats().free;
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-task-bomber", 0, task_bomber, Bomb { parent: me(), made: 0, refused: 0 })?;
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
    let (t, block) = hostile("r3-memory-bomber", 0, memory_bomber, MemBomb { parent: me(), bytes: 0, refused: false })?;
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

/// A semaphore bomb: each semaphore's working half is a kernel record; the family stops at
/// its quota, and the kernel heap is back when the task ends.
fn semaphore_bomb_stops_at_the_quota() -> TestResult {
    let heap0 = exec::heap::stats().free;
    let (t, block) = hostile("r3-sem-bomber", 0, semaphore_bomber, Bomb { parent: me(), made: 0, refused: 0 })?;
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
    let (t, block) = hostile("r3-hijacker", 0, hijacker, Hijack { parent: me(), idle, child: core::ptr::null_mut() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the tasks are live (the child waits, the hijacker too).
    let (b, my_now, idle_now, own) = unsafe { ((block as *const Hijack).read(), (*me()).pri(), (*idle).pri(), (*t).pri()) };
    ensure_eq!(my_now, my_pri, "the parent's priority changed");
    ensure_eq!(idle_now, idle_pri, "idle's priority changed");
    ensure_eq!(own, 0, "rose above its ceiling");
    ensure!(!b.child.is_null(), "no child");
    // SAFETY: the child is live (it waits to be ended).
    ensure_eq!(unsafe { (*b.child).pri() }, 0, "child started above the ceiling");
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

/// signal from ring 3 reaches only the caller's kin: a ring-0 task it has no tie to is not
/// signalled (the call is refused and counted).
fn signal_reaches_only_kin() -> TestResult {
    let mut got = 0u32;
    let s = exec::task::add_task("r0-stranger", 1, stranger, &raw mut got as usize, 8192);
    ensure!(!s.is_null());
    let refused = crate::gate::PRIVILEGED_REFUSED.load(Ordering::SeqCst);
    hostile("r3-reacher", 0, reacher, Reacher { parent: me(), stranger: s })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure!(gone("r3-reacher", 200));
    ensure_eq!(crate::gate::PRIVILEGED_REFUSED.load(Ordering::SeqCst), refused + 1);
    // SAFETY: the stranger is live and waits; our cell outlives it.
    unsafe {
        ensure_eq!((&raw const got).read_volatile(), 0, "the stranger was signalled");
        exec::signal::signal(s, SIGF_CTRL_F);
    }
    devices::timer_sleep_ms(10);
    // SAFETY: written by the stranger before it ended.
    ensure_eq!(unsafe { (&raw const got).read_volatile() }, SIGF_CTRL_F);
    Ok(())
}

// --- messages -----------------------------------------------------------------------------

use exec::port::{Message, MsgPort};

/// A small message: its header and a few words (valid in every field but the one a test
/// forges).
const MSG_LEN: usize = size_of::<Message>() + 56;

/// Ring 3: a public port "r3.victim"; each message's first body word gets 1 added. Before it
/// takes a message it scribbles over the header of its view (still queued), and again before
/// it replies. A first word of u64::MAX ends it. Tells its parent (`arg`) when it is ready.
extern "C" fn victim_server(parent: u64) -> ! {
    // SAFETY: exec calls with the server's own port and the messages it received.
    unsafe {
        let port = sys::create_port(Some("r3.victim"), 0);
        sys::signal(parent as *mut Task, SIGF_CTRL_F);
        loop {
            let peek = sys::wait_port(port) as *mut u8;
            core::ptr::write_bytes(peek, 0xa5, size_of::<Message>());
            let m = sys::get_msg(port);
            let body = m.add(1) as *mut u64;
            let word = body.read();
            if word == u64::MAX {
                sys::rem_task(core::ptr::null_mut());
            }
            body.write(word + 1);
            // A free of the view it holds is refused (it is lent to it).
            sys::free_mem(m as *mut u8, 4096);
            core::ptr::write_bytes(m as *mut u8, 0x5a, size_of::<Message>());
            sys::reply_msg(m);
        }
    }
}

/// What a hostile client found.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Client {
    parent: u64,
    /// Puts with a forged reply port that the gate refused, of those tried.
    forged_refused: u64,
    forged_tried: u64,
    /// Round trips whose reply came back at the right port with the body answered.
    round_trips_ok: u64,
    /// free_mem of a block whose message was in flight: refused (the block still there).
    lent_free_refused: u64,
    /// The same block sent by transfer while it lends a message: refused.
    lent_transfer_refused: u64,
}

/// One message at `m` (in a block of the client's, `len` bytes) to `server`, replying to
/// `reply`; scribbles over its own header while the message is out. Result: whether it came
/// back to `reply` with the body answered.
///
/// # Safety
/// `m` is the caller's own memory of `len` bytes; `server` and `reply` are alleged.
unsafe fn round_trip(server: *mut MsgPort, reply: *mut MsgPort, m: *mut Message, len: usize, word: u64) -> bool {
    // SAFETY: per the contract; every exec call is checked by the gate.
    unsafe {
        m.write(Message::new(reply, len));
        (m.add(1) as *mut u64).write(word);
        sys::put_msg(server, m);
        // The header is the task's own to scribble: the kernel keeps what it needs elsewhere
        // (a transferred message is not even mapped to us now: we leave it alone).
        if !(m as u64).is_multiple_of(4096) {
            core::ptr::write_bytes(m as *mut u8, 0xc3, size_of::<Message>());
        }
        let back = loop {
            sys::wait_port(reply);
            let b = sys::get_msg(reply);
            if !b.is_null() {
                break b;
            }
        };
        back == m && (m.add(1) as *const u64).read() == word + 1
    }
}

/// Ring 3: tries forged reply ports, then real round trips by copy and by transfer, with
/// frees of lent memory on the way.
extern "C" fn hostile_client(block: u64) -> ! {
    let c = block as *mut Client;
    // SAFETY: our own block; exec calls are checked by the gate.
    unsafe {
        let server = sys::find_port("r3.victim");
        let reply = sys::create_port(None, 0);
        let other = sys::create_port(None, 0);
        let page = sys::alloc_mem(4096, MemFlags::ANY) as *mut Message;
        let inner = (page as *mut u8).add(256) as *mut Message;
        // Forged reply ports: nonsense, a kernel address (our parent's task), the server's
        // own port (a real handle, not ours), our port's handle with its generation bumped,
        // the gate's error codes. Each put must be refused, and nothing queued.
        let forged: [u64; 6] = [0xdead_beef_0000, (*c).parent, server as u64, (reply as u64) ^ (1 << 32), u64::MAX - 1, 1];
        for f in forged {
            inner.write(Message::new(f as *mut MsgPort, MSG_LEN));
            (*c).forged_tried += 1;
            if crate::user::put_msg(server as u64, inner as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER {
                (*c).forged_refused += 1;
            }
        }
        // A message by copy from inside a block: the block cannot be freed while it is out.
        inner.write(Message::new(reply, MSG_LEN));
        (inner.add(1) as *mut u64).write(41);
        sys::put_msg(server, inner);
        sys::free_mem(page as *mut u8, 4096);
        // Still ours: the free was refused (had it not been, this write would fault).
        (page as *mut u64).write(7);
        (*c).lent_free_refused += 1;
        // Nor may it go by transfer (its pages would move under the message it lends), though
        // its header is a valid one.
        page.write(Message::new(reply, 4096));
        let t = crate::user::put_msg(server as u64, page as u64, crate::msg::PUT_TRANSFER);
        (*c).lent_transfer_refused += u64::from(t == crate::gate::ERR_BAD_POINTER);
        sys::wait_port(reply);
        let back = sys::get_msg(reply);
        if back == inner && (inner.add(1) as *const u64).read() == 42 {
            (*c).round_trips_ok += 1;
        }
        // Round trips by copy and by transfer, our header scribbled while out; and a reply
        // to our second port, to see the reply goes where the put said.
        for i in 0..4u64 {
            let (m, len) = if i % 2 == 0 { (inner, MSG_LEN) } else { (page, 4096) };
            let to = if i < 2 { reply } else { other };
            if round_trip(server, to, m, len, 100 * i) {
                (*c).round_trips_ok += 1;
            }
        }
        sys::free_mem(page as *mut u8, 4096);
        // End the server.
        let last = sys::alloc_mem(MSG_LEN, MemFlags::ANY) as *mut Message;
        last.write(Message::new(core::ptr::null_mut(), MSG_LEN));
        (last.add(1) as *mut u64).write(u64::MAX);
        sys::put_msg(server, last);
        sys::signal((*c).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Starts the victim server and the hostile client, and waits for the client's report.
/// Result: what it found, and the gate's refusals meanwhile.
fn clash() -> Result<Client, alloc::string::String> {
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let server = crate::user::add_user_task("r3-victim", 0, victim_server, me() as u64);
    ensure!(!server.is_null(), "no memory for the server");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (t, block) = hostile("r3-hostile-client", 0, hostile_client, Client { parent: me() as u64, ..Client::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the client wrote its findings before signalling, and waits.
    let c = unsafe { (block as *const Client).read() };
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-hostile-client", 500) && gone("r3-victim", 500), "the tasks did not end");
    Ok(c)
}

/// A header whose reply port is forged (nonsense, a kernel address, another task's port,
/// a stale handle, an error code) is refused at put; nothing is queued, the server goes on.
fn forged_reply_port_refused() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let c = clash()?;
    ensure_eq!(c.forged_refused, c.forged_tried);
    ensure_eq!(c.forged_tried, 6);
    ensure_eq!(c.round_trips_ok, 5, "round trips after the forgeries");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// The sender scribbles over its header while its message is out, the receiver over its view
/// of a queued message and of one it holds: the kernel's queues and the replies are unmoved
/// (every round trip comes back to the port the put named, answered).
fn scribbled_headers_change_nothing() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    let c = clash()?;
    ensure_eq!(c.round_trips_ok, 5);
    ensure_eq!(exec::execbase::counters().alert_count, alerts, "exec saw a corrupt queue");
    Ok(())
}

/// Memory lent out cannot be freed by either end until the message is done with: the
/// sender's block holding a message sent by copy, the receiver's view it holds; afterwards
/// the block frees, and memory returns to its baseline.
fn lent_memory_cannot_be_freed() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let bad0 = crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst);
    let c = clash()?;
    ensure_eq!(c.lent_free_refused, 1);
    ensure_eq!(c.lent_transfer_refused, 1);
    // The forged puts (6), the sender's free and transfer while lent (2), and the server's
    // free of each view it held (5).
    let bad = crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst) - bad0;
    ensure!(bad >= 6 + 2 + 5, "{bad} refusals");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
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
    let (t, block) = hostile("r3-greedy", 0, greedy, Greedy { parent: me(), refused: false, small_ok: false })?;
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

// --- a ring-0 message at a ring-3 port ----------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct Crossing {
    parent: *mut Task,
    /// What get_msg gave it (the view of a message, or 0).
    got: u64,
}

/// Ring 3: a public port "r3.cross"; once told (CTRL_E), takes what is there and reports it.
extern "C" fn cross_receiver(block: u64) -> ! {
    let b = block as *mut Crossing;
    // SAFETY: our own block and port; the parent is alleged to the gate.
    unsafe {
        let port = sys::create_port(Some("r3.cross"), 0);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        (*b).got = sys::get_msg(port) as u64;
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-0 task that puts a plain message to a ring-3 task's port (which would hand ring 3 a
/// kernel address, and is not supported yet) gets it back unread, marked cross-ring; the
/// ring-3 task sees no message, and the kernel is not misled into taking it for one of its
/// own records.
fn ring0_message_to_ring3_comes_back() -> TestResult {
    let (t, block) = hostile("r3-cross", 0, cross_receiver, Crossing { parent: me(), got: u64::MAX })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let port = exec::port::find_port("r3.cross");
    ensure!(!port.is_null(), "no public port r3.cross");
    let reply = exec::port::create_msg_port();
    let mut msg = Message::new(reply, size_of::<Message>());
    // SAFETY: live ports; the message lives on this frame until it is back.
    unsafe { exec::port::put_msg(port, &mut msg) };
    // SAFETY: the receiver waits for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task waits.
    ensure_eq!(unsafe { (*(block as *const Crossing)).got }, 0, "ring 3 was handed the message");
    // SAFETY: our reply port; the message came back to it.
    let back = unsafe { exec::port::get_msg(reply) };
    ensure!(core::ptr::eq(back, &msg), "the message did not come back");
    ensure_eq!(msg.error, exec::port::MSG_ERR_CROSS_RING);
    // SAFETY: our port, empty; the receiver is live and waits.
    unsafe {
        exec::port::delete_msg_port(reply);
        exec::signal::signal(t, SIGF_CTRL_E);
    }
    ensure!(gone("r3-cross", 500));
    Ok(())
}
