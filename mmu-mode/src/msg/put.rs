//! The sending half: put, do_msg, reply_wait. The sender's header is read once, checked,
//! and kept in a kernel envelope; the body goes by copy (into a block of the receiver's) or by
//! transfer (the pages change hands); what the receiver sees is a header the kernel wrote.

use super::*;

/// Sends the message at `msg` (in the caller's memory) to port `h`, by copy or transfer.
/// The header is read once here; everything the kernel needs of it is kept in the envelope.
pub fn put(h: u64, msg: u64, how: u64) -> GateResult {
    let sender = me();
    with(|r| {
        let sent = put_locked(r, sender, h, msg, how, false)?;
        if let Some((port, m)) = sent.deliver {
            // SAFETY: the port is live; the envelope lives in the records until it is done with.
            unsafe { exec::port::put_msg(port, m) };
        }
        Ok(0)
    })
}

/// do_msg from ring 3, in one gate call: [`put`], then wait at the reply port the put read
/// (and checked) from the header for that message to come back, and take it (whatever else
/// arrives there meanwhile stays queued: another task's message put to that port is never
/// taken for the reply); the envelope is handed to a receiver blocked at the port, which then
/// runs at once (exec's direct switch). Refused as put is, and (before anything is sent) a
/// message without a reply port.
pub fn do_msg(h: u64, msg: u64, how: u64) -> GateResult {
    let sender = me();
    forbid();
    // SAFETY: Forbid held: the only reference to the records, let go before the wait.
    let sent = put_locked(unsafe { &mut *RECORDS.get() }, sender, h, msg, how, true);
    // The put found the reply port the caller's own; it stays while the caller runs (only its
    // owner deletes it), so it is not looked up again.
    let result = sent.map(|s| receive_held(s.reply_port, s.deliver, s.own));
    permit();
    result
}

/// reply_wait from ring 3, in one gate call: replies `view` (unless 0), then waits at the
/// caller's port `h` and takes the first message there; the reply is handed to a sender blocked
/// at its reply port, which then runs at once. The port is checked first: a call refused for it
/// has replied nothing (the caller still holds `view`).
pub fn reply_wait(view: u64, h: u64) -> GateResult {
    // The caller's port stays while the caller runs (only its owner deletes it).
    let port = my_port(h)?;
    let me = me();
    forbid();
    let deliver = if view == 0 {
        Ok(None)
    } else {
        // SAFETY: Forbid held: the only reference to the records, let go before the wait.
        let r = unsafe { &mut *RECORDS.get() };
        reply::held_ticket(r, me, view).map(|ticket| reply::send_back_later(r, ticket, 0))
    };
    let result = deliver.map(|d| receive_held(port, d, core::ptr::null_mut()));
    permit();
    result
}

/// A put made in the records: the message's reply port (exec's; null if none), and its
/// envelope for the port it goes to, not delivered yet (`None`: the path to ring 0 delivered it
/// already).
struct Sent {
    reply_port: *mut MsgPort,
    deliver: Option<(*mut MsgPort, *mut Message)>,
    /// The envelope's message: what comes back to the reply port (do_msg waits for it).
    own: *mut Message,
}

/// [`put`]'s checks and records, Forbid held; refused (`need_reply`) for a message without a
/// reply port.
fn put_locked(r: &mut Records, sender: *mut Task, h: u64, msg: u64, how: u64, need_reply: bool) -> Result<Sent, exec::sys_gate::GateError> {
    let (port, receiver, shared) = r.ports.get(h).map(|p| (p.port, p.owner, p.shared)).ok_or(BadPointer)?;
    // SAFETY: the running task; the only reference to its space until the receiver's is taken.
    let mine = unsafe { space_of(sender) }.ok_or(BadPointer)?;
    // A private port is reached by its owner's family alone (see `PortRec::shared`).
    if !shared && receiver != sender && !same_family(mine, receiver) {
        return Err(BadPointer);
    }
    let head = mine.writable(msg, HEADER).ok_or(BadPointer)?;
    // Its messages not done with are its list of them (`Space::sent`): the count is its length.
    if mine.sent().len() >= crate::policy::TASK_MESSAGES as usize {
        return Err(BadPointer);
    }
    // Read once, by value, in one copy (the sender may rewrite its header at any moment).
    const _: () = assert!(core::mem::offset_of!(Message, length) == core::mem::offset_of!(Message, reply_port) + 8);
    let [reply, len]: [u64; 2] = head.read(core::mem::offset_of!(Message, reply_port) as u64);
    if !(HEADER..=MAX_LEN).contains(&len) {
        return Err(BadPointer);
    }
    let whole = mine.writable_grown(head, len).ok_or(BadPointer)?;
    let reply_port = match reply {
        0 if need_reply => return Err(BadPointer),
        0 => core::ptr::null_mut(),
        _ => r.ports.get(reply).filter(|p| p.owner == sender).ok_or(BadPointer)?.port,
    };
    // Whom a copy is charged to while it waits: the sender's family (see `Space::alloc_copy`;
    // the receiver's once taken, `Space::keep_copy`).
    let family = mine.policy.family;
    let lends = if how & PUT_LENDS != 0 { Some(lend::read_table(mine, whole.to_read()).ok_or(BadPointer)?) } else { None };
    let how = how & !PUT_LENDS;
    // A way that is none is refused on every path (the one to ring 0 would not look at it).
    if !matches!(how, PUT_COPY | PUT_TRANSFER | PUT_AUTO) {
        return Err(BadPointer);
    }
    let Some(mut e) = fresh_envelope(r, sender, receiver) else { return Err(BadPointer) };
    // SAFETY: the port's owner is live (its end takes the port away first).
    if unsafe { (*receiver).space() } == 0 {
        return put_to_ring0(r, e, port, mine, whole.to_read(), reply, lends).map(|own| Sent { reply_port, deliver: None, own });
    }
    let pages = len.div_ceil(PAGE) * PAGE;
    // A whole block of its own that lends nothing (no message out of it) may go by transfer.
    let whole_block = msg.is_multiple_of(PAGE) && mine.owns_unlent_block(msg, pages);
    let how = match how {
        PUT_AUTO if whole_block => PUT_TRANSFER,
        PUT_AUTO => PUT_COPY,
        other => other,
    };
    let (view, kind, lent_len, loan) = match how {
        PUT_COPY => {
            // SAFETY: a live task with a space (checked); `mine` is not used from here on.
            let Some(copy) = unsafe { space_of(receiver) }.and_then(|theirs| theirs.alloc_copy(len, family)) else {
                return Err(give_up(r, e));
            };
            // SAFETY: the receiver's copy block, just opened to it for `len` bytes.
            let to = unsafe { UserWrite::trusted(copy, len) };
            to.copy_from(0, whole.to_read(), 0, len);
            exec::events::count(&exec::events::BYTES_COPIED, len);
            // Both ends lend now: the receiver its copy (counted by alloc_copy), the sender its
            // original.
            // SAFETY: the running task; one reference to its space at a time.
            let loan = unsafe { space_of(sender) }.map_or(0, |mine| mine.lend(msg, len));
            (copy, Kind::Copy { original: msg }, len, loan)
        }
        PUT_TRANSFER if whole_block => {
            mine.set_access(msg, msg + pages, Access::Kernel);
            let loan = mine.lend(msg, pages);
            // SAFETY: as above; `mine` is not used from here on.
            if let Some(theirs) = unsafe { space_of(receiver) } {
                theirs.set_access(msg, msg + pages, Access::ReadWrite);
            }
            (msg, Kind::Transfer, pages, loan)
        }
        _ => return Err(give_up(r, e)),
    };
    *e = Envelope {
        msg: Message::new(core::ptr::null_mut(), size_of::<Envelope>()),
        ticket: 0,
        view,
        loan,
        len: lent_len,
        sender,
        receiver,
        reply,
        kind,
        state: State::Out,
        taken: false,
        held_at: 0,
        sent_at: 0,
        lent: 0,
    };
    let m = &raw mut e.msg;
    let e_ptr = &raw mut *e;
    let ticket = r.envelopes.insert(e);
    // SAFETY: the running task; the only reference to its space now.
    let sent_at = unsafe { space_of(sender) }.map_or(0, |mine| mine.note_sent(ticket));
    // SAFETY: the box lives in the records; nothing else refers to it yet.
    unsafe { ((*e_ptr).ticket, (*e_ptr).sent_at) = (ticket, sent_at) };
    if let Some(l) = lends {
        // SAFETY: the running task; the only reference to its space now.
        let starts = unsafe { space_of(sender) }.map_or([0; exec::sys_gate::LENDS_MAX], |mine| lend::count_loans(mine, &l));
        lend::keep(r, ticket, l, starts);
    }
    // What the receiver sees: a header the kernel wrote (the reply port by its handle, and
    // the envelope's ticket where Exec leaves a received message's stale link).
    let mut header = Message::new(reply as *mut MsgPort, len as usize);
    header.node.succ = ticket as *mut Node;
    // And the sender's task number where Exec leaves the other link: a server may keep
    // records per client and ask whether a client is still there (exec's task_alive).
    // SAFETY: the running task.
    header.node.pred = unsafe { (*sender).id() } as *mut Node;
    // SAFETY: the view is `len` >= HEADER bytes of exec memory, now the receiver's.
    unsafe { UserWrite::trusted(view, len) }.write(0, header);
    Ok(Sent { reply_port, deliver: Some((port, m)), own: m })
}

/// Whether ring-3 task `other` (a port's live owner) is of `mine`'s family. Out of line: a
/// put to a port of another task of the family is the rare case.
#[inline(never)]
fn same_family(mine: &Space, other: *mut Task) -> bool {
    // SAFETY: a port's owner is live (its end takes its ports away first); its policy is
    // read, nothing kept.
    let theirs = unsafe { (*other).space() as *const Space };
    // SAFETY: as above: a ring-3 task's space lives as long as the task.
    unsafe { theirs.as_ref() }.is_some_and(|t| t.policy.family == mine.policy.family)
}

/// An envelope to fill, for `sender`'s message to `receiver`: a spare one, or a new one while
/// the kernel heap keeps its reserve. Its other fields are the caller's to fill.
/// [`put_locked`] to a ring-0 task's `port`: always by copy, into kernel memory (see
/// `ring3_to_ring0`); the sender's records of it. Out of line: the way between ring-3 tasks
/// stays short. Result: the envelope's message (what comes back to the reply port). Forbid
/// held.
#[inline(never)]
fn put_to_ring0(r: &mut Records, e: Box<Envelope>, port: *mut MsgPort, mine: &mut Space, whole: crate::uaccess::UserRead, reply: u64, lends: Option<Lends>) -> Result<*mut Message, exec::sys_gate::GateError> {
    let (msg, len) = (whole.addr(), whole.len());
    match ring3_to_ring0::put(r, e, port, whole, reply, mine.policy.family) {
        Ok(ticket) => {
            let loan = mine.lend(msg, len);
            let sent_at = mine.note_sent(ticket);
            let mut own = core::ptr::null_mut();
            if let Some(e) = r.envelopes.get_mut(ticket) {
                e.loan = loan;
                e.sent_at = sent_at;
                own = &raw mut e.msg;
            }
            if let Some(l) = lends {
                lend::keep(r, ticket, l, lend::count_loans(mine, &l));
            }
            Ok(own)
        }
        Err(e) => Err(give_up(r, e)),
    }
}

fn fresh_envelope(r: &mut Records, sender: *mut Task, receiver: *mut Task) -> Option<Box<Envelope>> {
    // A spare one still names the tasks of its last message: named afresh here (the path to
    // ring 0 reads them back; it once took a spare's stale sender for the new one's).
    let spare = r.spare.pop().map(|mut e| {
        (e.sender, e.receiver) = (sender, receiver);
        e
    });
    spare.or_else(|| {
        (exec::heap::stats().free >= crate::policy::HEAP_RESERVE).then(|| {
            Box::new(Envelope {
                msg: Message::new(core::ptr::null_mut(), 0),
                ticket: 0,
                view: 0,
                loan: 0,
                len: 0,
                sender,
                receiver,
                reply: 0,
                kind: Kind::Orphan { copy: false, adopted: false },
                state: State::Out,
                taken: false,
                held_at: 0,
                sent_at: 0,
                lent: 0,
            })
        })
    })
}

/// Puts an envelope that was not used back (it was never on the sender's list).
fn give_up(r: &mut Records, e: Box<Envelope>) -> exec::sys_gate::GateError {
    recycle(r, e);
    BadPointer
}
