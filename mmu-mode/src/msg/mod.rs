//! Messages between ring-3 tasks, in one address space, two ways:
//!
//! - **copy**: put_msg copies the message into memory the receiver owns (a new block open to
//!   it alone); reply_msg copies its body back over the sender's original and frees the copy.
//!   Any message in the sender's writable memory can go this way. Costs grow with the size.
//! - **transfer**: a message that is a whole block the sender allocated through the gate moves:
//!   its pages close to the sender and open to the receiver, at the same address; reply_msg
//!   moves them back. Costs grow with the number of pages, not the bytes.
//!
//! **The kernel never trusts a header a task can write.** At put the gate reads the sender's
//! header once (its length and reply port), checks it, and keeps what it needs in an
//! [`Envelope`] in kernel memory; the envelope, not the task's header, is what exec links into
//! the port's queue, and what the reply follows. What the receiver sees in its view is a header
//! the kernel wrote. A task that rewrites any byte of its own memory at any moment, queued
//! messages and headers included, changes only its own data.
//!
//! **Ports are named by handles** (see `handles`): a slot and a generation, checked in O(1);
//! a port's kernel address never reaches ring 3.
//!
//! **Lending is counted on the blocks** (`Space::lend`): a block holding a message that is out
//! (by copy or by transfer), or a receiver's copy, can be neither freed nor sent by transfer
//! until the message is done with, which for the sender is when it has taken the reply. If the
//! sender ends first, the receiver keeps what it holds and the reply goes nowhere; if the
//! receiver ends (or deletes its port) first, the message goes back to its sender marked
//! [`exec::port::MSG_ERR_RECEIVER_GONE`].
//!
//! **Ring 0 to ring 3:** a ring-0 task puts a plain exec message to a ring-3 port as to any
//! other (`put_msg`, `do_msg`). When the ring-3 owner takes it, the kernel copies it into the
//! owner's memory and wraps it in an envelope ([`Kind::Kernel`]); the reply copies the body
//! back over the original and replies it through exec. Ring 0 is trusted for its header; the
//! ring-3 side sees only its copy. A message that cannot be copied (no room in the receiver's
//! memory, or longer than the gate passes) goes back unread, marked
//! [`exec::port::MSG_ERR_CROSS_RING`]; one that waits at a port whose ring-3 owner ends goes
//! back marked receiver-gone. A ring-3 wait_port that finds one at the head (exec's classic
//! wait_port, then get_msg) copies it in then and puts its envelope back at the head, where
//! the get that follows takes it.
//!
//! **Ring 3 to ring 0** (`ring3_to_ring0.rs`): a ring-3 task finds a ring-0 task's public port
//! by name, if its owner opened it to ring 3 ([`open_to_ring3`]), and puts to it; the ring-0
//! receiver gets a copy in kernel memory whose reply comes back through the kernel's relay
//! task ([`Kind::ToRing0`]).
//!
//! **What the receiver's view says:** a header the kernel wrote: the reply port by its
//! handle, the length, the envelope's ticket where Exec leaves a received message's `succ`
//! link, and the sender's task number ([`exec::task::Task::id`], 0 if unknown) in `pred`.
//!
//! Ring 0 is trusted to name a ring-0 port as a plain message's reply port: a ring-3 task's
//! there would make that task the message's sender without counting it.
//!
//! **The message path walks nothing a task controls the length of**, but for a receiver that
//! wrote over its view's ticket (its own reply then walks the messages it holds). A space's
//! blocks are found by binary search (`blocks.rs`).
//!
//! The files: `put.rs` the sending half; `reply.rs` replies; `ports.rs` the ports; `lend.rs`
//! lent buffers; `ring0.rs` and `ring3_to_ring0.rs` the crossings; `end.rs` what goes when a
//! port or a task ends. The records are guarded by Forbid.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use exec::global::Global;
use exec::list::Node;
use exec::port::{Message, MsgPort};
use exec::sched::{forbid, permit};
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::{GateResult, Lends};
use exec::task::Task;

use exec::handles::HandleTable;
use crate::pte::Access;
use crate::space::Space;
use crate::uaccess::UserWrite;

pub use exec::sys_gate::{PUT_AUTO, PUT_COPY, PUT_TRANSFER};

mod end;
mod lend;
mod ports;
mod put;
mod reply;
mod ring0;
mod ring3_to_ring0;

pub use lend::{PUT_LENDS, end_lend_ring0, lend_ring0, read as msg_read, read_lent, registered, write as msg_write, write_lent};

pub use ports::{PORTS_PER_TASK, create_port, delete_port, find_port, keep_from_ring3, live_ports, open_to_ring3, port_signal, rem_port, reserve_name, share_port_of};
use end::drain;
pub use end::reclaim;
use ports::my_port;
pub use put::{do_msg, put, reply_wait};
pub use reply::reply;
use reply::{held_ticket, send_back};
use ring0::{bounce, wrap};
pub use ring3_to_ring0::{TO_RING0_MAX, port_gone, ring3_sender, start_relay};

/// The longest message the gate passes.
const MAX_LEN: u64 = 64 << 20;
const HEADER: u64 = size_of::<Message>() as u64;
const PAGE: u64 = 4096;

/// How [`get`] takes a message.
pub enum Get {
    /// The first message, or none (get_msg).
    Take,
    /// Waits for a message and takes it (one call where exec needs wait_port + get_msg).
    WaitTake,
    /// Waits for a message and returns it, leaving it queued (exec's wait_port).
    WaitPeek,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The receiver's view is a copy of the sender's `original`.
    Copy { original: u64 },
    /// The view is the sender's pages themselves.
    Transfer,
    /// A ring-0 task's plain message (`original`, kernel memory): the view is a copy in the
    /// receiver's memory; the reply copies its body back and replies the original through
    /// exec, to the reply port the ring-0 sender named.
    Kernel { original: u64 },
    /// To a ring-0 task: the view is a copy in kernel memory (the relay frees it when the
    /// receiver has replied it); the reply copies its body back over the sender's `original`.
    ToRing0 { original: u64 },
    /// The sender ended first: the receiver keeps what it holds until it replies, and the
    /// reply goes nowhere. It ends the receiver's view as any reply does: `copy`, the view is
    /// the receiver's copy block (a loan counted on it: retired at the reply); `adopted`, it
    /// is the sender's block, taken into the receiver's space when the sender ended with one
    /// loan for the message (given back and the block freed at the reply, unless a device
    /// request still pins it; then with the space). Neither: the view is in no space of a task
    /// (a ring-0 receiver's kernel copy).
    Orphan { copy: bool, adopted: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the receiving port (or held by the port's owner, who took it).
    Out,
    /// Back at the sender's reply port, its view the sender's own message again.
    Back,
}

/// A message in flight, as the kernel keeps it. `msg` comes first: it is what exec links
/// into the ports' queues, and how a message exec hands back is known for its envelope.
#[repr(C)]
struct Envelope {
    msg: Message,
    /// Its own handle in the records (the ticket its view carries).
    ticket: u64,
    /// Where its holder sees it: the receiver's copy or the pages (Out), the sender's
    /// message (Back).
    view: u64,
    /// The start of the sender's block that counts this message's loan (its message, or its
    /// pages), 0 if none does (`Space::lend`): what `done` gives back, exactly.
    loan: u64,
    len: u64,
    sender: *mut Task,
    /// The receiving port's owner.
    receiver: *mut Task,
    /// The reply port's handle (0: none): one of the sender's own ports, checked at put and
    /// again at the reply.
    reply: u64,
    kind: Kind,
    state: State,
    /// Taken off the receiving port by its owner (who may now reply it).
    taken: bool,
    /// While taken by a ring-3 receiver: its index in the receiver's `Space::held`.
    held_at: u32,
    /// A ring-3 sender's: its index in the sender's `Space::sent` until it is done with.
    sent_at: u32,
    /// If it lends buffers, the handle of their table (as read and checked at the put) in
    /// `Records::lent`, out of line, so that a message that lends nothing (the common one)
    /// costs nothing more; 0 if it lends none.
    lent: u64,
}

/// A port a ring-3 task made (exec's, in kernel memory).
struct PortRec {
    port: *mut MsgPort,
    owner: *mut Task,
    /// While the port is on exec's public list by its owner's doing: the family it counts
    /// for (`policy::FAMILY_PUBLIC_NAMES`); 0 otherwise.
    public_family: u64,
    /// Whether any task may put to it: it was made public (found by name), or ring 0 made its
    /// handle known (a ring-0 port opened to ring 3, or one whose handle ring 0 took to hand
    /// out: [`ports::share_port_of`]). A port never shared is reached only by its owner's family: a
    /// guessed handle (handles are dense) puts nothing at a stranger's private port.
    shared: bool,
}

impl PortRec {
    /// The record is going, or its port leaves the public list: its family's count goes down.
    fn unpublish(&mut self) {
        if self.public_family != 0 {
            crate::policy::give_back_public_name(self.public_family);
            self.public_family = 0;
        }
    }
}

/// The message records. Forbid.
struct Records {
    ports: HandleTable<PortRec>,
    /// Port address → handle (find_port).
    handles: BTreeMap<usize, u64>,
    /// (owner, slot, handle) of every port: a task's own found by a range, not a walk of all.
    by_owner: BTreeSet<(usize, u64, u64)>,
    /// Envelopes in flight, by ticket. Boxed: exec links them, so they must not move.
    envelopes: HandleTable<Box<Envelope>>,
    /// Envelopes done with, kept to be used again (no allocation on the message path once
    /// warm). Boxed as in `envelopes`: a box moves between the two.
    #[allow(clippy::vec_box, reason = "the boxes are reused as they are: exec links them by address")]
    spare: Vec<Box<Envelope>>,
    /// Copies at ring-0 receivers (their address) → (the envelope's ticket, the length, the
    /// sender's family, charged for it).
    kernel_copies: BTreeMap<u64, (u64, u64, u64)>,
    /// The buffers ring-0 senders' messages lend (the message's address, its table, its
    /// sender: `lend.rs`), registered by the sender for as long as the message is out, or until
    /// the sender ends. Looked through, not searched: only ring-0 code registers, a message or
    /// two at a time, and a list that keeps its room allocates nothing per packet (a BTreeMap
    /// measured about 100 instructions a packet more).
    ring0_lends: Vec<(u64, Lends, *mut Task)>,
    /// The tables of the envelopes that lend (`Envelope::lent`), by handle (O(1), and no
    /// allocation once warm: slots are reused), each with the starts of the sender's blocks
    /// that counted its buffers' loans (`Space::lend`).
    lent: HandleTable<(Lends, [u64; exec::sys_gate::LENDS_MAX])>,
    /// Public names ring-0 code keeps for the ring-3 tasks it starts itself (`reserve_name`):
    /// each with the number of a ring-0 task whose families may take it. Only ring-0 code adds
    /// to it (a handful), so a look through it is no walk a task controls.
    reserved: Vec<(&'static str, u64)>,
}

// SAFETY: the records are the kernel's own, touched only under Forbid on the one CPU; the
// tasks and ports they point at are exec's, shared between tasks by design.
unsafe impl Send for Records {}

impl Records {
    /// The table the ring-0 message at `m` lends, if its sender registered one.
    fn ring0_lent(&self, m: u64) -> Option<&Lends> {
        self.ring0_lends.iter().find(|(at, _, _)| *at == m).map(|(_, l, _)| l)
    }

    /// Whether `name` is kept ([`reserve_name`]) for other tasks than those of the ring-0
    /// starter numbered `origin`.
    fn kept_from(&self, name: &str, origin: u64) -> bool {
        let mut keepers = self.reserved.iter().filter(|&&(n, _)| n == name);
        keepers.clone().next().is_some() && !keepers.any(|&(_, o)| o == origin)
    }
}

static RECORDS: Global<Records> =
    Global::new(Records { ports: HandleTable::new(), handles: BTreeMap::new(), by_owner: BTreeSet::new(), envelopes: HandleTable::new(), spare: Vec::new(), kernel_copies: BTreeMap::new(), ring0_lends: Vec::new(), lent: HandleTable::new(), reserved: Vec::new() });

/// Most spare envelopes kept.
const SPARE_MAX: usize = 64;

/// Runs `f` on the records under Forbid. `f` must not wait (it may signal: a switch that
/// becomes due happens at the Permit).
fn with<R>(f: impl FnOnce(&mut Records) -> R) -> R {
    forbid();
    // SAFETY: Forbid held; `f` gets the only reference and does not wait.
    let r = f(unsafe { &mut *RECORDS.get() });
    permit();
    r
}

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

/// Keeps envelope `e`, done with, for the next message (up to [`SPARE_MAX`]).
fn recycle(r: &mut Records, e: Box<Envelope>) {
    if r.spare.len() < SPARE_MAX {
        r.spare.push(e);
    }
}

/// The envelope exec handed back as `m` (its first field).
fn envelope_of(m: *mut Message) -> *mut Envelope {
    m as *mut Envelope
}

/// The caller's own port named by the handle `h` (a device request's reply port), if it is one.
pub fn own_port(h: u64) -> Option<*mut MsgPort> {
    my_port(h).ok()
}

/// Takes (or, waiting, looks at) the first message of the caller's port `h`. Result: the
/// address of its view (open to the caller), or 0 if none.
pub fn get(h: u64, how: Get) -> GateResult {
    get_at(my_port(h)?, how)
}

/// [`get`] at the caller's own `port` (its handle checked already).
fn get_at(port: *mut MsgPort, how: Get) -> GateResult {
    let m = match how {
        Get::Take => with(|r| take(r, port)),
        Get::WaitTake => {
            forbid();
            let view = receive_held(port, None, core::ptr::null_mut());
            permit();
            view
        }
        Get::WaitPeek => loop {
            // SAFETY: as above; the envelope stays queued, so live.
            let m = unsafe { exec::port::wait_port(port) };
            let view = with(|r| {
                if is_envelope(r, m) {
                    // SAFETY: one of the records' envelopes, queued, so live.
                    return Some(unsafe { (*envelope_of(m)).view });
                }
                // A device's reply to one of the caller's requests: its request, left queued.
                // SAFETY: at the head of the caller's own port, so live.
                if let Some(request) = unsafe { crate::io::request_of(m) } {
                    return Some(request);
                }
                // A ring-0 message: it must be copied in to be seen, so it is taken and
                // wrapped now, and its envelope put back at the head, where the get that
                // follows takes it.
                // SAFETY: the caller's live port; `m` is at its head.
                let m = unsafe { exec::port::get_msg(port) };
                match wrap(r, m) {
                    Some((view, ticket)) => {
                        let e = r.envelopes.get_mut(ticket)?;
                        e.taken = false;
                        // SAFETY: the caller's live port; the envelope lives in the records,
                        // on no list.
                        unsafe { exec::port_ring3::unget_msg(port, &raw mut e.msg) };
                        Some(view)
                    }
                    None => {
                        bounce(m, exec::port::MSG_ERR_CROSS_RING);
                        None
                    }
                }
            });
            if let Some(v) = view {
                break v;
            }
        },
    };
    Ok(m)
}


/// Takes the first envelope off `port` (the caller's). A message coming back ends its
/// journey here: its record goes, the sender holds its own message again. Forbid held.
fn take(r: &mut Records, port: *mut MsgPort) -> u64 {
    loop {
        // SAFETY: the caller's live port.
        let m = unsafe { exec::port::get_msg(port) };
        if m.is_null() {
            return 0;
        }
        if let Some(view) = took(r, m) {
            return view;
        }
    }
}

/// Delivers `deliver` (an envelope for a port, if any), then takes `want` (null: the first
/// message) at the caller's own `port`, waiting for it: the view. One exec call does both
/// ([`exec::port_ring3::put_and_receive`]), so that a receiver blocked at the destination is
/// handed the envelope and run at once, as in the flat build's combined calls. Forbid held by
/// the caller: broken while it waits, held again when it runs, so that what it took off its
/// port is in the records as taken before any other task runs after it (others may run
/// between the hand-over and then: a task that ends meanwhile sends back what it was handed,
/// see `end::reclaim`); no reference to the records spans the wait.
fn receive_held(port: *mut MsgPort, mut deliver: Option<(*mut MsgPort, *mut Message)>, want: *mut Message) -> u64 {
    loop {
        // SAFETY: the caller's live port, which signals it; an envelope to deliver (and the
        // one wanted) lives in the records, on no list or on a port's, until it is taken.
        let m = unsafe {
            match deliver.take() {
                Some((to, msg)) => exec::port_ring3::put_and_receive(to, msg, port, want),
                // (The first message: exec's receive made for it, with no test of `want`.)
                None if want.is_null() => exec::port_ring3::receive_first(port),
                None => exec::port_ring3::receive_at(port, want),
            }
        };
        // SAFETY: Forbid held (again): the only reference to the records until it returns.
        if let Some(view) = took(unsafe { &mut *RECORDS.get() }, m) {
            return view;
        }
    }
}

/// `m`, just taken off the caller's port: an envelope is noted taken (or, come back, ends its
/// journey), a device's reply delivered as the task's request, a ring-0 message wrapped.
/// Result: the view (the request), or `None` for a ring-0 message that
/// could not be wrapped (sent back). Forbid held.
fn took(r: &mut Records, m: *mut Message) -> Option<u64> {
    if !is_envelope(r, m) {
        return took_not_an_envelope(r, m);
    }
    let e = envelope_of(m);
    // SAFETY: every message at a ring-3 port is an envelope in the records.
    let (view, state, ticket) = unsafe {
        (*e).taken = true;
        ((*e).view, (*e).state, (*e).ticket)
    };
    if state == State::Back {
        finish(r, ticket);
    } else {
        // SAFETY: as above; nothing else refers to the envelope now.
        let e = unsafe { &mut *e };
        note_held(e);
        if matches!(e.kind, Kind::Copy { .. }) {
            keep_copy(e);
        }
    }
    Some(view)
}

/// [`took`] of a message that is no envelope: a device's reply to one of the caller's requests
/// (its request, results copied in) or a ring-0 message (wrapped, or sent back). Out of line:
/// the envelope's way stays short.
#[cold]
#[inline(never)]
fn took_not_an_envelope(r: &mut Records, m: *mut Message) -> Option<u64> {
    // SAFETY: `m` was just taken off the caller's own port (took's contract), so live.
    if let Some(request) = unsafe { crate::io::delivered(m) } {
        return Some(request);
    }
    match wrap(r, m) {
        Some((view, ticket)) => {
            if let Some(e) = r.envelopes.get_mut(ticket) {
                note_held(e);
            }
            Some(view)
        }
        None => {
            bounce(m, exec::port::MSG_ERR_CROSS_RING);
            None
        }
    }
}

/// The envelope `e`, just taken by its receiver: noted in the receiver's space as one it
/// holds (see `reply::held_ticket`). Forbid held.
fn note_held(e: &mut Envelope) {
    // SAFETY: a live task (it is taking the message); the only reference to its space here.
    if let Some(s) = unsafe { space_of(e.receiver) } {
        e.held_at = s.hold(e.ticket);
    }
}

/// The copy `e` (a message by copy from another ring-3 task), just taken by its receiver: its
/// block is the receiver's charge from now on (`Space::keep_copy`). Out of line: the take's
/// way stays as short for a transfer. Forbid held.
#[inline(never)]
fn keep_copy(e: &Envelope) {
    // SAFETY: a live task (it is taking the message); the only reference to its space here.
    if let Some(s) = unsafe { space_of(e.receiver) } {
        s.keep_copy(e.view);
    }
}

/// The envelope `ticket`, at `held_at` of its receiver's list, is no longer held by that
/// receiver (replied, or sent back): its note in the receiver's space goes, if the receiver
/// still has one. Passed by value: no reference into the records is held while they change.
/// Forbid held.
fn note_unheld(r: &mut Records, receiver: *mut Task, ticket: u64, held_at: u32) {
    // SAFETY: the receiver is live, or ending (then it has no space any more).
    let Some(s) = (unsafe { space_of(receiver) }) else { return };
    // The note that was last moves into the freed place.
    if let Some(moved) = s.unhold(ticket, held_at)
        && let Some(m) = r.envelopes.get_mut(moved)
    {
        m.held_at = held_at;
    }
}

/// Whether `m`, from a ring-3 port's queue, is one of the records' envelopes: a ring-0 task
/// may have put a plain exec message there. Only `m`'s header, and then (for a message long
/// enough to be one) its ticket, are read, and the ticket is checked against the records: only
/// the records' own boxes match. Forbid held.
fn is_envelope(r: &Records, m: *mut Message) -> bool {
    // SAFETY: `m` is a live message (exec queued it); a ring-0 sender's header is trusted for
    // its length, so the ticket is read only within what it says it has.
    unsafe {
        (*m).length == size_of::<Envelope>()
            && r.envelopes.get((*envelope_of(m)).ticket).is_some_and(|e| core::ptr::eq(&e.msg, m))
    }
}

/// Drops the record `ticket` names, which no port holds (done: back with its sender, or an
/// orphan, or sent back to no reply port). Forbid held.
fn finish(r: &mut Records, ticket: u64) {
    if let Some(e) = r.envelopes.remove(ticket) {
        done(r, e);
    }
}

/// An envelope taken out of the records: the sender's count goes down and what it lent is
/// its own again (if it is still there: only now, when it holds its message again, so that it
/// cannot free or move it while the reply waits at its port), and the box is kept for the next
/// message.
fn done(r: &mut Records, e: Box<Envelope>) {
    let lends = if e.lent != 0 { r.lent.remove(e.lent) } else { None };
    // A ring-0 sender has no space; an orphan's has gone.
    if !matches!(e.kind, Kind::Orphan { .. } | Kind::Kernel { .. }) {
        // SAFETY: a sender that is not an orphan's is live; the only reference to its space.
        if let Some(s) = unsafe { space_of(e.sender) } {
            // The note that was last moves into the freed place (`e` is out of the records).
            if let Some(moved) = s.unnote_sent(e.ticket, e.sent_at)
                && let Some(m) = r.envelopes.get_mut(moved)
            {
                m.sent_at = e.sent_at;
            }
            s.unlend(e.loan);
            if let Some((_, starts)) = &lends {
                for &start in starts {
                    s.unlend(start);
                }
            }
        }
    }
    recycle(r, e);
}
