//! Ring 3 to ring 0: a ring-3 task's message to a ring-0 task's public port.
//!
//! The ring-0 receiver gets a plain exec message, as from any ring-0 sender: a copy in kernel
//! memory (exec memory of the message's length) whose header the kernel wrote, with the
//! length and, as its reply port, the kernel's relay port. The sender's original stays lent
//! (it can be neither freed nor moved) until the reply is back. When the receiver replies, the
//! copy arrives at the relay port; the relay task copies its body back over the original, sends
//! the envelope to the reply port the sender named at put, and frees the copy. Ring 0 is trusted
//! with the copy (it is kernel code): it may read and write the body, and must reply it.
//!
//! Ring-0 ports are named to ring 3 by handles like ring-3 ones, but only a port its owner
//! opened to ring 3 (`open_to_ring3`: a ring-0 server that expects only trusted messages is
//! never reached). The handle goes when the port does: its owner's end (`reclaim`), or its
//! deletion (exec calls [`port_gone`]); what waits there then goes back to its
//! senders marked receiver-gone.
//!
//! A copy is kernel memory a ring-3 task makes the kernel take: it is charged to the sender's
//! family (its memory quota and the kernel's reserve, as the gate's other allocations), until
//! the relay frees it, and a message to a ring-0 port is at most [`TO_RING0_MAX`] bytes.
//!
//! What a ring-0 receiver that ends while it *holds* a copy leaves: the sender gets its message
//! back marked receiver-gone (`reclaim`), and the copy is never freed (the dead task never
//! replies it): a leak of its length, as any Exec server that dies holding a message leaves.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicUsize, Ordering};

use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};

use crate::uaccess::{UserRead, UserWrite};
use super::{Envelope, Kind, Records, State, send_back, with};

/// The longest message a ring-3 task may send to a ring-0 port.
pub const TO_RING0_MAX: u64 = 64 * 1024;

/// The relay's port (0 before [`start_relay`]): where ring-0 receivers' replies to ring-3
/// senders arrive.
static RELAY: AtomicUsize = AtomicUsize::new(0);

/// Starts the relay task (the boot order does, in the mmu build, before multitasking: the
/// relay makes its port when it first runs, before any other task does, by its priority; until
/// then a put to a ring-0 port is refused).
pub fn start_relay() {
    // Above ordinary tasks, so that a reply goes on to its sender at once.
    if exec::task::add_task("msg.relay", 10, relay, 0, 16 * 1024).is_null() {
        exec::kprintln!("mmu: the message relay did not start");
    }
}

fn relay(_: usize) {
    let port = exec::port::create_msg_port();
    if port.is_null() {
        return;
    }
    RELAY.store(port as usize, Ordering::SeqCst);
    loop {
        // SAFETY: our own port, which signals us.
        let copy = unsafe {
            exec::port::wait_port(port);
            exec::port::get_msg(port)
        };
        if copy.is_null() {
            continue;
        }
        let len = with(|r| {
            let (ticket, len, family) = r.kernel_copies.remove(&(copy as u64))?;
            crate::policy::uncharge(family, len);
            // SAFETY: a copy we made (listed), back from its receiver.
            let error = unsafe { (*copy).error };
            // Only a message still out goes back (the receiver's end may have sent it back).
            if r.envelopes.get(ticket).is_some_and(|e| e.state == State::Out) {
                send_back(r, ticket, error);
            }
            Some(len)
        });
        if let Some(len) = len {
            // SAFETY: our copy, from alloc_mem with this length, no longer referred to.
            unsafe { exec::memory::free_mem(copy as *mut u8, len as usize) };
        }
    }
}

/// The message at `msg` (`len` bytes, checked to be the sender's writable memory), to the
/// ring-0 `port`: copied into kernel memory charged to the sender's `family`, and put there,
/// its envelope `e` (made for its sender and receiver) kept in the records. Result: the
/// ticket, or the envelope back unused (too long, past the quota or the reserve, no memory,
/// or no relay yet). Forbid held.
pub(super) fn put(r: &mut Records, mut e: Box<Envelope>, port: *mut MsgPort, whole: UserRead, reply: u64, family: u64) -> Result<u64, Box<Envelope>> {
    let (msg, len) = (whole.addr(), whole.len());
    let (sender, receiver) = (e.sender, e.receiver);
    let relay = RELAY.load(Ordering::SeqCst) as *mut MsgPort;
    if relay.is_null() || len > TO_RING0_MAX || crate::policy::charge(family, len).is_err() {
        return Err(e);
    }
    let copy = exec::memory::alloc_mem(len as usize, MemFlags::PUBLIC) as *mut Message;
    if copy.is_null() {
        crate::policy::uncharge(family, len);
        return Err(e);
    }
    // SAFETY: a fresh block of `len` bytes; then the kernel's own header over the copy's.
    unsafe {
        whole.copy_to_kernel(0, copy as *mut u8, len);
        copy.write(Message::new(relay, len as usize));
    }
    exec::events::count(&exec::events::BYTES_COPIED, len);
    *e = Envelope {
        msg: Message::new(core::ptr::null_mut(), size_of::<Envelope>()),
        ticket: 0,
        view: copy as u64,
        // Counted by the caller once the put is through.
        loan: 0,
        len,
        sender,
        receiver,
        reply,
        kind: Kind::ToRing0 { original: msg },
        state: State::Out,
        taken: true,
        held_at: 0,
        sent_at: 0,
        lent: 0,
    };
    let e_ptr = &raw mut *e;
    let ticket = r.envelopes.insert(e);
    // SAFETY: the box lives in the records; nothing else refers to it yet.
    unsafe { (*e_ptr).ticket = ticket };
    r.kernel_copies.insert(copy as u64, (ticket, len, family));
    // SAFETY: a live ring-0 port (its handle is dropped before it goes); the copy is ours.
    unsafe { exec::port::put_msg(port, copy) };
    Ok(ticket)
}

/// The task number of the ring-3 task that sent `m`, if `m` is a copy the kernel made for a
/// ring-0 receiver (0 if that sender has ended, or its message is done with); `None` for any
/// other message (a ring-0 sender's, trusted). A ring-0 server that serves only some tasks
/// checks this: the number is the kernel's record, not anything the sender wrote.
pub fn ring3_sender(m: *const Message) -> Option<u64> {
    with(|r| {
        let &(ticket, _, _) = r.kernel_copies.get(&(m as u64))?;
        // A copy whose envelope has gone is still ring 3's: it answers as an ended sender.
        let Some(e) = r.envelopes.get(ticket).filter(|e| e.state == State::Out && !matches!(e.kind, Kind::Orphan { .. })) else { return Some(0) };
        // SAFETY: the sender of a message out that is not an orphan's is live.
        Some(unsafe { (*e.sender).id() })
    })
}

/// The reply of a copy: its body back over the sender's `original` (checked writable by the
/// caller just now). Forbid held.
pub(super) fn copy_back(e: &Envelope, original: UserWrite, error: i32) {
    if error == 0 {
        // SAFETY: the copy is live until the relay frees it (after this).
        unsafe { super::reply::copy_body_back(e, original) };
    }
}

/// A ring-0 port is going (exec deletes it): its handle goes, and what waits there goes back
/// to its senders marked receiver-gone. Called by exec (the mmu build) for every port it
/// deletes.
///
/// # Safety
/// `port` is live until this returns.
pub unsafe fn port_gone(port: *mut MsgPort) {
    with(|r| {
        if let Some(h) = r.handles.get(&(port as usize)).copied()
            && r.ports.get(h).is_some_and(|p| p.port == port)
        {
            r.remove_port(h);
            super::drain(r, port);
        }
    });
}
