//! mmu-mode's entries into the message machinery of `port.rs`: the kernel's envelopes for
//! ring-3 messages travel through exec's ports like any message, and the combined gate calls
//! use exec's hand-over and direct switch (a receiver blocked at the destination takes the
//! envelope without a queue, and runs at once when nothing ready outranks it), as the flat
//! build's do_msg and reply_wait do.

use core::ptr::null_mut;

use crate::list::NodeType;
use crate::port::{Message, MsgPort, hand_or_arrive, receive};
use crate::sched::{disable, enable};
use crate::task::Task;

/// Delivers `msg` at `port` (handed to the port's owner when it is blocked receiving there, as
/// in do_msg; else queued, the port's action performed), then takes `want` (do_msg: the
/// message that was sent, come back; null: the first message, as reply_wait takes) off
/// `reply`, waiting for it to be queued there or handed over: the two halves in one
/// Disable, so that the owner woken by the hand-over is run directly when the caller blocks
/// and no ready task ranks with or above it (else it is made ready, behind its equals).
/// Result: the message taken. The caller may hold Forbid (waiting breaks it, as Wait does,
/// and it holds again when the caller runs). Not callable from an interrupt (it waits).
///
/// # Safety
/// `port` and `reply` are live, `reply` signals the caller; `msg` is live and on no list, and
/// stays valid until it is taken; `want` is null or a live message.
pub unsafe fn put_and_receive(port: *mut MsgPort, msg: *mut Message, reply: *mut MsgPort, want: *mut Message) -> *mut Message {
    disable();
    // SAFETY: Disable held, per the contract.
    let m = unsafe {
        (*msg).node.kind = NodeType::Message;
        let woken = hand_or_arrive(port, msg);
        receive(reply, want, woken)
    };
    enable();
    m
}

/// Takes the first message at `port` off it, waiting for one to be queued there or handed
/// over (see [`put_and_receive`]). The caller may hold Forbid, as there. Not callable from an
/// interrupt (it waits).
///
/// # Safety
/// `port` is live and signals the caller.
pub unsafe fn receive_first(port: *mut MsgPort) -> *mut Message {
    disable();
    // SAFETY: Disable held, per the contract.
    let m = unsafe { receive(port, null_mut(), null_mut()) };
    enable();
    m
}

/// Takes `want` off `port`, waiting for it to be queued there or handed over (see
/// [`put_and_receive`]; [`receive_first`] when any message will do). The caller may hold Forbid, as there. Not callable
/// from an interrupt (it waits).
///
/// # Safety
/// `port` is live and signals the caller; `want` is null or a live message.
pub unsafe fn receive_at(port: *mut MsgPort, want: *mut Message) -> *mut Message {
    disable();
    // SAFETY: Disable held, per the contract.
    let m = unsafe { receive(port, want, null_mut()) };
    enable();
    m
}

/// The message handed to `task` that it never ran to take (it ends), or null: looked at, left
/// in place. Disable held.
///
/// # Safety
/// Disable held; `task` is live.
pub unsafe fn handed(task: *mut Task) -> *mut Message {
    // SAFETY: per the contract.
    unsafe { (*task).handed }
}

/// Takes the message [`handed`] names from `task`, so that mmu-mode can send an envelope back
/// (it has no reply port for exec's task end to return it to); a ring-0 message is left to exec,
/// which returns it to its reply port. Disable held.
///
/// # Safety
/// Disable held; `task` is live and ending.
pub unsafe fn take_handed(task: *mut Task) {
    // SAFETY: per the contract.
    unsafe { (*task).handed = null_mut() };
}

/// Puts `msg`, just taken off `port`'s head to be looked at, back at the head, so that it is
/// still the next one taken (no signal: it was there before). Callable from an interrupt.
///
/// # Safety
/// `port` is live; `msg` is live and on no list.
pub unsafe fn unget_msg(port: *mut MsgPort, msg: *mut Message) {
    disable();
    // SAFETY: Disable held; pointers live (caller).
    unsafe {
        (*msg).node.kind = NodeType::Message;
        (*msg).queued_at = port;
        (*port).msg_list.add_head(&mut (*msg).node);
    }
    enable();
}
