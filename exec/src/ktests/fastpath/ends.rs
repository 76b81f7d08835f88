//! The combined calls' tests where a task ends or blocks in an unusual state: a stack overrun
//! caught at the direct switch, a receiver or a client that ends mid-exchange, Forbid kept
//! across the wait, and the check that the flat build's calls take the assembly path.

use super::*;

/// A server that overran its stack is caught at the direct switch its reply_wait would make:
/// alert, task ended, and the client has its reply.
pub fn overflow_at_direct_switch() -> TestResult {
    let s = Shared::new();
    let before = alerts().0;
    let t = add_task("fp-overflow", my_pri() + 5, overflowing_server, arg(&s), 16 * 1024);
    ensure!(!t.is_null());
    s.await_server();
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    // SAFETY: the message lives here; the server's port is live while it waits in reply_wait.
    unsafe {
        ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
        ensure_eq!(m.value, 1001);
        settle();
        let (after, code) = alerts();
        ensure_eq!(after, before + 1, "the overflow was not caught at the direct switch");
        ensure_eq!(code, AN_STACK_PROBE);
        ensure!(find_task(Some("fp-overflow")).is_null(), "the task survived");
        delete_msg_port(reply);
    }
    Ok(())
}

fn overflowing_server(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let port = create_msg_port();
    s.port.store(port as usize, Ordering::SeqCst);
    // SAFETY: the message comes from the test; the word written is the canary just below this
    // task's own stack (what an overflow overwrites first).
    unsafe {
        let m = reply_wait(null_mut(), port);
        (*(m as *mut TestMsg)).value += 1000;
        let lower = (*find_task(None)).sp_lower;
        ((lower - 8) as *mut u64).write_volatile(0);
        reply_wait(m, port);
    }
}

/// do_msg to a port whose owner ends: the message comes back marked receiver-gone, whether it
/// was handed to the owner (which never ran to take it) or queued at its public port.
pub fn owner_ends() -> TestResult {
    let reply = create_msg_port();
    for handed in [true, false] {
        let s = Shared::new();
        let body: fn(usize) = if handed { server_public } else { deaf_owner };
        let owner = add_task("fp-owner", my_pri(), body, arg(&s), 16 * 1024);
        ensure!(!owner.is_null());
        s.await_server();
        s.victim.store(owner as usize, Ordering::SeqCst);
        // SAFETY: the owner is Waiting; only the killer ends it.
        ensure_eq!(unsafe { (*owner).state }, TaskState::Waiting);
        // Ready before the owner is woken, so it runs first and ends the owner.
        let k = spawn("fp-killer", my_pri(), killer, arg(&s))?;
        let mut m = TestMsg::new(reply, 1);
        // SAFETY: the message lives here; the port is live until the killer ends its owner.
        unsafe {
            ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
            ensure_eq!((*m.ptr()).error, MSG_ERR_RECEIVER_GONE, "handed: {handed}");
            ensure_eq!((*m.ptr()).node.kind, NodeType::ReplyMsg);
        }
        ensure_eq!(m.value, 1, "the owner served it");
        ensure_eq!(s.log(), "K");
        k.join();
        ensure!(find_task(Some("fp-owner")).is_null());
    }
    // SAFETY: our port, empty.
    unsafe { delete_msg_port(reply) };
    Ok(())
}

/// Publishes a port and waits in reply_wait on it (serving nothing: it is ended first).
fn server_public(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let port = create_port(Some("fp.owner"), 0);
    s.port.store(port as usize, Ordering::SeqCst);
    // SAFETY: our own port.
    let m = unsafe { reply_wait(null_mut(), port) };
    s.note(b'S');
    core::hint::black_box(m);
}

/// Publishes a port and waits for something else (the message stays queued).
fn deaf_owner(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let port = create_port(Some("fp.owner"), 0);
    s.port.store(port as usize, Ordering::SeqCst);
    crate::signal::wait(crate::signal::SIGF_CTRL_F);
    s.note(b'D');
}

/// A client handed its reply while it waits in do_msg, ended before it ran to take it (a task
/// of its priority was ready first and removed it): the reply goes where exec sends any message
/// a task never took, and no alert is raised (in the mmu build the task end sends back only
/// kernel envelopes, and leaves a ring-0 message to exec).
pub fn client_ends_before_taking_its_reply() -> TestResult {
    let s = Shared::new();
    let before = alerts();
    let k = spawn("fp-waiting-killer", my_pri(), waiting_killer, arg(&s))?;
    s.waker.store(k.task as usize, Ordering::SeqCst);
    settle();
    let srv = spawn("fp-replier", my_pri(), replier, arg(&s))?;
    s.await_server();
    let client = add_task("fp-handed-client", my_pri(), handed_client, arg(&s), 16 * 1024);
    ensure!(!client.is_null());
    s.victim.store(client as usize, Ordering::SeqCst);
    k.join();
    ensure_eq!(s.log(), "CSK", "the client put, the server replied, the killer ended the client");
    ensure!(find_task(Some("fp-handed-client")).is_null());
    ensure_eq!(alerts(), before, "an alert at the client's end");
    let reply = create_msg_port();
    let r = stop_server(&s, reply);
    srv.join();
    // SAFETY: our port, empty.
    unsafe { delete_msg_port(reply) };
    r
}

/// Waits for CTRL_E, then ends the victim and notes 'K'.
fn waiting_killer(a: usize) {
    crate::signal::wait(crate::signal::SIGF_CTRL_E);
    killer(a);
}

/// Takes one message (notes 'S'), wakes the waker (CTRL_E: ready, at our priority, before the
/// client we hand the reply to), replies it with reply_wait, and serves on until [`QUIT`].
fn replier(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let port = create_msg_port();
    s.port.store(port as usize, Ordering::SeqCst);
    // SAFETY: messages come from the test's tasks and stay valid until replied.
    unsafe {
        let mut m = reply_wait(null_mut(), port);
        s.note(b'S');
        crate::signal::signal(s.waker.load(Ordering::SeqCst) as *mut Task, crate::signal::SIGF_CTRL_E);
        loop {
            m = reply_wait(m, port);
            if m.is_null() || (*(m as *mut TestMsg)).value == QUIT {
                break;
            }
        }
        if !m.is_null() {
            reply_msg(m);
        }
        delete_msg_port(port);
    }
}

/// Notes 'C' and waits in do_msg for a reply it never runs to take.
fn handed_client(a: usize) {
    // SAFETY: as in `server`.
    let s: &Shared = unsafe { from_arg(a) };
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 7);
    s.note(b'C');
    // SAFETY: the message lives on this stack while the task does.
    unsafe { do_msg(s.port(), m.ptr()) };
    s.note(b'!');
}

/// A client holding Forbid: its do_msg breaks the Forbid while it waits (the server runs and
/// replies), and the client holds it again, once, when it runs.
pub fn forbid_kept_across_the_wait() -> TestResult {
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    crate::sched::forbid();
    // SAFETY: the message lives here until it is back; the ports are live.
    let back = unsafe { do_msg(s.port(), m.ptr()) };
    let depth = crate::sched::forbid_depth();
    crate::sched::permit();
    ensure_eq!(back, m.ptr());
    ensure_eq!((m.value, s.log()), (1001, "S".into()), "the server did not run while the client waited");
    ensure_eq!(depth, 1, "the client's Forbid was not restored as it was");
    // SAFETY: as above.
    unsafe {
        stop_server(&s, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}

/// The flat build's round trip between two tasks of equal priority takes the assembly fast path
/// both ways, and the Rust path when a test asks for it: told by the resume address each
/// blocked task left on its stack (the client's read by the server as it takes the message).
#[cfg(not(feature = "mmu"))]
pub fn assembly_path_taken() -> TestResult {
    let fast = crate::arch::x86_64::fastpath::resume_address();
    let s = Shared::new();
    let srv = start_server(&s, "fp-server", my_pri())?;
    let reply = create_msg_port();
    let mut m = TestMsg::new(reply, 1);
    // SAFETY: the message lives here until it is back; the ports are live; the server is
    // Waiting whenever this task runs.
    unsafe {
        // The server's first reply_wait had nothing to reply (the Rust path); from its second
        // on, both halves are direct.
        for round in 1..=2u64 {
            ensure_eq!(do_msg(s.port(), m.ptr()), m.ptr());
            ensure_eq!(m.value, 1 + 1000 * round);
        }
        ensure_eq!(s.client_resume.load(Ordering::SeqCst), fast, "do_msg did not block in the assembly fast path");
        ensure_eq!(resume_of(srv.task), fast, "reply_wait did not block in the assembly fast path");
        GENERAL.store(true, Ordering::SeqCst);
        let back = do_msg(s.port(), m.ptr());
        GENERAL.store(false, Ordering::SeqCst);
        ensure_eq!(back, m.ptr());
        ensure!(s.client_resume.load(Ordering::SeqCst) != fast, "the Rust path's do_msg blocked in the fast path");
        ensure!(resume_of(srv.task) != fast, "the Rust path's reply_wait blocked in the fast path");
        stop_server(&s, reply)?;
        srv.join();
        delete_msg_port(reply);
    }
    Ok(())
}
