//! mmu-mode's in-kernel tests of device replies at a ring-3 task's own reply port: the
//! Amiga's SendIO, WaitPort, GetMsg sequence works from ring 3 (the request comes back as the
//! message, its results in it), and a port deleted while a request is out leaves nothing
//! dangling (`io::port_going`).

use devices::timer::{TR_ADDREQUEST, TimeRequest, UNIT_MICROHZ};
use exec::ktest::{Test, TestResult};
use exec::list::NodeType;
use exec::signal::{SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F};
use exec::{ensure, ensure_eq, sys};

use crate::ktests_attacks::me3;

pub static TESTS: &[Test] = &[
    Test::new("mmu.door.device_reply_arrives_as_a_message", device_reply_arrives_as_a_message),
    Test::new("mmu.door.removed_task_leaves_its_parents_signals", removed_task_leaves_its_parents_signals),
];

/// What the ring-3 task saw.
#[derive(Clone, Copy)]
struct Seen {
    parent: *mut exec::task::Task,
    opened: i8,
    /// The request's address, and what wait_port and then get_msg returned.
    request: u64,
    peeked: u64,
    got: u64,
    /// The request's error and node kind as get_msg left them; get_msg once more.
    error: i8,
    kind: NodeType,
    got_again: u64,
    /// check_io and wait_io after get_msg took the request.
    checked: bool,
    waited: i8,
    /// A request out while its reply port was deleted: wait_io's answer, and check_io's.
    orphan_waited: i8,
    orphan_checked: bool,
    /// A last request's reply waited at its port as the task ended.
    left_queued: bool,
    /// A reply taken by the wait that takes (WaitTake), its result in.
    wait_take_ok: bool,
    /// A request closed while its reply waited at the port: the port empty after.
    closed_ok: bool,
    /// Sent again: its reply found by wait_port and taken by get_msg at the same port.
    again_ok: bool,
    /// A ring-0 task's port, open to ring 3 (a valid handle, but not the task's own): named as
    /// a request's reply port, and whether that request still completed (elsewhere).
    strangers_port: u64,
    stranger_done: bool,
}

/// Ring 3: timer.device requests replied to the task's own port, taken as messages.
extern "C" fn reply_user(block: u64) -> ! {
    let s = block as *mut Seen;
    // SAFETY: our own block and request; exec calls through the gate.
    unsafe {
        let reply = sys::create_port(None, 0);
        let mut tr = TimeRequest::new(reply);
        (*s).request = &raw mut tr.io as u64;
        (*s).opened = sys::open_device("timer.device", UNIT_MICROHZ, &mut tr.io, 0);
        tr.io.command = TR_ADDREQUEST;
        tr.time.micro = 5_000;
        // Set to what no device answers: get_msg must return it with the device's result.
        tr.io.error = 77;
        sys::send_io(&mut tr.io);
        (*s).peeked = sys::wait_port(reply) as u64;
        (*s).got = sys::get_msg(reply) as u64;
        (*s).error = tr.io.error;
        (*s).kind = core::ptr::read_volatile(&raw const tr.io.message.node.kind);
        (*s).got_again = sys::get_msg(reply) as u64;
        (*s).checked = sys::check_io(&mut tr.io);
        (*s).waited = sys::wait_io(&mut tr.io);

        // Sent again: its reply is found and taken at the same port again.
        tr.time.micro = 1_000;
        sys::send_io(&mut tr.io);
        (*s).again_ok = sys::wait_port(reply) as u64 == (*s).request && sys::get_msg(reply) as u64 == (*s).request;

        // A request naming a port that is not the task's own (a handle that is valid, its
        // owner wrong): the reply goes to a port of the handle's own, never there.
        let mut st = TimeRequest::new((*s).strangers_port as *mut exec::port::MsgPort);
        let opened = sys::open_device("timer.device", UNIT_MICROHZ, &mut st.io, 0);
        st.io.command = TR_ADDREQUEST;
        st.time.micro = 1_000;
        sys::send_io(&mut st.io);
        (*s).stranger_done = opened == 0 && sys::wait_io(&mut st.io) == 0;
        sys::close_device(&mut st.io);

        // Taken by the wait that takes (WaitTake, one gate call), as a message would be.
        sys::send_io(&mut tr.io);
        (*s).wait_take_ok = crate::user::wait_get(reply as u64) == (*s).request && tr.io.error == 0;

        // Closed with its reply still at the port: the reply goes with the request.
        let mut other = TimeRequest::new(reply);
        sys::open_device("timer.device", UNIT_MICROHZ, &mut other.io, 0);
        other.io.command = TR_ADDREQUEST;
        other.time.micro = 1_000;
        sys::send_io(&mut other.io);
        let queued = sys::wait_port(reply) as u64 == &raw mut other.io as u64;
        sys::close_device(&mut other.io);
        (*s).closed_ok = queued && sys::get_msg(reply).is_null();

        // Out while its port goes: the parent looks where its reply would go (CTRL_D both
        // ways); it completes all the same, on the handle's own port.
        tr.time.micro = 20_000;
        sys::send_io(&mut tr.io);
        sys::delete_msg_port(reply);
        sys::signal((*s).parent, SIGF_CTRL_D);
        sys::wait(SIGF_CTRL_D);
        (*s).orphan_waited = sys::wait_io(&mut tr.io);
        (*s).orphan_checked = sys::check_io(&mut tr.io);
        sys::close_device(&mut tr.io);

        // A reply left at a port of the task as it ends (nothing alerts, nothing leaks).
        let last = sys::create_port(None, 0);
        let mut left = TimeRequest::new(last);
        sys::open_device("timer.device", UNIT_MICROHZ, &mut left.io, 0);
        left.io.command = TR_ADDREQUEST;
        left.time.micro = 1_000;
        sys::send_io(&mut left.io);
        (*s).left_queued = sys::wait_port(last) as u64 == &raw mut left.io as u64;
        crate::ktests_sys::report_and_end((*s).parent)
    }
}

fn device_reply_arrives_as_a_message() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    // A port of this (ring-0) task, open to ring 3: the child may name it, not have it.
    let strangers = exec::port::create_msg_port();
    ensure!(!strangers.is_null());
    // SAFETY: our live port, deleted below.
    let strangers_port = unsafe { crate::msg::open_to_ring3(strangers) };
    let init = Seen {
        strangers_port,
        stranger_done: false,
        parent: me3(),
        opened: -99,
        request: 0,
        peeked: 0,
        got: 0,
        error: -99,
        kind: NodeType::Unknown,
        got_again: 1,
        checked: false,
        waited: -99,
        orphan_waited: -99,
        orphan_checked: false,
        again_ok: false,
        left_queued: false,
        wait_take_ok: false,
        closed_ok: false,
    };
    exec::signal::set_signal(0, SIGF_CTRL_D | SIGF_CTRL_E | SIGF_CTRL_F);
    let (task, block) = crate::user::add_user_task_with("r3-io-reply", 0, reply_user, init).ok_or("no memory for the task")?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_D), SIGF_CTRL_D);
    // Its port is gone, a request still out (for 20 ms): the request replies where it may.
    let astray = crate::io::replies_astray(task);
    // SAFETY: a live task that waits for CTRL_D.
    unsafe { exec::signal::signal(task, SIGF_CTRL_D) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the task wrote its results before signalling and waits for CTRL_E to end.
    let s = unsafe { (block as *const Seen).read() };
    // SAFETY: a live task that waits for CTRL_E.
    unsafe { exec::signal::signal(task, SIGF_CTRL_E) };
    devices::timer_sleep_ms(20);
    ensure_eq!(astray, 0, "a request would reply to the port deleted under it");
    ensure_eq!(s.opened, 0);
    ensure_eq!(s.peeked, s.request, "wait_port did not show the replied request");
    ensure_eq!(s.got, s.request, "get_msg did not return the replied request");
    ensure_eq!(s.error, 0, "the request's results were not in it when get_msg returned it");
    ensure_eq!(s.kind, NodeType::ReplyMsg);
    ensure_eq!(s.got_again, 0, "the reply was taken twice");
    ensure!(s.checked, "check_io after get_msg said not done");
    ensure_eq!(s.waited, 0);
    ensure!(s.again_ok, "a second reply was not found at the port");
    ensure_eq!((s.orphan_waited, s.orphan_checked), (0, true), "a request whose port went did not complete");
    // SAFETY: our port; nothing else takes from it.
    let stray = unsafe { exec::port::get_msg(strangers) };
    // SAFETY: as above; not used after.
    unsafe { exec::port::delete_msg_port(strangers) };
    ensure!(s.stranger_done, "a request naming another task's port did not complete");
    ensure!(stray.is_null(), "a device replied to a port the requester does not own");
    ensure!(s.wait_take_ok, "the wait that takes did not return the replied request");
    ensure!(s.closed_ok, "a request closed with its reply at the port left the reply there");
    ensure!(s.left_queued, "the last request's reply was not at its port");
    // The task has ended (CTRL_E, then 20 ms) with that reply at its port.
    ensure_eq!(exec::execbase::counters().alert_count, alerts, "an alert was raised");
    Ok(())
}

/// Ring 3: opens timer.device naming no reply port (the kernel makes the handle a port of its
/// own, on a bit of the task's), says so (CTRL_F to its parent, whose task is its block), and
/// waits to be removed.
extern "C" fn opens_and_waits(block: u64) -> ! {
    // SAFETY: our own block and request; exec calls through the gate.
    unsafe {
        let mut tr = TimeRequest::new(core::ptr::null_mut());
        sys::open_device("timer.device", UNIT_MICROHZ, &mut tr.io, 0);
        sys::signal(*(block as *const *mut exec::task::Task), SIGF_CTRL_F);
        loop {
            sys::wait(SIGF_CTRL_D);
        }
    }
}

/// A ring-3 task removed by its parent with a device handle open that has a port of its own:
/// the port goes with the handle, and its signal bit is the ended task's, not the parent's
/// (which runs the removal): every bit the parent holds stays allocated.
fn removed_task_leaves_its_parents_signals() -> TestResult {
    let me = exec::task::find_task(None);
    exec::signal::set_signal(0, SIGF_CTRL_F);
    // Every free bit taken, so that whichever the child's port gets, the parent holds it too.
    let mut mine = alloc::vec::Vec::new();
    loop {
        let bit = exec::signal::alloc_signal(-1);
        if bit < 0 {
            break;
        }
        mine.push(bit);
    }
    // SAFETY: the running task is live.
    let before = unsafe { (*me).sig_alloc };
    let started = crate::user::add_user_task_with("r3-own-port", 0, opens_and_waits, me3());
    let seen = started.is_some() && exec::signal::wait(SIGF_CTRL_F) == SIGF_CTRL_F;
    if let Some((task, _)) = started {
        // SAFETY: our child, live: it waits for a signal nobody sends.
        unsafe { exec::task::rem_task(task) };
    }
    // SAFETY: as above.
    let after = unsafe { (*me).sig_alloc };
    for bit in mine {
        exec::signal::free_signal(bit);
    }
    ensure!(seen, "the child did not start or open its device");
    ensure_eq!(after, before, "removing the child freed a signal bit of the parent's");
    Ok(())
}
