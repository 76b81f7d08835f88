//! Message ports and messages: put_msg, get_msg, reply_msg, wait_port, and public named ports
//! (the combined calls, do_msg and reply_wait, are `port/combined.rs`).
//!
//! A message is passed by pointer: `put_msg` links the sender's message into the port's list
//! and never copies it. The message's node kind records its life (Message after a put,
//! ReplyMsg after a reply), so a message put while still queued, or replied twice, raises an
//! alert and is refused instead of corrupting a list.
//!
//! Port message lists are guarded by Disable (interrupts may put messages); the public port
//! list by Forbid.

use core::ptr::null_mut;

use crate::alert::{AN_MSG_PUT_TWICE, AN_MSG_REPLY_TWICE, alert};
use crate::execbase::base;
use crate::interrupts::{Interrupt, cause_disabled};
use crate::list::{List, Node, NodeType};
use crate::memory::{self, MemFlags};
use crate::sched::{disable, enable, forbid, permit};
use crate::signal::{alloc_signal, free_signal, signal_disabled, wait};
use crate::task::Task;

mod combined;
pub use combined::{do_msg, reply_wait};
pub(crate) use combined::{do_msg_entry, reply_wait_entry};
// The mmu build's ring-3 entries (`port_ring3`) use exec's hand-over and receive; the flat
// build's assembly fast path jumps to the Rust paths and resumes a woken caller.
#[cfg(feature = "mmu")]
pub(crate) use combined::{hand_or_arrive, receive};
#[cfg(not(feature = "mmu"))]
pub(crate) use combined::{do_msg_general, receive_resumed, reply_wait_general};

/// What a port does when a message arrives (Exec's `mp_Flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PortAction {
    /// Signal `sig_task` with `sig_bit`.
    Signal = 0,
    /// Cause the software interrupt `soft_int`.
    SoftInt = 1,
    /// Nothing: the owner polls.
    Ignore = 2,
}

/// A message port (Exec's `struct MsgPort`).
#[repr(C)]
pub struct MsgPort {
    /// In the public port list when added; kind MsgPort; name.
    pub node: Node,
    pub action: PortAction,
    pub sig_bit: u8,
    /// The task signalled (PortAction::Signal); also the port's owner.
    pub sig_task: *mut Task,
    /// The interrupt caused (PortAction::SoftInt).
    pub soft_int: *mut Interrupt,
    /// Messages waiting. Disable.
    pub msg_list: List,
    public: bool,
    /// The name given by [`create_port`], which the node's name points at.
    name_buf: [u8; PORT_NAME_MAX],
}

/// Longest name [`create_port`] takes.
pub const PORT_NAME_MAX: usize = 32;

/// A message header (Exec's `struct Message`); the sender's data follows it.
#[repr(C)]
pub struct Message {
    pub node: Node,
    /// Where reply_msg sends it; null for a message that needs no reply.
    pub reply_port: *mut MsgPort,
    /// Bytes of the whole message, header included.
    pub length: usize,
    /// 0, or why the message came back unanswered ([`MSG_ERR_RECEIVER_GONE`]).
    pub error: i32,
    /// The port whose list holds it, null while it is held by a task. Disable.
    pub(crate) queued_at: *mut MsgPort,
}

// SAFETY: a message moves between tasks by design (put by one, got and replied by another);
// its links and `queued_at` are guarded by Disable, the rest belongs to its current holder.
unsafe impl Send for Message {}

/// A message's receiver ended (in mmu-mode: faulted and was removed) before replying; exec
/// returned the message to its sender.
pub const MSG_ERR_RECEIVER_GONE: i32 = -1;
/// mmu-mode: a ring-0 task's message to a ring-3 task's port could not be copied into the
/// receiver's memory (no room there, too long, or looked at with wait_port rather than
/// taken); it came back unread.
pub const MSG_ERR_CROSS_RING: i32 = -2;

impl Message {
    /// A fresh message that replies to `reply_port`.
    pub const fn new(reply_port: *mut MsgPort, length: usize) -> Self {
        Message { node: Node::new(NodeType::FreeMsg, 0), reply_port, length, error: 0, queued_at: null_mut() }
    }
}

impl MsgPort {
    /// A port that signals `task` with `sig_bit`, not public.
    pub const fn new(task: *mut Task, sig_bit: u8) -> Self {
        MsgPort {
            node: Node::new(NodeType::MsgPort, 0),
            action: PortAction::Signal,
            sig_bit,
            sig_task: task,
            soft_int: null_mut(),
            msg_list: List::new(NodeType::Message),
            public: false,
            name_buf: [0; PORT_NAME_MAX],
        }
    }
}

/// Creates a port owned by the caller, signalling it on a newly allocated signal bit.
/// Result: the port, or null when no signal bit or memory is left. The port is freed when the
/// task ends. Not callable from an interrupt.
pub fn create_msg_port() -> *mut MsgPort {
    let bit = alloc_signal(-1);
    if bit < 0 {
        return null_mut();
    }
    let port = memory::alloc_mem(size_of::<MsgPort>(), MemFlags::CLEAR) as *mut MsgPort;
    if port.is_null() {
        free_signal(bit);
        return null_mut();
    }
    // SAFETY: fresh memory of the right size and alignment.
    unsafe { port.write(MsgPort::new(crate::task::find_task(None), bit as u8)) };
    port
}

/// The signal mask port `port` signals its task with (the Amiga's `1 << mp_SigBit`): how a task
/// waits for its port and for other signals at once. In ring 3 (mmu build) a port is a handle,
/// and only the caller's own port answers (else 0). Callable from an interrupt (ring 0).
///
/// # Safety
/// `port` is a live port.
pub unsafe fn port_signal(port: *mut MsgPort) -> u32 {
    // SAFETY: a live port (caller).
    1 << unsafe { (*port).sig_bit }
}

/// Creates a port owned by the caller (as [`create_msg_port`]) and, when `name` is given, makes
/// it public under that name at priority `pri` (amiga.lib's CreatePort). The name is copied
/// into the port, so it need not outlive the call. Result: the port, or null when no signal
/// bit or memory is left or the name is longer than [`PORT_NAME_MAX`] bytes. Delete it with
/// [`delete_msg_port`]. Not callable from an interrupt.
pub fn create_port(name: Option<&str>, pri: i8) -> *mut MsgPort {
    if name.is_some_and(|n| n.len() > PORT_NAME_MAX) {
        return null_mut();
    }
    let port = create_msg_port();
    if let Some(name) = name
        && !port.is_null()
    {
        // SAFETY: a port just made by create_msg_port, not shared yet; the bytes are copied
        // from a str and the name lives in the port with its node.
        unsafe {
            let p = &mut *port;
            p.name_buf[..name.len()].copy_from_slice(name.as_bytes());
            let copy = &p.name_buf[..name.len()];
            p.node.set_name(core::str::from_utf8_unchecked(copy));
            p.node.pri = pri;
            add_port(port);
        }
    }
    port
}

/// Deletes a port from [`create_msg_port`]: takes it off the public list if it is there, frees
/// its signal (when the caller owns the port: a port deleted at its owner's end by another
/// task leaves the ending owner's bit alone, not the caller's) and memory. Null does nothing.
/// Messages still queued are not replied by exec (in the mmu build, mmu-mode sends back those
/// it knows, to their ring-3 senders, marked receiver-gone, before the port goes).
///
/// # Safety
/// `port` is null or came from `create_msg_port` of the calling task, or of a task being ended,
/// and is not used after.
pub unsafe fn delete_msg_port(port: *mut MsgPort) {
    if port.is_null() {
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        // mmu-mode forgets a handle it gave ring 3 for the port, and sends back what waits.
        #[cfg(feature = "mmu")]
        crate::entry::port_gone(port);
        if (*port).public {
            rem_port(port);
        }
        (*port).node.kind = NodeType::Unknown;
        if (*port).sig_task == (*base()).this_task {
            free_signal((*port).sig_bit as i32);
        }
        memory::free_mem(port as *mut u8, size_of::<MsgPort>());
    }
}

/// Makes `port` public under its node's name (sorted by priority), so find_port finds it.
///
/// # Safety
/// `port` is a live port, not public yet, that outlives its public life.
pub unsafe fn add_port(port: *mut MsgPort) {
    forbid();
    // SAFETY: Forbid held; `port` live (caller).
    unsafe {
        (*port).public = true;
        (*base()).port_list.enqueue(&mut (*port).node);
    }
    permit();
}

/// Takes `port` off the public list.
///
/// # Safety
/// `port` is a live public port.
pub unsafe fn rem_port(port: *mut MsgPort) {
    forbid();
    // SAFETY: Forbid held; `port` live and public (caller).
    unsafe {
        if (*port).public {
            (*base()).port_list.remove(&mut (*port).node);
            (*port).public = false;
        }
    }
    permit();
}

/// The public port named `name`, or null. Call under Forbid if you will use the port after.
pub fn find_port(name: &str) -> *mut MsgPort {
    forbid();
    // SAFETY: Forbid held.
    let p = unsafe { (*base()).port_list.find_name(name) } as *mut MsgPort;
    permit();
    p
}

/// Sends `msg` to `port` by linking it in (never a copy), then acts as the port says (signal,
/// software interrupt, or nothing). A message already queued somewhere raises a recoverable
/// alert (`AN_MSG_PUT_TWICE`) and is not sent. Callable from an interrupt.
///
/// # Safety
/// `port` and `msg` are live; the message stays valid until it is replied or taken.
pub unsafe fn put_msg(port: *mut MsgPort, msg: *mut Message) {
    disable();
    // SAFETY: Disable held; pointers live (caller).
    unsafe {
        if !(*msg).queued_at.is_null() {
            enable();
            return alert(AN_MSG_PUT_TWICE);
        }
        (*msg).node.kind = NodeType::Message;
        arrive(port, msg);
    }
    enable();
}

/// Links `msg` into `port` and performs the port's action. Disable held.
///
/// # Safety
/// Disable held; `port` and `msg` are live and `msg` is on no list.
#[inline(always)]
unsafe fn arrive(port: *mut MsgPort, msg: *mut Message) {
    // SAFETY: per the callers.
    unsafe {
        (*msg).queued_at = port;
        (*port).msg_list.add_tail(&mut (*msg).node);
        match (*port).action {
            PortAction::Signal => signal_disabled((*port).sig_task, 1 << (*port).sig_bit),
            PortAction::SoftInt => cause_disabled((*port).soft_int),
            PortAction::Ignore => {}
        }
    }
}

/// Takes the first message off `port`. Result: the message, or null if none is waiting.
/// Callable from an interrupt.
///
/// # Safety
/// `port` is live.
pub unsafe fn get_msg(port: *mut MsgPort) -> *mut Message {
    disable();
    // SAFETY: Disable held; `port` live.
    let m = unsafe {
        let m = (*port).msg_list.rem_head() as *mut Message;
        if let Some(m) = m.as_mut() {
            m.queued_at = null_mut();
        }
        m
    };
    enable();
    m
}

/// Takes `msg` off `port` wherever it is in the queue (wait_io's Remove). Disable held.
///
/// # Safety
/// `msg` is live; if it is queued, it is queued at `port`.
pub(crate) unsafe fn remove_queued(port: *mut MsgPort, msg: *mut Message) {
    // SAFETY: per the contract.
    unsafe {
        if (*msg).queued_at == port {
            (*port).msg_list.remove(&mut (*msg).node);
            (*msg).queued_at = null_mut();
        }
    }
}

/// Returns `msg` to its reply port (or just ends it when it has none). Replying a message
/// twice, or one still queued, raises a recoverable alert (`AN_MSG_REPLY_TWICE`) and does
/// nothing. Callable from an interrupt.
///
/// # Safety
/// `msg` is live and was received by the caller.
pub unsafe fn reply_msg(msg: *mut Message) {
    disable();
    // SAFETY: Disable held; `msg` live.
    unsafe {
        if (*msg).node.kind == NodeType::ReplyMsg || !(*msg).queued_at.is_null() {
            enable();
            return alert(AN_MSG_REPLY_TWICE);
        }
        let port = (*msg).reply_port;
        if port.is_null() {
            (*msg).node.kind = NodeType::FreeMsg;
        } else {
            (*msg).node.kind = NodeType::ReplyMsg;
            arrive(port, msg);
        }
    }
    enable();
}

/// Waits until `port` has a message; returns the first one *without* taking it off (use
/// get_msg). Not callable from an interrupt.
///
/// # Safety
/// `port` is live and signals the caller.
pub unsafe fn wait_port(port: *mut MsgPort) -> *mut Message {
    loop {
        // SAFETY: `port` live; only the head is read, in one load (an interrupt may link a
        // message meanwhile).
        let head = unsafe { List::head_volatile(&raw const (*port).msg_list) };
        if !head.is_null() {
            return head as *mut Message;
        }
        // SAFETY: as above.
        wait(1 << unsafe { (*port).sig_bit });
    }
}

/// Returns `msg`, held by a task that ended, to its sender marked [`MSG_ERR_RECEIVER_GONE`].
/// Disable held.
///
/// # Safety
/// Disable held; `msg` is live and on no list; its reply port, if any, is live.
unsafe fn return_unanswered(msg: *mut Message) {
    // SAFETY: per the contract.
    unsafe {
        (*msg).error = MSG_ERR_RECEIVER_GONE;
        let reply = (*msg).reply_port;
        if reply.is_null() {
            (*msg).node.kind = NodeType::FreeMsg;
        } else {
            (*msg).node.kind = NodeType::ReplyMsg;
            arrive(reply, msg);
        }
    }
}

/// Takes the public ports `task` owns off the port list, and returns to their senders, marked
/// [`MSG_ERR_RECEIVER_GONE`], the messages queued there and one handed to it directly (by
/// do_msg or reply_wait) that it never ran to take: nobody waits forever for a reply from a
/// task that has ended. Replies coming back to it, and messages whose reply port is the port
/// being emptied, end there. Disable held (task end).
///
/// # Safety
/// Disable held; `task` is live and ending.
pub(crate) unsafe fn reclaim_task(task: *mut Task) {
    // SAFETY: Disable held (covers Forbid); ports on the list are live, so are messages
    // queued or handed (senders keep them until they come back). The successor is read
    // before a port is unlinked.
    unsafe {
        let handed = core::mem::replace(&mut (*task).handed, null_mut());
        if !handed.is_null() {
            return_unanswered(handed);
        }
        let eb = &mut *base();
        let mut at = eb.port_list.head();
        while !at.is_null() {
            let next = (*at).succ;
            let p = at as *mut MsgPort;
            if (*p).sig_task == task {
                eb.port_list.remove(at);
                (*p).public = false;
                loop {
                    let m = (*p).msg_list.rem_head() as *mut Message;
                    if m.is_null() {
                        break;
                    }
                    (*m).queued_at = null_mut();
                    // A reply coming back to the ending task, or a message that would come back
                    // to this very port, ends here (sent back, it would be linked on again).
                    if (*m).node.kind != NodeType::ReplyMsg && (*m).reply_port != p {
                        return_unanswered(m);
                    }
                }
            }
            at = next;
        }
    }
}

/// Calls `f` for every public port (under Forbid: `f` must not call exec).
pub fn for_each_port(mut f: impl FnMut(&MsgPort)) {
    forbid();
    // SAFETY: Forbid held; listed ports are live.
    unsafe {
        for n in (*base()).port_list.iter() {
            f(&*(n as *const MsgPort));
        }
    }
    permit();
}

impl MsgPort {
    /// Messages waiting (walks the list; under Disable).
    pub fn pending(&self) -> usize {
        disable();
        let n = self.msg_list.len();
        enable();
        n
    }
}
