//! Messages between ring-3 tasks, in one address space, two ways:
//!
//! - **copy**: put_msg copies the message into memory the receiver owns (a new block open to
//!   it alone); reply_msg copies it back over the sender's original and frees the copy. Any
//!   message in the sender's writable memory can go this way. Costs grow with the size.
//! - **transfer**: a message that is a whole block the sender allocated through the gate moves:
//!   its pages close to the sender and open to the receiver, at the same address; reply_msg
//!   moves them back. Costs grow with the number of pages, not the bytes.
//!
//! A program chooses per put ([`PUT_COPY`] or [`PUT_TRANSFER`]): transfer for large messages
//! it allocated for the purpose, copy for small ones or ones that live among other data.
//! Every port and message pointer is an allegation, checked before use. The records are
//! guarded by Forbid.

use alloc::vec::Vec;

use exec::global::Global;
use exec::port::{Message, MsgPort};
use exec::sched::{forbid, permit};
use exec::task::Task;
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;

use crate::pte::Access;
use crate::records::Records;
use crate::space::Space;

pub use exec::sys_gate::{PUT_AUTO, PUT_COPY, PUT_TRANSFER};

/// How [`get`] takes a message.
pub enum Get {
    /// The first message, or none (get_msg).
    Take,
    /// Waits for a message and takes it (one call where exec needs wait_port + get_msg).
    WaitTake,
    /// Waits for a message and returns it, leaving it queued (exec's wait_port).
    WaitPeek,
}

#[derive(Clone, Copy)]
enum Kind {
    /// The receiver holds `at`, a copy of the sender's `original`.
    Copy { original: u64 },
    /// The receiver holds the pages at `at` themselves.
    Transfer,
    /// The sender ended first: the receiver keeps what it holds (a transferred block became
    /// its own memory); the reply goes nowhere.
    Orphan,
}

/// A message in flight between ring-3 tasks.
#[derive(Clone, Copy)]
struct Held {
    at: u64,
    len: u64,
    sender: *mut Task,
    receiver: *mut Task,
    kind: Kind,
}

/// Messages in flight, and the ports ring-3 tasks may use. Forbid.
static HELD: Global<Records<Held>> = Global::new(Records::new());
static PORTS: Global<Records<*mut MsgPort>> = Global::new(Records::new());

/// `t`'s address space (none for a ring-0 task).
///
/// # Safety
/// `t` is a live task, and no other reference to its space is alive while the result is used
/// (a message to the sender's own port has one space on both ends: take it for one end, let it
/// go, then take it for the other).
unsafe fn space_of<'a>(t: *mut Task) -> Option<&'a mut Space> {
    // SAFETY: per the contract; `space` is 0 or a Space that lives with the task.
    unsafe { ((*t).space() as *mut Space).as_mut() }
}

fn me() -> *mut Task {
    exec::task::find_task(None)
}

/// Creates a port for the calling task, public under `name` if given. Result: its handle, or
/// 0 (no signal or memory left, or the name too long).
pub fn create_port(name: Option<&str>, pri: i8) -> GateResult {
    let p = exec::port::create_port(name, pri);
    if !p.is_null() {
        forbid();
        // SAFETY: Forbid held.
        unsafe { (*PORTS.get()).push(p) };
        permit();
    }
    Ok(p as u64)
}

/// Deletes the caller's port `h`. Result: 0, or ERR_BAD_POINTER if it is not one of its ports.
pub fn delete_port(h: u64) -> GateResult {
    let Some(port) = port(h) else { return Err(BadPointer) };
    // SAFETY: a listed port is live.
    if unsafe { (*port).sig_task } != me() {
        return Err(BadPointer);
    }
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*PORTS.get()).retain(|&p| p != port) };
    permit();
    // SAFETY: the caller's own port from create_port, no longer listed.
    unsafe { exec::port::delete_msg_port(port) };
    Ok(0)
}

/// Takes the caller's port `h` off the public list. Result: 0, or ERR_BAD_POINTER.
pub fn rem_port(h: u64) -> GateResult {
    let Some(port) = port(h) else { return Err(BadPointer) };
    // SAFETY: a listed port is live.
    if unsafe { (*port).sig_task } != me() {
        return Err(BadPointer);
    }
    // SAFETY: the caller's live port; rem_port ignores a port that is not public.
    unsafe { exec::port::rem_port(port) };
    Ok(0)
}

/// The first port ring-3 task `task` created (for its parent, in the kernel), if any.
pub fn port_of(task: *mut Task) -> Option<u64> {
    forbid();
    // SAFETY: Forbid held; listed ports are live.
    let p = unsafe { (*PORTS.get()).iter().find(|&&p| (*p).sig_task == task).copied() };
    permit();
    p.map(|p| p as u64)
}

/// The port behind handle `h`, if it is one a ring-3 task created and it still exists.
fn port(h: u64) -> Option<*mut MsgPort> {
    forbid();
    // SAFETY: Forbid held.
    let ok = unsafe { (*PORTS.get()).iter().any(|&p| p as u64 == h) };
    permit();
    ok.then_some(h as *mut MsgPort)
}

/// Sends the message at `msg` (in the caller's memory) to port `h`, by copy or transfer.
/// Result: 0, or `crate::gate::ERR_BAD_POINTER` for a bad port or message.
pub fn put(h: u64, msg: u64, how: u64) -> GateResult {
    let Some(port) = port(h) else { return Err(BadPointer) };
    let sender = me();
    // SAFETY: the running task; the only reference to its space until `theirs` is taken.
    let Some(mine) = (unsafe { space_of(sender) }) else { return Err(BadPointer) };
    let header = size_of::<Message>() as u64;
    if !mine.user_writable(msg, header) {
        return Err(BadPointer);
    }
    // SAFETY: the header lies in the sender's writable memory (checked); the kernel maps it.
    let len = unsafe { (*(msg as *const Message)).length as u64 };
    if len < header || len > 64 << 20 || !mine.user_writable(msg, len) {
        return Err(BadPointer);
    }
    // SAFETY: a listed port is live; its owner task too.
    let receiver = unsafe { (*port).sig_task };
    // SAFETY: as above; only whether it has a space is read here.
    if unsafe { (*receiver).space() } == 0 {
        return Err(BadPointer);
    }
    let pages = len.div_ceil(4096) * 4096;
    let how = match how {
        PUT_AUTO if msg.is_multiple_of(4096) && mine.owns_block(msg, pages) => PUT_TRANSFER,
        PUT_AUTO => PUT_COPY,
        other => other,
    };
    forbid();
    let held = match how {
        PUT_COPY => {
            // SAFETY: a live task with a space (checked); `mine` is not used from here on.
            let Some(copy) = unsafe { space_of(receiver) }.and_then(|theirs| theirs.alloc(len)) else {
                permit();
                return Err(BadPointer);
            };
            // SAFETY: both ranges are exec memory of `len` bytes (checked/just allocated).
            unsafe { core::ptr::copy_nonoverlapping(msg as *const u8, copy as *mut u8, len as usize) };
            Held { at: copy, len, sender, receiver, kind: Kind::Copy { original: msg } }
        }
        PUT_TRANSFER => {
            if !msg.is_multiple_of(4096) || !mine.owns_block(msg, pages) {
                permit();
                return Err(BadPointer);
            }
            mine.set_access(msg, msg + pages, Access::Kernel);
            // SAFETY: as above; `mine` is not used from here on.
            if let Some(theirs) = unsafe { space_of(receiver) } {
                theirs.set_access(msg, msg + pages, Access::ReadWrite);
            }
            Held { at: msg, len: pages, sender, receiver, kind: Kind::Transfer }
        }
        _ => {
            permit();
            return Err(BadPointer);
        }
    };
    // SAFETY: Forbid held.
    unsafe { (*HELD.get()).push(held) };
    permit();
    // SAFETY: the port is live; the message (copy or moved pages) stays valid until replied.
    unsafe { exec::port::put_msg(port, held.at as *mut Message) };
    Ok(0)
}

/// Takes (or, waiting, looks at) the first message of port `h`, which must be the caller's.
/// Result: its address (open to the caller), 0 if none, or ERR_BAD_POINTER.
pub fn get(h: u64, how: Get) -> GateResult {
    let Some(port) = port(h) else { return Err(BadPointer) };
    // SAFETY: a listed port is live.
    if unsafe { (*port).sig_task } != me() {
        return Err(BadPointer);
    }
    // SAFETY: the port is the caller's and live.
    Ok(unsafe {
        match how {
            Get::Take => exec::port::get_msg(port) as u64,
            Get::WaitTake => {
                exec::port::wait_port(port);
                exec::port::get_msg(port) as u64
            }
            Get::WaitPeek => exec::port::wait_port(port) as u64,
        }
    })
}

/// Replies the message at `msg`, which the caller must hold: a copy is copied back and freed,
/// transferred pages go back to the sender. A message the caller does not hold (replied
/// already, or never received) is refused with ERR_BAD_POINTER.
pub fn reply(msg: u64) -> GateResult {
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let held = unsafe { &mut *HELD.get() };
    let Some(i) = held.iter().position(|h| h.at == msg && h.receiver == me) else {
        permit();
        return Err(BadPointer);
    };
    let h = held.swap_remove(i);
    // SAFETY: the receiver is the caller (live); the only reference to its space until it is
    // let go below, before the sender's is taken.
    let theirs = unsafe { space_of(h.receiver) };
    let target = match h.kind {
        Kind::Orphan => {
            permit();
            return Ok(0);
        }
        Kind::Copy { original } => {
            // SAFETY: the copy and the original are live exec memory of `len` bytes.
            unsafe { core::ptr::copy_nonoverlapping(h.at as *const u8, original as *mut u8, h.len as usize) };
            if let Some(t) = theirs {
                t.free(h.at);
            }
            original
        }
        Kind::Transfer => {
            if let Some(t) = theirs {
                t.set_access(h.at, h.at + h.len, Access::Kernel);
            }
            // SAFETY: the sender is live (its end turns its messages into orphans); `theirs`
            // is no longer used.
            if let Some(s) = unsafe { space_of(h.sender) } {
                s.set_access(h.at, h.at + h.len, Access::ReadWrite);
            }
            h.at
        }
    };
    permit();
    // SAFETY: the message is the sender's again, valid; its reply port is the sender's.
    unsafe { exec::port::reply_msg(target as *mut Message) };
    Ok(0)
}

/// Whether the caller has lent the block at `addr` to another task by transfer (it may not
/// free it until the reply).
pub fn lent_out(addr: u64) -> bool {
    let me = me();
    forbid();
    // SAFETY: Forbid held.
    let lent = unsafe { (*HELD.get()).iter().any(|h| h.sender == me && h.at == addr && matches!(h.kind, Kind::Transfer)) };
    permit();
    lent
}

/// Task end: every message the task held, or that waited at its ports, goes back to its
/// sender marked [`exec::port::MSG_ERR_RECEIVER_GONE`] (so nobody waits for a reply forever);
/// then its ports are forgotten. Messages the task sent and that are still out become
/// orphans: a receiver keeps its copy, and a transferred block moves from `dying` (the task's
/// space, already detached from it) to the receiver's, so that nothing it can still reach is
/// freed under it. Disable held.
pub fn reclaim(task: *mut Task, mut dying: Option<&mut Space>) {
    forbid();
    // SAFETY: Forbid held; the entries' receivers are live (their end removes their entries).
    unsafe {
        for h in (*HELD.get()).iter_mut().filter(|h| h.sender == task && h.receiver != task) {
            if matches!(h.kind, Kind::Transfer) {
                let block = dying.as_deref_mut().and_then(|s| s.give_away(h.at));
                // The receiver is another live task: its space is not `dying`.
                if let (Some(b), Some(r)) = (block, space_of(h.receiver)) {
                    r.adopt(b);
                }
            }
            h.kind = Kind::Orphan;
        }
    }
    // SAFETY: Forbid held; listed ports are live until their owner's memory goes (after this).
    let (held, queued) = unsafe {
        let mut queued: Vec<*mut Message> = Vec::new();
        for &p in (*PORTS.get()).iter().filter(|&&p| (*p).sig_task == task) {
            loop {
                let m = exec::port::get_msg(p);
                if m.is_null() {
                    break;
                }
                queued.push(m);
            }
        }
        let list = &mut *HELD.get();
        let mut held = Vec::new();
        list.retain(|h| {
            let mine = h.receiver == task || queued.contains(&(h.at as *mut Message));
            if mine {
                held.push(*h);
            }
            !mine
        });
        queued.retain(|&m| !held.iter().any(|h| h.at == m as u64));
        (*PORTS.get()).retain(|&p| (*p).sig_task != task);
        (held, queued)
    };
    permit();
    for h in held {
        let back = match h.kind {
            // Its sender is gone too: nobody to return it to.
            Kind::Orphan => continue,
            // The copy goes with the receiver's space; the original was never touched.
            Kind::Copy { original } => original,
            Kind::Transfer => {
                // SAFETY: the sender is live (not an orphan); the only reference to its space.
                if let Some(s) = unsafe { space_of(h.sender) } {
                    s.set_access(h.at, h.at + h.len, Access::ReadWrite);
                }
                h.at
            }
        };
        return_to_sender(back as *mut Message);
    }
    for m in queued {
        return_to_sender(m);
    }
}

fn return_to_sender(m: *mut Message) {
    // SAFETY: the message is the sender's (live until replied) and no longer queued or held.
    unsafe {
        (*m).error = exec::port::MSG_ERR_RECEIVER_GONE;
        exec::port::reply_msg(m);
    }
}
