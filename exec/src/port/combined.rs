//! The combined calls, Exec-style: [`do_msg`] (put, wait and get of the same message: the
//! client's half of a round trip) and [`reply_wait`] (reply, wait and get the next: the
//! server's half), with exec's direct hand-over to a receiver blocked in one of them and the
//! direct switch to it. The flat build enters them through the assembly fast path
//! (`arch::x86_64::fastpath`), whose specification the Rust paths here are.

use core::ptr::null_mut;

use super::{Message, MsgPort, PortAction, arrive};
use crate::alert::{AN_MSG_PUT_TWICE, AN_MSG_REPLY_TWICE, alert};
use crate::execbase::base;
use crate::list::NodeType;
use crate::sched::{self, disable, enable};
use crate::task::{Task, TaskState};

/// Sends `msg` to `port` and waits for that message to come back, then takes it off its reply
/// port: put_msg, wait_port and get_msg in one call, the client's half of a round trip (as
/// DoIO is for devices). Other messages arriving at the reply port meanwhile stay queued there
/// (and its signal stays set for them).
///
/// When the port's owner is blocked in [`reply_wait`] on the empty port, the message is handed
/// to it without being queued; and since the caller blocks, the receiver runs at once without
/// passing through the ready list when no ready task ranks with or above it (else it is queued
/// behind its equals, as any task woken). Exec's order is kept: FIFO among equal priorities, a
/// higher priority never overtaken.
///
/// Inputs: `port`, the destination; `msg`, a message with a reply port that signals the
/// caller. Result: `msg`, back (its `error` says [`MSG_ERR_RECEIVER_GONE`](super::MSG_ERR_RECEIVER_GONE) when the receiver
/// ended before replying), or null when it was not sent: it is still queued somewhere (a
/// recoverable alert, `AN_MSG_PUT_TWICE`) or it has no reply port to come back to.
/// Not callable from an interrupt (it waits).
///
/// # Safety
/// `port` and `msg` are live, and so is `msg`'s reply port, which signals the caller; the
/// message stays valid until it is back.
#[inline(always)]
pub unsafe fn do_msg(port: *mut MsgPort, msg: *mut Message) -> *mut Message {
    // SAFETY: the caller's promise, which both paths take.
    #[cfg(not(feature = "mmu"))]
    return unsafe { crate::arch::x86_64::fastpath::exec_do_msg_fast(port, msg) };
    // SAFETY: as above.
    #[cfg(feature = "mmu")]
    return unsafe { do_msg_general(port, msg) };
}

/// The vector table's entries for [`do_msg`] and [`reply_wait`]: the assembly fast paths in the
/// flat build (called straight, with the C convention), the Rust paths in the mmu build.
#[cfg(not(feature = "mmu"))]
pub(crate) use crate::arch::x86_64::fastpath::{exec_do_msg_fast as do_msg_entry, exec_reply_wait_fast as reply_wait_entry};
#[cfg(feature = "mmu")]
pub(crate) use {do_msg_general as do_msg_entry, reply_wait_general as reply_wait_entry};

/// [`do_msg`] in Rust, every case of it: the specification of the flat build's assembly fast
/// path (`arch::x86_64::fastpath`), which jumps here whenever a precondition of its direct
/// hand-over and switch fails; the whole of do_msg in the mmu build.
///
/// # Safety
/// As [`do_msg`]'s.
pub(crate) unsafe extern "C" fn do_msg_general(port: *mut MsgPort, msg: *mut Message) -> *mut Message {
    disable();
    // SAFETY: Disable held; pointers live (caller).
    unsafe {
        let reply = (*msg).reply_port;
        if !(*msg).queued_at.is_null() || reply.is_null() {
            let twice = !(*msg).queued_at.is_null();
            enable();
            if twice {
                alert(AN_MSG_PUT_TWICE);
            }
            return null_mut();
        }
        (*msg).node.kind = NodeType::Message;
        let woken = hand_or_arrive(port, msg);
        let back = receive(reply, msg, woken);
        enable();
        back
    }
}

/// Replies `msg` (unless it is null) and waits for the next message at `port`, which it takes
/// off and returns: reply_msg, wait_port and get_msg in one call, the server's half of a round
/// trip. A server loops on it: `let mut m = null; loop { m = reply_wait(m, port); ... }`.
///
/// When the reply port's owner is blocked in [`do_msg`] for this very message (or in
/// `reply_wait`) with its port empty, the message is handed to it without being queued, and it
/// runs at once, without passing through the ready list, when this call blocks and no ready
/// task ranks with or above it. A message already waiting at `port` is returned without
/// blocking (the woken task then runs first only if it outranks the caller).
///
/// Inputs: `msg`, a message the caller received, or null; `port`, a port that signals the
/// caller. Result: the next message, or null when `msg` could not be replied: replied already
/// or still queued (a recoverable alert, `AN_MSG_REPLY_TWICE`; nothing else is done, nothing
/// is taken). Not callable from an interrupt (it waits).
///
/// # Safety
/// `msg` is null or live and was received by the caller; `port` is live and signals the caller.
#[inline(always)]
pub unsafe fn reply_wait(msg: *mut Message, port: *mut MsgPort) -> *mut Message {
    // SAFETY: the caller's promise, which both paths take.
    #[cfg(not(feature = "mmu"))]
    return unsafe { crate::arch::x86_64::fastpath::exec_reply_wait_fast(msg, port) };
    // SAFETY: as above.
    #[cfg(feature = "mmu")]
    return unsafe { reply_wait_general(msg, port) };
}

/// [`reply_wait`] in Rust, every case of it: the specification of the flat build's assembly
/// fast path, which jumps here whenever a precondition fails; the whole of reply_wait in the
/// mmu build.
///
/// # Safety
/// As [`reply_wait`]'s.
pub(crate) unsafe extern "C" fn reply_wait_general(msg: *mut Message, port: *mut MsgPort) -> *mut Message {
    disable();
    // SAFETY: Disable held; pointers live (caller).
    unsafe {
        let mut woken = null_mut();
        if !msg.is_null() {
            if (*msg).node.kind == NodeType::ReplyMsg || !(*msg).queued_at.is_null() {
                enable();
                alert(AN_MSG_REPLY_TWICE);
                return null_mut();
            }
            let reply = (*msg).reply_port;
            if reply.is_null() {
                (*msg).node.kind = NodeType::FreeMsg;
            } else {
                (*msg).node.kind = NodeType::ReplyMsg;
                woken = hand_or_arrive(reply, msg);
            }
        }
        let next = receive(port, null_mut(), woken);
        enable();
        next
    }
}

/// Delivers `msg` at `port`: hands it over when the port's owner is blocked in do_msg or
/// reply_wait, still Waiting (a plain signal may have readied it meanwhile), at this port, for
/// this message or any, with nothing queued (so the order of arrival is kept); else links it
/// and performs the port's action ([`arrive`]). Result: the owner when the message was handed
/// to it (still Waiting, on no list: the caller wakes it), else null. Disable held.
///
/// # Safety
/// Disable held; `port` and `msg` are live and `msg` is on no list.
#[inline(always)]
pub(crate) unsafe fn hand_or_arrive(port: *mut MsgPort, msg: *mut Message) -> *mut Task {
    // SAFETY: per the contract; a Signal port's task is live while the port is.
    unsafe {
        let owner = (*port).sig_task;
        if (*port).action == PortAction::Signal
            && (*port).msg_list.is_empty()
            && (*owner).state == TaskState::Waiting
            && (*owner).recv_port == port
            && ((*owner).recv_want.is_null() || (*owner).recv_want == msg)
        {
            (*owner).handed = msg;
            return owner;
        }
        arrive(port, msg);
        null_mut()
    }
}

/// The receiving half of do_msg (`want`: that message) and reply_wait (`want` null: the first
/// message): takes the message off `port`, waiting for it to be queued there or handed over.
/// `woken` is null or a task the caller just handed a message to (Waiting, on no list): if the
/// caller blocks it may run at once ([`sched::block_and_run`]), else it is made ready.
/// Disable held.
///
/// # Safety
/// Disable held; `port` is live and signals the caller; `want` is null or a live message.
#[inline(always)]
pub(crate) unsafe fn receive(port: *mut MsgPort, want: *mut Message, mut woken: *mut Task) -> *mut Message {
    // SAFETY: per the contract; no reference to ExecBase or a task spans a switch.
    unsafe {
        loop {
            // Read afresh on each pass (cheap loads) rather than kept across the switch, which
            // would make the compiler save and reload them around it.
            let me = (*base()).this_task;
            let bit = 1u32 << (*port).sig_bit;
            let m = if want.is_null() {
                (*port).msg_list.head() as *mut Message
            } else if (*want).queued_at == port {
                want
            } else {
                null_mut()
            };
            if !m.is_null() {
                (*port).msg_list.remove(&mut (*m).node);
                (*m).queued_at = null_mut();
                // The signal the wait below may have spent belongs to what is still queued.
                if !(*port).msg_list.is_empty() {
                    (*me).sig_recvd |= bit;
                }
                if !woken.is_null() {
                    sched::make_ready(&mut *base(), woken);
                }
                return m;
            }
            // Nothing for us is queued: a signal pending for the port is spent.
            (*me).sig_recvd &= !bit;
            (*me).sig_wait = bit;
            (*me).recv_port = port;
            (*me).recv_want = want;
            (*me).state = TaskState::Waiting;
            if woken.is_null() {
                sched::block(me);
            } else {
                sched::block_and_run(me, woken);
                woken = null_mut();
            }
            // Running again: handed a message, or signalled that one was queued.
            // `sig_wait` keeps the last mask (read only while Waiting); `recv_port` must go,
            // or a later plain Wait would look like a receive at this port.
            (*me).recv_port = null_mut();
            let handed = core::mem::replace(&mut (*me).handed, null_mut());
            if !handed.is_null() {
                return handed;
            }
        }
    }
}

/// Where the assembly fast path's caller goes on when it was woken without a message (a
/// signal at its port: something was queued there): the rest of [`receive`], at the port and
/// for the message it waited for, then Enable. Disable held.
///
/// # Safety
/// Disable held; the running task blocked in the fast path and is running again, its
/// `recv_port` and `recv_want` still those it blocked with.
#[cfg(not(feature = "mmu"))]
pub(crate) unsafe extern "C" fn receive_resumed() -> *mut Message {
    // SAFETY: per the contract; the port and message were live when the task blocked and stay
    // so until it has taken the message (the callers' promise).
    unsafe {
        let me = (*base()).this_task;
        let port = (*me).recv_port;
        let want = (*me).recv_want;
        (*me).recv_port = null_mut();
        let m = receive(port, want, null_mut());
        enable();
        m
    }
}
