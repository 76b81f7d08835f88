//! Replies: the holder's reply (`reply`, and the check that it holds the message,
//! `held_ticket`), and the way every message goes back to its sender (`send_back`): a copy's
//! body back over the original, transferred pages back to their owner, a ring-0 original
//! replied through exec, each write into the sender's memory checked when it is made.

use exec::list::{Node, NodeType};
use exec::port::{Message, MsgPort};
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;
use exec::task::Task;

use crate::uaccess::{UserRead, UserWrite};
use super::{Envelope, HEADER, Kind, Records, State, finish, me, note_unheld, ring3_to_ring0, space_of, with};
use crate::pte::Access;

/// Replies the message at `view`, which the caller must hold: a copy's body is copied back
/// and the copy freed, transferred pages go back to the sender; then it goes to the reply
/// port the sender named at put (if that port is still there). A message the caller does not
/// hold (replied already, still queued, never received) is refused. The view's header carries
/// the envelope's ticket; it is an allegation, checked against the envelope.
pub fn reply(view: u64) -> GateResult {
    let me = me();
    with(|r| {
        let ticket = held_ticket(r, me, view)?;
        send_back(r, ticket, 0);
        Ok(0)
    })
}

/// The ticket of the message `me` holds at `view`: out to it, taken, not yet replied. The
/// view's header carries the ticket; it is an allegation, checked against the envelope. A
/// holder that wrote over it (an Exec program may link a received message into a list of its
/// own) pays a walk through the messages it holds itself (`Space::held`), never through
/// everyone's. Forbid held.
pub(super) fn held_ticket(r: &Records, me: *mut Task, view: u64) -> GateResult {
    // SAFETY: the only reference to the caller's space during this check.
    let space = unsafe { space_of(me) }.ok_or(BadPointer)?;
    let head = space.readable(view, HEADER).ok_or(BadPointer)?;
    // A plain word, compared, never followed.
    let ticket: u64 = head.read(core::mem::offset_of!(Message, node.succ) as u64);
    let holds = |t: u64| r.envelopes.get(t).is_some_and(|e| e.view == view && e.receiver == me && e.state == State::Out && e.taken);
    if holds(ticket) {
        Ok(ticket)
    } else {
        space.held().iter().copied().find(|&t| holds(t)).ok_or(BadPointer)
    }
}

/// Sends the envelope `ticket` back to its sender with `error` (0: a reply). Forbid held.
pub(super) fn send_back(r: &mut Records, ticket: u64, error: i32) {
    if let Some((port, m)) = send_back_later(r, ticket, error) {
        // SAFETY: the port is live (in the records); the envelope lives in the records.
        unsafe { exec::port::put_msg(port, m) };
    }
}

/// [`send_back`] but for the delivery: the reply port and the envelope to put there, for the
/// caller to deliver before it lets other tasks run (reply_wait hands it over); `None` when
/// nothing goes to a port (the message's journey ended here, or went back through exec).
/// Forbid held.
pub(super) fn send_back_later(r: &mut Records, ticket: u64, error: i32) -> Option<(*mut MsgPort, *mut Message)> {
    let e = r.envelopes.get_mut(ticket)?;
    let e: *mut Envelope = &raw mut **e;
    // SAFETY: the envelope lives in the records (boxed); only this function touches it now.
    let e = unsafe { &mut *e };
    if e.taken {
        note_unheld(r, e.receiver, e.ticket, e.held_at);
    }
    // Where the sender sees its message come back, and whether the sender may write it now
    // (checked when the reply writes, not only at the put: a message sent from pages another
    // task lent by transfer may have gone back since, and been freed).
    let (sender_view, back): (u64, Option<UserWrite>) = match e.kind {
        Kind::Orphan { copy, adopted } => {
            // Nobody to go back to: the reply ends the receiver's view as any reply does (a
            // loan is given back only where the receiver counted one: its copy block).
            // SAFETY: the receiver is live, or ending (then it has no space any more).
            if let Some(t) = unsafe { space_of(e.receiver) } {
                if copy {
                    t.retire_copy(e.view, e.len);
                } else if adopted {
                    t.unlend(e.view);
                    t.free(e.view);
                }
            }
            finish(r, ticket);
            return None;
        }
        Kind::Copy { original } => {
            let writable = sender_range(e.sender, original, e.len);
            if error == 0
                && let Some(to) = writable
            {
                // SAFETY: the copy is the receiver's live block of `len` bytes.
                unsafe { copy_body_back(e, to) };
            }
            // SAFETY: the receiver is live (its end sends its messages back first).
            if let Some(t) = unsafe { space_of(e.receiver) } {
                t.retire_copy(e.view, e.len);
            }
            (original, writable)
        }
        Kind::Kernel { original } => {
            // SAFETY: the receiver is live, or ending (then without a space); the original is
            // a live ring-0 message of `len` bytes (its sender's end makes it an orphan), out
            // of every queue while the receiver holds its copy.
            unsafe {
                if error == 0 {
                    copy_body_back(e, UserWrite::trusted(original, e.len));
                }
                if let Some(t) = space_of(e.receiver) {
                    t.retire_copy(e.view, e.len);
                }
                let m = original as *mut Message;
                (*m).error = error;
                exec::port::reply_msg(m);
            }
            finish(r, ticket);
            return None;
        }
        Kind::ToRing0 { original } => {
            let writable = sender_range(e.sender, original, e.len);
            if let Some(to) = writable {
                ring3_to_ring0::copy_back(e, to, error);
            }
            (original, writable)
        }
        Kind::Transfer => {
            // SAFETY: as above; the receiver's space is let go before the sender's is taken.
            if let Some(t) = unsafe { space_of(e.receiver) } {
                t.set_access(e.view, e.view + e.len, Access::Kernel);
            }
            // The sender's own block (only a whole block it owns goes by transfer, and it
            // cannot be freed while out), open to it again just now.
            // SAFETY: the sender is live (its end makes its messages orphans).
            let back = unsafe { space_of(e.sender) }.map(|s| {
                s.set_access(e.view, e.view + e.len, Access::ReadWrite);
                // SAFETY: the first page of the sender's own block (at least a page: a whole
                // block goes by transfer), opened to it on the line above.
                unsafe { UserWrite::trusted(e.view, HEADER) }
            });
            (e.view, back)
        }
    };
    // The sender's message as it comes back: its length and reply port as it sent them (if
    // the sender may still write there).
    if let Some(h) = back {
        h.write(core::mem::offset_of!(Message, node) as u64, Node::new(NodeType::ReplyMsg, 0));
        h.write(core::mem::offset_of!(Message, error) as u64, error);
    }
    let Some(port) = r.ports.get(e.reply).map(|p| p.port) else {
        finish(r, ticket);
        return None;
    };
    e.view = sender_view;
    e.state = State::Back;
    e.taken = false;
    e.msg = Message::new(port, size_of::<Envelope>());
    Some((port, &raw mut e.msg))
}

/// A reply's copy back: the body of `e`'s view over the sender's `original` (`e.len` bytes,
/// checked writable now, or ring 0's, trusted; the header stays the sender's); counted.
///
/// # Safety
/// The view is `e.len` bytes of live memory (the receiver's copy, or the kernel's).
pub(super) unsafe fn copy_body_back(e: &Envelope, original: UserWrite) {
    // SAFETY: per the contract; read by value, whatever the receiver wrote there.
    let view = unsafe { UserRead::trusted(e.view, e.len) };
    original.copy_from(HEADER, view, HEADER, e.len - HEADER);
    exec::events::count(&exec::events::BYTES_COPIED, e.len - HEADER);
}

/// `[at, at + len)` of ring-3 task `sender`, if it may write it now: where a reply writes into
/// the sender's memory, checked when it writes, not only at the put. Forbid held.
fn sender_range(sender: *mut Task, at: u64, len: u64) -> Option<UserWrite> {
    // SAFETY: the sender of a message that is not an orphan's is live; the only reference to
    // its space during the check.
    unsafe { space_of(sender) }.and_then(|s| s.writable(at, len))
}
