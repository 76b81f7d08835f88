//! A device's reply to a ring-3 request, at the task's own port: the shadow (the kernel's
//! request, which the device replied) told apart from other messages there, the task's request
//! given back in its place with the results copied in ([`delivered`]), and a reply port that
//! goes while requests are out ([`port_going`]).

use exec::device::IoRequest;
use exec::port::{Message, MsgPort};
use exec::sched::{forbid, permit};
use exec::task::Task;

use super::{EXTENSION, HANDLES, Handle, copy_out_under_forbid, of};

/// A shadow's message length (the kernel sets it, no device changes it).
pub(super) const SHADOW_LENGTH: usize = size_of::<IoRequest>() + EXTENSION;

/// The handle of `owner` whose shadow is `m`. Forbid held.
///
/// # Safety
/// `m` is a live message, at one of `owner`'s ports or just taken off one.
unsafe fn shadow(owner: impl FnOnce() -> *mut Task, m: *mut Message) -> Option<*mut Handle> {
    // SAFETY: `m` is live (the contract); a ring-0 sender's header is trusted for its length,
    // an envelope's and a shadow's are the kernel's. Most messages are told apart by it, without
    // a look at the task's handles (a ring-0 message to a ring-3 port takes this way).
    if unsafe { (*m).length } != SHADOW_LENGTH {
        return None;
    }
    // SAFETY: Forbid held; listed handles are live. At most DEVICES_PER_TASK of them.
    unsafe { (*HANDLES.get()).0.range(of(owner())).map(|(_, &h)| h).find(|&h| core::ptr::eq(&raw mut (*h).req.message, m)) }
}

/// Whether `m`, found at a port of `owner`, is the shadow of one of its device requests,
/// replied there. Forbid held.
///
/// # Safety
/// `m` is a live message, at one of `owner`'s ports or just taken off one.
pub(crate) unsafe fn is_shadow(owner: *mut Task, m: *mut Message) -> bool {
    // SAFETY: the caller's promise.
    unsafe { shadow(|| owner, m) }.is_some()
}

/// The caller took `m` off its own port (GetMsg, or a wait that takes): if it is the shadow of
/// one of its requests, the device's reply, the results and data are copied back into the
/// task's request (as check_io would) and its message header reads replied. Result: the
/// task's request's address, its message as the task sees it; `None` if `m` is no shadow of
/// the caller's. Forbid held.
///
/// # Safety
/// `m` is a live message the caller just took off one of its own ports.
pub(crate) unsafe fn delivered(m: *mut Message) -> Option<u64> {
    // SAFETY: the caller's promise.
    let h = unsafe { shadow(|| exec::task::find_task(None), m) }?;
    copy_out_under_forbid(h);
    // SAFETY: the only reference to the caller's space during this call; the handle is live.
    unsafe {
        if let Some(req) = crate::gate::my_space().and_then(|s| s.writable((*h).user, (*h).user_len)) {
            req.write(core::mem::offset_of!(IoRequest, message.node.kind) as u64, exec::list::NodeType::ReplyMsg);
        }
        Some((*h).user)
    }
}

/// The task's request whose shadow is `m`, at the caller's port (a WaitPort that finds it at
/// the head: it stays there for the GetMsg that follows). Forbid held.
///
/// # Safety
/// `m` is a live message at one of the caller's own ports.
pub(crate) unsafe fn request_of(m: *mut Message) -> Option<u64> {
    // SAFETY: the caller's promise; a listed handle is live.
    unsafe { shadow(|| exec::task::find_task(None), m).map(|h| (*h).user) }
}

/// The ring-3 `port` goes (deleted, or its owner ends): the owner's shadows that reply there
/// reply to their handle's own port from now on, on the same bit, so that no device replies
/// into a port that is gone. Taken under Disable (devices reply from interrupts); what was
/// replied there already is drained with the port's other messages and finished by check_io,
/// wait_io or close_device. Forbid held.
///
/// # Safety
/// `port` is a live port of a ring-3 task, about to be deleted.
pub(crate) unsafe fn port_going(port: *mut MsgPort) {
    // SAFETY: the caller's promise; the owner's listed handles are live.
    unsafe {
        let owner = (*port).sig_task;
        for (_, &h) in (*HANDLES.get()).0.range(of(owner)) {
            exec::sched::disable();
            if (*h).req.message.reply_port == port {
                (*h).req.message.reply_port = (*h).port;
            }
            exec::sched::enable();
        }
    }
}

/// How many of `task`'s device requests would reply to a port that is neither one of its live
/// ports nor their handle's own (for tests: a port deleted under a request must leave none).
pub fn replies_astray(task: *mut Task) -> usize {
    let live = crate::msg::live_ports(task);
    forbid();
    // SAFETY: Forbid held; listed handles are live.
    let n = unsafe {
        (*HANDLES.get()).0.range(of(task)).filter(|(_, h)| {
            let to = (*(**h)).req.message.reply_port;
            to != (*(**h)).port && !live.contains(&to)
        }).count()
    };
    permit();
    n
}
