//! Ring 0 to ring 3: a ring-0 task's plain exec message, taken by a ring-3 task, is copied
//! into the taker's memory and wrapped in an envelope of [`Kind::Kernel`]; `send_back` copies
//! its body back and replies the original through exec.

use alloc::boxed::Box;

use exec::list::Node;
use exec::port::Message;

use crate::uaccess::UserWrite;
use super::{Envelope, HEADER, Kind, MAX_LEN, Records, State, me, recycle, space_of};

/// Sends a ring-0 task's message back unread, marked `error`.
pub(super) fn bounce(m: *mut Message, error: i32) {
    // SAFETY: a live ring-0 message, just taken off the port (so not queued); its reply port
    // is its ring-0 sender's affair.
    unsafe {
        (*m).error = error;
        exec::port::reply_msg(m);
    }
}

/// A ring-0 task's plain message `m`, taken off the caller's port: copied into the caller's
/// memory and wrapped in an envelope it holds. Result: the view and the envelope's ticket, or
/// `None` (nothing changed) when it is too long or the caller's memory or the kernel heap has
/// no room. Forbid held.
pub(super) fn wrap(r: &mut Records, m: *mut Message) -> Option<(u64, u64)> {
    let receiver = me();
    // SAFETY: `m` is a live ring-0 message just taken off the caller's port: ring 0 is trusted
    // for its header (it is not contained anyway); its reply port, if any, is live.
    let (len, sender) = unsafe {
        let reply = (*m).reply_port;
        ((*m).length as u64, if reply.is_null() { core::ptr::null_mut() } else { (*reply).sig_task })
    };
    // Ring 0 names a ring-0 port as the reply port (trusted, as the header is): a ring-3
    // task's there would make that task the message's sender without counting it, so that its
    // end would not make the message an orphan. Nothing in the tree does this. (Bouncing such a
    // message would not do: the bounce is a reply to that same ring-3 port.)
    if !(HEADER..=MAX_LEN).contains(&len) {
        return None;
    }
    let spare = r.spare.pop();
    if spare.is_none() && exec::heap::stats().free < crate::policy::HEAP_RESERVE {
        return None;
    }
    // SAFETY: the running task; the only reference to its space in this function.
    let theirs = unsafe { space_of(receiver) }?;
    // A ring-0 sender has no family: its copy is the receiver's to pay for, as its own memory.
    let family = theirs.policy.family;
    let Some(copy) = theirs.alloc_copy(len, family) else {
        if let Some(e) = spare {
            recycle(r, e);
        }
        return None;
    };
    // SAFETY: the copy is fresh exec memory of `len` bytes, just opened to the receiver; `m`
    // has `len` bytes (its header says so: trusted, ring 0).
    unsafe { UserWrite::trusted(copy, len).copy_from_kernel(0, m as *const u8, len) };
    exec::events::count(&exec::events::BYTES_COPIED, len);
    let envelope = Envelope {
        msg: Message::new(core::ptr::null_mut(), size_of::<Envelope>()),
        ticket: 0,
        view: copy,
        // Ring 0's original: no block of a space to count it.
        loan: 0,
        len,
        sender,
        receiver,
        reply: 0,
        kind: Kind::Kernel { original: m as u64 },
        state: State::Out,
        taken: true,
        held_at: 0,
        sent_at: 0,
        lent: 0,
    };
    let mut e = match spare {
        Some(mut e) => {
            *e = envelope;
            e
        }
        None => Box::new(envelope),
    };
    e.ticket = 0;
    let e_ptr = &raw mut *e;
    let ticket = r.envelopes.insert(e);
    // SAFETY: the box lives in the records.
    unsafe { (*e_ptr).ticket = ticket };
    // What its sender registered as lent (`lend.rs`), trusted: ring 0's.
    if let Some(&l) = r.ring0_lent(m as u64) {
        // Ring 0 lends from no block of a space: nothing counted.
        super::lend::keep(r, ticket, l, [0; exec::sys_gate::LENDS_MAX]);
    }
    let mut header = Message::new(core::ptr::null_mut(), len as usize);
    header.node.succ = ticket as *mut Node;
    // SAFETY: the sender is its reply port's owner, live while its message is out.
    header.node.pred = (if sender.is_null() { 0 } else { unsafe { (*sender).id() } }) as *mut Node;
    // SAFETY: the copy is `len` >= HEADER bytes of the receiver's memory, just made.
    unsafe { UserWrite::trusted(copy, len) }.write(0, header);
    Some((copy, ticket))
}

