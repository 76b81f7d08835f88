//! The combined calls (do_msg, reply_wait) and their direct hand-off and switch: Exec's
//! order kept (FIFO among equals, a higher priority never overtaken), replies twice caught,
//! the awaited message picked out of several, arrivals while the receiver waits, stack checks
//! at a direct switch, and a receiver that ends.

use core::ptr::null_mut;
#[cfg(not(feature = "mmu"))]
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::util::{Child, alerts, arg, from_arg, settle, spawn};
use crate::alert::{AN_MSG_REPLY_TWICE, AN_STACK_PROBE};
use crate::ktest::TestResult;
use crate::list::NodeType;
use crate::port::*;
use crate::signal::set_signal;
use crate::task::{Task, TaskState, add_task, find_task, rem_task};
use crate::{ensure, ensure_eq};

mod ends;
pub use ends::{client_ends_before_taking_its_reply, forbid_kept_across_the_wait, overflow_at_direct_switch, owner_ends};
#[cfg(not(feature = "mmu"))]
pub use ends::assembly_path_taken;

/// Set while a test runs through the Rust path alone ([`general`]): in the flat build the
/// entry points take the assembly fast path, which falls back to the Rust path, so each test
/// runs both ways. The mmu build has only the Rust path.
#[cfg(not(feature = "mmu"))]
static GENERAL: AtomicBool = AtomicBool::new(false);

/// do_msg as the test asks: the entry point, or the Rust path alone ([`GENERAL`]).
///
/// # Safety
/// As [`crate::port::do_msg`]'s.
unsafe fn do_msg(port: *mut MsgPort, msg: *mut Message) -> *mut Message {
    #[cfg(not(feature = "mmu"))]
    if GENERAL.load(Ordering::SeqCst) {
        // SAFETY: the caller's promise.
        return unsafe { crate::port::do_msg_general(port, msg) };
    }
    // SAFETY: the caller's promise.
    unsafe { crate::port::do_msg(port, msg) }
}

/// reply_wait as the test asks (see [`do_msg`]).
///
/// # Safety
/// As [`crate::port::reply_wait`]'s.
unsafe fn reply_wait(msg: *mut Message, port: *mut MsgPort) -> *mut Message {
    #[cfg(not(feature = "mmu"))]
    if GENERAL.load(Ordering::SeqCst) {
        // SAFETY: the caller's promise.
        return unsafe { crate::port::reply_wait_general(msg, port) };
    }
    // SAFETY: the caller's promise.
    unsafe { crate::port::reply_wait(msg, port) }
}

#[repr(C)]
struct TestMsg {
    msg: Message,
    value: u64,
}

impl TestMsg {
    fn new(reply: *mut MsgPort, value: u64) -> Self {
        TestMsg { msg: Message::new(reply, size_of::<TestMsg>()), value }
    }
    fn ptr(&mut self) -> *mut Message {
        &mut self.msg
    }
}

/// The message that ends [`server`].
const QUIT: u64 = u64::MAX;

/// What the tasks of one test share: a log of who ran, in order (one letter a byte).
struct Shared {
    port: AtomicUsize,
    log: AtomicU64,
    served: AtomicU32,
    /// A task for [`killer`] to end.
    victim: AtomicUsize,
    /// A task for [`replier`] to wake before it replies.
    waker: AtomicUsize,
    /// Where the client of the last message [`server`] took will resume (read off its stack).
    client_resume: AtomicUsize,
}

impl Shared {
    const fn new() -> Self {
        Shared {
            port: AtomicUsize::new(0),
            log: AtomicU64::new(0),
            served: AtomicU32::new(0),
            victim: AtomicUsize::new(0),
            waker: AtomicUsize::new(0),
            client_resume: AtomicUsize::new(0),
        }
    }
    fn note(&self, c: u8) {
        let _ = self.log.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| Some((l << 8) | c as u64));
    }
    fn log(&self) -> alloc::string::String {
        let l = self.log.load(Ordering::SeqCst);
        (0..8).rev().map(|i| (l >> (i * 8)) as u8).filter(|&b| b != 0).map(char::from).collect()
    }
    fn port(&self) -> *mut MsgPort {
        self.port.load(Ordering::SeqCst) as *mut MsgPort
    }
    /// Waits until the server has published its port and blocked in reply_wait.
    fn await_server(&self) {
        while self.port.load(Ordering::SeqCst) == 0 {
            settle();
        }
        settle();
    }
}

/// A server on the combined call: notes 'S' for each message, adds 1000 to its value, and
/// replies it with the next reply_wait; ends on [`QUIT`].
fn server(a: usize) {
    // SAFETY: the test joins before the Shared goes away.
    let s: &Shared = unsafe { from_arg(a) };
    let port = create_msg_port();
    s.port.store(port as usize, Ordering::SeqCst);
    let mut m = null_mut();
    // SAFETY: messages come from the test and stay valid until replied; a message's sender
    // (its reply port's task) is live and, as this task runs, not running.
    unsafe {
        loop {
            m = reply_wait(m, port);
            if m.is_null() {
                break;
            }
            let t = m as *mut TestMsg;
            let client = (*(*m).reply_port).sig_task;
            s.client_resume.store(resume_of(client), Ordering::SeqCst);
            s.note(b'S');
            s.served.fetch_add(1, Ordering::SeqCst);
            if (*t).value == QUIT {
                reply_msg(m);
                break;
            }
            (*t).value += 1000;
        }
        delete_msg_port(port);
    }
}

/// Notes 'X' and ends.
fn runner(a: usize) {
    // SAFETY: as in `server`.
    unsafe { from_arg::<Shared>(a) }.note(b'X');
}

/// Ends the victim task (as its parent may), then notes 'K'.
fn killer(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    // SAFETY: the victim is live until this removes it, and holds nothing others need.
    unsafe { rem_task(s.victim.load(Ordering::SeqCst) as *mut Task) };
    s.note(b'K');
}

fn stop_server(s: &Shared, reply: *mut MsgPort) -> Result<(), alloc::string::String> {
    let mut q = TestMsg::new(reply, QUIT);
    // SAFETY: the message lives here until it is back.
    ensure_eq!(unsafe { do_msg(s.port(), q.ptr()) }, q.ptr());
    Ok(())
}

/// Starts [`server`] as `name` at `pri` on `s` and returns once its port is up.
fn start_server(s: &Shared, name: &str, pri: i8) -> Result<Child, alloc::string::String> {
    let srv = spawn(name, pri, server, arg(s))?;
    s.await_server();
    Ok(srv)
}

/// Where the blocked task `t` will resume: the address on top of its saved stack.
///
/// # Safety
/// `t` is live and not running.
unsafe fn resume_of(t: *mut Task) -> usize {
    crate::sched::disable();
    // SAFETY: per the contract, its saved stack pointer points at its resume address.
    let at = unsafe { *((*t).saved_sp as *const usize) };
    crate::sched::enable();
    at
}

fn my_pri() -> i8 {
    // SAFETY: the running task is live.
    unsafe { (*find_task(None)).pri() }
}

/// A round trip through do_msg and reply_wait; then an equal-priority task that was ready
/// before the server was woken runs before it (FIFO among equals), however direct the hand-off.
pub fn fifo_among_equals() -> TestResult {
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    // SAFETY: the message lives here until it is back; the ports are live.
    unsafe {
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        ensure_eq!(m.value, 1001);
        ensure_eq!((*m.ptr()).node.kind, NodeType::ReplyMsg);
        ensure_eq!(s.log(), "S");
        // A task of the server's priority, ready before the server is woken, runs first.
        let x = spawn("fp-runner", my_pri(), runner, arg(&s))?;
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        ensure_eq!(m.value, 2001);
        ensure_eq!(s.log(), "SXS", "the woken server overtook a ready task of its priority");
        x.join();
        stop_server(&s, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}

/// A higher-priority task made ready under Forbid runs before the server woken by do_msg (of
/// the caller's priority), and a server that outranks the caller gets the message at once,
/// even through a classic put_msg.
pub fn never_overtakes_higher() -> TestResult {
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    // SAFETY: as above.
    unsafe {
        crate::sched::forbid();
        let h = spawn("fp-high", my_pri() + 5, runner, arg(&s))?;
        ensure_eq!(s.log(), "", "Forbid did not hold");
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        crate::sched::permit();
        ensure_eq!(s.log(), "XS", "the woken server overtook a higher-priority ready task");
        h.join();
        stop_server(&s, reply)?;
        srv.join();

        // A server above the caller: the classic put_msg runs it before returning.
        let hi = Shared::new();
        let srv = start_server(&hi, "fp-server-hi", my_pri() + 5)?;
        (*m.ptr()).node.kind = NodeType::FreeMsg;
        m.value = 7;
        put_msg(hi.port(), m.ptr());
        ensure_eq!(hi.log(), "S", "a higher-priority receiver did not run at once");
        // Its reply_wait replied to a sender that was not waiting: queued, not handed.
        ensure_eq!(get_msg(reply), m.ptr(), "the reply was lost");
        ensure_eq!(m.value, 1007);
        stop_server(&hi, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}

/// A receiver blocked in reply_wait but made ready by a plain signal meanwhile is no longer
/// Waiting: do_msg must queue the message, not hand it over (nor queue the task twice).
pub fn signalled_receiver_not_handed() -> TestResult {
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    let before = super::util::task_count();
    // SAFETY: the server and its port are live until stopped; the message lives here.
    unsafe {
        let t = find_task(Some("fp-server"));
        ensure!(!t.is_null());
        crate::signal::signal(t, 1 << (*s.port()).sig_bit);
        ensure_eq!((*t).state, TaskState::Ready, "an equal priority ran at once");
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        ensure_eq!(m.value, 1001);
        ensure_eq!(s.served.load(Ordering::SeqCst), 1);
        ensure_eq!(super::util::task_count(), before);
        stop_server(&s, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}

/// reply_wait refuses a message replied already (alert, null, nothing taken) and one still
/// queued; the reply is linked once.
pub fn reply_twice_caught() -> TestResult {
    let port = create_msg_port();
    let reply = create_msg_port();
    // SAFETY: messages live on this frame; ports are ours.
    unsafe {
        let mut m = TestMsg::new(reply, 1);
        let mut next = TestMsg::new(null_mut(), 2);
        put_msg(port, m.ptr());
        let got = get_msg(port);
        put_msg(port, next.ptr());
        ensure_eq!(reply_wait(got, port), next.ptr());
        let (n0, _) = alerts();
        ensure!(reply_wait(got, port).is_null(), "a second reply was taken");
        let (n1, code) = alerts();
        ensure_eq!(n1, n0 + 1);
        ensure_eq!(code, AN_MSG_REPLY_TWICE);
        ensure_eq!(get_msg(reply), m.ptr());
        ensure!(get_msg(reply).is_null(), "the message was linked twice");
        // One still queued cannot be replied either.
        let mut q = TestMsg::new(reply, 3);
        put_msg(port, q.ptr());
        ensure!(reply_wait(q.ptr(), port).is_null());
        ensure_eq!(alerts().0, n1 + 1);
        ensure_eq!(get_msg(port), q.ptr());
        ensure!(get_msg(reply).is_null());
        delete_msg_port(port);
        delete_msg_port(reply);
    }
    Ok(())
}

/// do_msg takes back its own message even when others wait at the reply port (before the call
/// and arriving during it); they stay queued, in order, with the port's signal set.
pub fn several_at_reply_port() -> TestResult {
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    // SAFETY: messages live on this frame until taken; ports are live.
    unsafe {
        let bit = 1u32 << (*reply).sig_bit;
        let mut a = TestMsg::new(null_mut(), 10);
        let mut b = TestMsg::new(null_mut(), 11);
        put_msg(reply, a.ptr());
        put_msg(reply, b.ptr());
        let mut m = TestMsg::new(reply, 1);
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        ensure_eq!(m.value, 1001);
        ensure_eq!(set_signal(0, 0) & bit, bit, "the signal of the messages left was spent");
        ensure_eq!(get_msg(reply), a.ptr());
        ensure_eq!(get_msg(reply), b.ptr());
        ensure!(get_msg(reply).is_null());
        set_signal(0, bit);
        // Now with the reply port empty (the hand-off path), twice in a row.
        for i in 0..2 {
            ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
            ensure_eq!(m.value, 2001 + i * 1000);
            ensure!(get_msg(reply).is_null(), "a handed reply was also queued");
        }
        stop_server(&s, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}

/// The server's side: a message arrives (put by a task its reply just woke, which outranks
/// it) while the server is between its reply and its wait; reply_wait returns it, and the
/// reply is not lost.
pub fn arrival_during_reply_wait() -> TestResult {
    let s = Shared::new();
    s.port.store(create_msg_port() as usize, Ordering::SeqCst);
    // SAFETY: the client lives until joined; messages live on its stack or here.
    unsafe {
        let c = spawn("fp-client", my_pri() + 5, high_client, arg(&s))?;
        // The client has put its first message and waits in do_msg for it.
        let first = get_msg(s.port());
        ensure!(!first.is_null(), "the client did not send");
        ensure_eq!((*(first as *mut TestMsg)).value, 1);
        // Replying wakes the client, which sends again before this task waits.
        let second = reply_wait(first, s.port());
        ensure!(!second.is_null());
        ensure_eq!((*(second as *mut TestMsg)).value, 2);
        ensure_eq!(s.log(), "C");
        reply_msg(second);
        c.join();
        ensure_eq!(s.served.load(Ordering::SeqCst), 2);
        delete_msg_port(s.port());
    }
    Ok(())
}

fn high_client(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let reply = create_msg_port();
    let mut one = TestMsg::new(reply, 1);
    let mut two = TestMsg::new(reply, 2);
    // SAFETY: the messages live here until they are back; the test's port outlives us.
    unsafe {
        if do_msg(s.port(), one.ptr()) == one.ptr() {
            s.served.fetch_add(1, Ordering::SeqCst);
            s.note(b'C');
            put_msg(s.port(), two.ptr());
            wait_port(reply);
            if get_msg(reply) == two.ptr() {
                s.served.fetch_add(1, Ordering::SeqCst);
            }
        }
        delete_msg_port(reply);
    }
}

/// The tests above through the Rust path alone (flat build: the entry points take the assembly
/// fast path, which the same tests run first).
#[cfg(not(feature = "mmu"))]
pub mod general {
    use super::GENERAL;
    use crate::ktest::TestResult;
    use core::sync::atomic::Ordering;

    macro_rules! through_rust {
        ($($name:ident),* $(,)?) => {$(
            pub fn $name() -> TestResult {
                GENERAL.store(true, Ordering::SeqCst);
                let r = super::$name();
                GENERAL.store(false, Ordering::SeqCst);
                r
            }
        )*};
    }

    through_rust!(
        fifo_among_equals,
        never_overtakes_higher,
        signalled_receiver_not_handed,
        reply_twice_caught,
        several_at_reply_port,
        arrival_during_reply_wait,
        overflow_at_direct_switch,
        owner_ends,
        client_ends_before_taking_its_reply,
        forbid_kept_across_the_wait,
    );
}
