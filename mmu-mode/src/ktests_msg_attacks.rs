//! mmu-mode's in-kernel tests of ring-3 tasks that attack through messages: forged reply
//! ports, headers scribbled while out, lent memory freed or sent on, a ring-0 message at a
//! ring-3 port. The helpers and how to add a hostile program: `ktests_attacks.rs`.

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys;
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};

/// Every message attack test.
pub static TESTS: &[Test] = &[
    Test::new("mmu.attack.forged_reply_port_refused", forged_reply_port_refused),
    Test::new("mmu.attack.scribbled_headers_change_nothing", scribbled_headers_change_nothing),
    Test::new("mmu.attack.lent_memory_cannot_be_freed", lent_memory_cannot_be_freed),
    Test::new("mmu.attack.ring0_message_to_ring3_is_delivered", ring0_message_to_ring3_is_delivered),
    Test::new("mmu.msg.held_messages_replied_without_their_tickets", held_messages_replied_without_their_tickets),
    Test::new("mmu.attack.messages_in_flight_are_bounded", messages_in_flight_are_bounded),
];

// --- messages -----------------------------------------------------------------------------


/// A small message: its header and a few words (valid in every field but the one a test
/// forges).
const MSG_LEN: usize = size_of::<Message>() + 56;

/// Ring 3: a public port "r3.victim"; each message's first body word gets 1 added. Before it
/// takes a message it scribbles over the header of its view (still queued), and again before
/// it replies. A first word of u64::MAX ends it. Tells its parent (`arg`) when it is ready.
extern "C" fn victim_server(parent: u64) -> ! {
    // SAFETY: exec calls with the server's own port and the messages it received.
    unsafe {
        let port = sys::create_port(Some("r3.victim"), 0);
        sys::signal(parent as *mut Task, SIGF_CTRL_F);
        loop {
            let peek = sys::wait_port(port) as *mut u8;
            core::ptr::write_bytes(peek, 0xa5, size_of::<Message>());
            let m = sys::get_msg(port);
            let body = m.add(1) as *mut u64;
            let word = body.read();
            if word == u64::MAX {
                sys::rem_task(core::ptr::null_mut());
            }
            body.write(word + 1);
            // A free of the view it holds is refused (it is lent to it).
            sys::free_mem(m as *mut u8, 4096);
            core::ptr::write_bytes(m as *mut u8, 0x5a, size_of::<Message>());
            sys::reply_msg(m);
        }
    }
}

/// What a hostile client found.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Client {
    parent: u64,
    /// Puts with a forged reply port that the gate refused, of those tried.
    forged_refused: u64,
    forged_tried: u64,
    /// Round trips whose reply came back at the right port with the body answered.
    round_trips_ok: u64,
    /// free_mem of a block whose message was in flight: refused (the block still there).
    lent_free_refused: u64,
    /// The same block sent by transfer while it lends a message: refused.
    lent_transfer_refused: u64,
}

/// One message at `m` (in a block of the client's, `len` bytes) to `server`, replying to
/// `reply`; scribbles over its own header while the message is out. Result: whether it came
/// back to `reply` with the body answered.
///
/// # Safety
/// `m` is the caller's own memory of `len` bytes; `server` and `reply` are alleged.
unsafe fn round_trip(server: *mut MsgPort, reply: *mut MsgPort, m: *mut Message, len: usize, word: u64) -> bool {
    // SAFETY: per the contract; every exec call is checked by the gate.
    unsafe {
        m.write(Message::new(reply, len));
        (m.add(1) as *mut u64).write(word);
        sys::put_msg(server, m);
        // The header is the task's own to scribble: the kernel keeps what it needs elsewhere
        // (a transferred message is not even mapped to us now: we leave it alone).
        if !(m as u64).is_multiple_of(4096) {
            core::ptr::write_bytes(m as *mut u8, 0xc3, size_of::<Message>());
        }
        let back = loop {
            sys::wait_port(reply);
            let b = sys::get_msg(reply);
            if !b.is_null() {
                break b;
            }
        };
        back == m && (m.add(1) as *const u64).read() == word + 1
    }
}

/// Ring 3: tries forged reply ports, then real round trips by copy and by transfer, with
/// frees of lent memory on the way.
extern "C" fn hostile_client(block: u64) -> ! {
    let c = block as *mut Client;
    // SAFETY: our own block; exec calls are checked by the gate.
    unsafe {
        let server = sys::find_port("r3.victim");
        let reply = sys::create_port(None, 0);
        let other = sys::create_port(None, 0);
        let page = sys::alloc_mem(4096, MemFlags::ANY) as *mut Message;
        let inner = (page as *mut u8).add(256) as *mut Message;
        // Forged reply ports: nonsense, a kernel address (our parent's task), the server's
        // own port (a real handle, not ours), our port's handle with its generation bumped,
        // the gate's error codes. Each put must be refused, and nothing queued.
        let forged: [u64; 6] = [0xdead_beef_0000, (*c).parent, server as u64, (reply as u64) ^ (1 << 32), u64::MAX - 1, 1];
        for f in forged {
            inner.write(Message::new(f as *mut MsgPort, MSG_LEN));
            (*c).forged_tried += 1;
            if crate::user::put_msg(server as u64, inner as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER {
                (*c).forged_refused += 1;
            }
        }
        // The same through do_msg (one gate call: put, then wait at the reply port), and a
        // null reply port too, which a plain put allows but do_msg could never wait on: each
        // refused before anything is sent (one that got through would end the server: its
        // first word says so, and the round trips below would never come back).
        for f in forged.into_iter().chain([0]) {
            inner.write(Message::new(f as *mut MsgPort, MSG_LEN));
            (inner.add(1) as *mut u64).write(u64::MAX);
            (*c).forged_tried += 1;
            if crate::user::do_msg(server as u64, inner as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER {
                (*c).forged_refused += 1;
            }
        }
        // Valid-looking combined calls wrong in one field: a way of sending that is none (the
        // header is good: one delivered would end the server), a reply of a view it never
        // held (one it will hold, 8 bytes on), and a wait at the server's port, not its own.
        inner.write(Message::new(reply, MSG_LEN));
        (inner.add(1) as *mut u64).write(u64::MAX);
        let calls = [
            crate::user::do_msg(server as u64, inner as u64, 7),
            crate::user::reply_wait(inner as u64 + 8, reply as u64),
            crate::user::reply_wait(0, server as u64),
        ];
        for res in calls {
            (*c).forged_tried += 1;
            (*c).forged_refused += u64::from(res == crate::gate::ERR_BAD_POINTER);
        }
        // A message by copy from inside a block: the block cannot be freed while it is out.
        inner.write(Message::new(reply, MSG_LEN));
        (inner.add(1) as *mut u64).write(41);
        sys::put_msg(server, inner);
        sys::free_mem(page as *mut u8, 4096);
        // Still ours: the free was refused (had it not been, this write would fault).
        (page as *mut u64).write(7);
        (*c).lent_free_refused += 1;
        // Nor may it go by transfer (its pages would move under the message it lends), though
        // its header is a valid one.
        page.write(Message::new(reply, 4096));
        let t = crate::user::put_msg(server as u64, page as u64, crate::msg::PUT_TRANSFER);
        (*c).lent_transfer_refused += u64::from(t == crate::gate::ERR_BAD_POINTER);
        sys::wait_port(reply);
        let back = sys::get_msg(reply);
        if back == inner && (inner.add(1) as *const u64).read() == 42 {
            (*c).round_trips_ok += 1;
        }
        // Round trips by copy and by transfer, our header scribbled while out; and a reply
        // to our second port, to see the reply goes where the put said.
        for i in 0..4u64 {
            let (m, len) = if i % 2 == 0 { (inner, MSG_LEN) } else { (page, 4096) };
            let to = if i < 2 { reply } else { other };
            if round_trip(server, to, m, len, 100 * i) {
                (*c).round_trips_ok += 1;
            }
        }
        // And one through exec's do_msg, as a program calls it.
        inner.write(Message::new(reply, MSG_LEN));
        (inner.add(1) as *mut u64).write(500);
        if sys::do_msg(server, inner) == inner && (inner.add(1) as *const u64).read() == 501 {
            (*c).round_trips_ok += 1;
        }
        sys::free_mem(page as *mut u8, 4096);
        // End the server.
        let last = sys::alloc_mem(MSG_LEN, MemFlags::ANY) as *mut Message;
        last.write(Message::new(core::ptr::null_mut(), MSG_LEN));
        (last.add(1) as *mut u64).write(u64::MAX);
        sys::put_msg(server, last);
        sys::signal((*c).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Starts the victim server and the hostile client, and waits for the client's report.
/// Result: what it found, and the gate's refusals meanwhile.
fn clash() -> Result<Client, alloc::string::String> {
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let server = crate::user::add_user_task("r3-victim", 0, victim_server, me3() as u64);
    ensure!(!server.is_null(), "no memory for the server");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (t, block) = hostile("r3-hostile-client", 0, hostile_client, Client { parent: me3() as u64, ..Client::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the client wrote its findings before signalling, and waits.
    let c = unsafe { (block as *const Client).read() };
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-hostile-client", 500) && gone("r3-victim", 500), "the tasks did not end");
    Ok(c)
}

/// A header whose reply port is forged (nonsense, a kernel address, another task's port,
/// a stale handle, an error code) is refused at put and at do_msg (where a null one is refused
/// too); so are do_msg with no way of sending, and reply_wait of a view not held or at a port
/// not the caller's; nothing is queued, the server goes on.
fn forged_reply_port_refused() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let c = clash()?;
    ensure_eq!(c.forged_refused, c.forged_tried);
    ensure_eq!(c.forged_tried, 16);
    ensure_eq!(c.round_trips_ok, 6, "round trips after the forgeries");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// The sender scribbles over its header while its message is out, the receiver over its view
/// of a queued message and of one it holds: the kernel's queues and the replies are unmoved
/// (every round trip comes back to the port the put named, answered).
fn scribbled_headers_change_nothing() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    let c = clash()?;
    ensure_eq!(c.round_trips_ok, 6);
    ensure_eq!(exec::execbase::counters().alert_count, alerts, "exec saw a corrupt queue");
    Ok(())
}

/// Memory lent out cannot be freed by either end until the message is done with: the
/// sender's block holding a message sent by copy, the receiver's view it holds; afterwards
/// the block frees, and memory returns to its baseline.
fn lent_memory_cannot_be_freed() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let bad0 = crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst);
    let c = clash()?;
    ensure_eq!(c.lent_free_refused, 1);
    ensure_eq!(c.lent_transfer_refused, 1);
    // The forged puts (6), the sender's free and transfer while lent (2), and the server's
    // free of each view it held (5).
    let bad = crate::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst) - bad0;
    ensure!(bad >= 6 + 2 + 5, "{bad} refusals");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}


// --- a ring-0 message at a ring-3 port ----------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct Crossing {
    parent: *mut Task,
    /// What get_msg gave it (the view of a message, or 0).
    got: u64,
    /// The body it found there.
    seen: [u8; 8],
    /// Reply (1) or end holding it (0).
    reply: u64,
}

/// A ring-0 message with a body.
#[repr(C)]
struct Letter {
    msg: Message,
    body: [u8; 16],
}

/// Ring 3: a public port "r3.cross"; once told (CTRL_E), looks at what is there and takes it
/// (exec's classic wait_port, then get_msg: the same message both times), reads its body,
/// answers in it, scribbles over its view's header, and replies (or ends holding it).
extern "C" fn cross_receiver(block: u64) -> ! {
    let b = block as *mut Crossing;
    // SAFETY: our own block and port; the view is our own memory; the parent is alleged to
    // the gate.
    unsafe {
        let port = sys::create_port(Some("r3.cross"), 0);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        let peek = sys::wait_port(port) as u64;
        let view = sys::get_msg(port) as *mut Letter;
        // 1: the look and the take did not give the same message.
        (*b).got = if peek == view as u64 { view as u64 } else { 1 };
        if !view.is_null() {
            let body = &mut (*view).body;
            (*b).seen.copy_from_slice(&body[..8]);
            body[8..].copy_from_slice(b"answered");
            (*view).msg.length = 0xdead_beef;
            (*view).msg.reply_port = 0x1234 as *mut exec::port::MsgPort;
            if (*b).reply == 1 {
                sys::reply_msg(view as *mut Message);
            }
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-0 task's plain message to a ring-3 port is delivered as a copy in the receiver's
/// memory; the reply brings the body back, and nothing the receiver wrote in its copy's
/// header reaches the original. A receiver that ends holding one sends it back marked
/// receiver-gone, and so does one that ends with one waiting at its port.
fn ring0_message_to_ring3_is_delivered() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    for reply_it in [1, 0] {
        let (t, block) = hostile("r3-cross", 0, cross_receiver, Crossing { parent: me3(), got: u64::MAX, seen: [0; 8], reply: reply_it })?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        let port = exec::port::find_port("r3.cross");
        ensure!(!port.is_null(), "no public port r3.cross");
        let reply = exec::port::create_msg_port();
        let mut letter = Letter { msg: Message::new(reply, size_of::<Letter>()), body: *b"question????????" };
        // SAFETY: live ports; the message lives on this frame until it is back.
        unsafe { exec::port::put_msg(port, &mut letter.msg) };
        // SAFETY: the receiver waits for CTRL_E.
        unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: written before the signal; the task waits.
        let c = unsafe { *(block as *const Crossing) };
        ensure!(c.got != 1, "wait_port looked at one message and get_msg took another");
        ensure!(c.got != 0 && c.got != &raw const letter as u64, "ring 3 was handed {:#x}, not a copy", c.got);
        ensure_eq!(&c.seen, b"question");
        if reply_it == 0 {
            // SAFETY: the receiver waits for CTRL_E, then ends holding the message.
            unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
            ensure!(gone("r3-cross", 500));
        }
        // SAFETY: our reply port; the message came back to it.
        let back = unsafe { exec::port::get_msg(reply) };
        ensure!(core::ptr::eq(back, &letter.msg), "the message did not come back");
        ensure_eq!((letter.msg.length, letter.msg.reply_port), (size_of::<Letter>(), reply), "the header is the sender's");
        if reply_it == 1 {
            ensure_eq!(letter.msg.error, 0);
            ensure_eq!(&letter.body, b"questionanswered");
        } else {
            ensure_eq!(letter.msg.error, exec::port::MSG_ERR_RECEIVER_GONE);
            ensure_eq!(&letter.body, b"question????????", "nothing copied back from a receiver that is gone");
        }
        // SAFETY: our port, empty.
        unsafe { exec::port::delete_msg_port(reply) };
        if reply_it == 1 {
            // SAFETY: the receiver is live and waits.
            unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
            ensure!(gone("r3-cross", 500));
        }
    }
    // One left waiting at the port of a receiver that ends: back, receiver-gone.
    let (t, _) = hostile("r3-cross", 0, cross_receiver, Crossing { parent: me3(), got: 0, seen: [0; 8], reply: 1 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let port = exec::port::find_port("r3.cross");
    let reply = exec::port::create_msg_port();
    let mut first = Letter { msg: Message::new(reply, size_of::<Letter>()), body: [1; 16] };
    let mut second = Letter { msg: Message::new(reply, size_of::<Letter>()), body: [2; 16] };
    // SAFETY: live ports; both messages live on this frame until they are back.
    unsafe {
        exec::port::put_msg(port, &mut first.msg);
        exec::port::put_msg(port, &mut second.msg);
        exec::signal::signal(t, SIGF_CTRL_E);
    }
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the receiver waits for CTRL_E, then ends with `second` still at its port.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-cross", 500));
    // SAFETY: our reply port; both came back.
    unsafe {
        ensure!(!exec::port::get_msg(reply).is_null() && !exec::port::get_msg(reply).is_null(), "both came back");
        exec::port::delete_msg_port(reply);
    }
    ensure_eq!((first.msg.error, second.msg.error), (0, exec::port::MSG_ERR_RECEIVER_GONE));
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

// --- held messages whose headers the holder wrote over -------------------------------------

/// How many messages the holder sends itself and holds at once.
const HELD: usize = 5;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Holder {
    parent: u64,
    /// Messages taken (of HELD).
    taken: u64,
    /// Replies of scribbled views, made out of order, that the gate accepted.
    replies_ok: u64,
    /// A view 8 bytes on, and a view replied already: refused (2).
    forged_refused: u64,
    /// Messages back at the reply port, each the one sent, its body as it was (HELD).
    back_ok: u64,
}

/// Ring 3: sends itself HELD messages (by transfer from whole blocks, by copy from inside
/// one), takes them all, writes over the header of every view (the ticket the kernel left
/// there with it, as a program that links received messages into a list of its own does),
/// and replies them out of order; forged replies are refused; every message comes back.
extern "C" fn holder(block: u64) -> ! {
    let c = block as *mut Holder;
    // SAFETY: our own block and memory; exec calls are checked by the gate.
    unsafe {
        let inbox = sys::create_port(None, 0);
        let reply = sys::create_port(None, 0);
        let mut sent = [core::ptr::null_mut::<Message>(); HELD];
        for (i, m) in sent.iter_mut().enumerate() {
            let block = sys::alloc_mem(4096, MemFlags::ANY);
            // Even ones a whole block (transfer), odd ones inside one (copy).
            *m = if i % 2 == 0 { block as *mut Message } else { block.add(128) as *mut Message };
            let len = if i % 2 == 0 { 4096 } else { MSG_LEN };
            m.write(Message::new(reply, len));
            (m.add(1) as *mut u64).write(1000 + i as u64);
            sys::put_msg(inbox, *m);
        }
        let mut views = [0u64; HELD];
        for v in views.iter_mut() {
            *v = crate::user::wait_get(inbox as u64);
            (*c).taken += u64::from(*v != 0);
        }
        for &v in &views {
            core::ptr::write_bytes(v as *mut u8, 0xa5, size_of::<Message>());
        }
        (*c).forged_refused += u64::from(crate::user::reply_msg(views[1] + 8) == crate::gate::ERR_BAD_POINTER);
        // Out of order: the middle first, then from the end, so that every reply finds its
        // message in a list that others' replies have reordered.
        for i in [2, 4, 0, 3, 1] {
            (*c).replies_ok += u64::from(crate::user::reply_msg(views[i]) == 0);
        }
        (*c).forged_refused += u64::from(crate::user::reply_msg(views[2]) == crate::gate::ERR_BAD_POINTER);
        for _ in 0..HELD {
            let b = crate::user::wait_get(reply as u64) as *mut Message;
            if let Some(i) = sent.iter().position(|&m| m == b)
                && (b.add(1) as *const u64).read() == 1000 + i as u64
            {
                (*c).back_ok += 1;
            }
        }
        sys::signal((*c).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A task that wrote over the headers of the messages it holds still replies each of them
/// (the kernel finds them among the messages that task holds, whatever the order of the
/// replies); a view it does not hold is refused; every message comes back intact, off the
/// kernel's lists of what the task holds and sent; memory returns to its baseline.
fn held_messages_replied_without_their_tickets() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-holder", 0, holder, Holder { parent: me3() as u64, ..Holder::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the holder wrote its findings before signalling, and waits.
    let c = unsafe { (block as *const Holder).read() };
    // The kernel's lists of what it holds and of what it sent are empty again: each reply,
    // and each reply taken back, took its own entry out, whatever the order (an entry left
    // behind would be found again, but the list would grow).
    // SAFETY: the holder is live and waits; its space is not changed meanwhile.
    let still_listed = unsafe { ((*t).space() as *const crate::space::Space).as_ref() }.map(|s| (s.held().len(), s.sent().len()));
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-holder", 500), "the holder did not end");
    ensure_eq!(still_listed, Some((0, 0)), "messages still listed as held or sent after every reply came back");
    ensure_eq!(c.taken, HELD as u64);
    ensure_eq!(c.replies_ok, HELD as u64, "replies of views whose headers were written over");
    ensure_eq!(c.forged_refused, 2);
    ensure_eq!(c.back_ok, HELD as u64, "messages back, each intact");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

// --- a flood of messages ------------------------------------------------------------------

/// Messages the flooder tries to have out at once (more than it may).
const FLOOD: usize = 80;
/// Bytes between two of its messages.
const FLOOD_STRIDE: usize = 128;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Flood {
    parent: u64,
    /// Puts accepted and refused while none was taken.
    accepted: u64,
    refused: u64,
    /// The first message back, once taken, replied and its reply taken (1).
    back_ok: u64,
    /// A put after that one was done with: accepted (1).
    after: u64,
}

/// Ring 3: puts messages to its own port, taking none, until refused; then takes one, replies
/// it and takes the reply back (done with), and puts one more.
extern "C" fn flooder(block: u64) -> ! {
    let c = block as *mut Flood;
    // SAFETY: our own block and memory; exec calls are checked by the gate.
    unsafe {
        let inbox = sys::create_port(None, 0) as u64;
        let reply = sys::create_port(None, 0);
        let area = sys::alloc_mem(FLOOD * FLOOD_STRIDE, MemFlags::ANY);
        let letter = |i: usize| {
            let m = area.add(i * FLOOD_STRIDE) as *mut Message;
            m.write(Message::new(reply, MSG_LEN));
            m as u64
        };
        for i in 0..FLOOD {
            if crate::user::put_msg(inbox, letter(i), crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER {
                (*c).refused += 1;
            } else {
                (*c).accepted += 1;
            }
        }
        let view = crate::user::wait_get(inbox);
        crate::user::reply_msg(view);
        (*c).back_ok = u64::from(crate::user::wait_get(reply as u64) == area as u64);
        (*c).after = u64::from(crate::user::put_msg(inbox, letter(FLOOD - 1), crate::msg::PUT_COPY) != crate::gate::ERR_BAD_POINTER);
        sys::signal((*c).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A task has at most `policy::TASK_MESSAGES` messages out (each holds a kernel record): puts
/// past it are refused; one done with (replied and its reply taken) makes room for one more;
/// the kernel's list of what it sent holds exactly those out; at its end, every one (at its
/// own port) goes and memory is back at its baseline.
fn messages_in_flight_are_bounded() -> TestResult {
    let bound = crate::policy::TASK_MESSAGES as u64;
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-flooder", 0, flooder, Flood { parent: me3() as u64, ..Flood::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the flooder wrote its findings before signalling, and waits.
    let c = unsafe { (block as *const Flood).read() };
    // SAFETY: the flooder is live and waits; its space is not changed meanwhile.
    let listed = unsafe { ((*t).space() as *const crate::space::Space).as_ref() }.map(|s| s.sent().len() as u64);
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-flooder", 500), "the flooder did not end");
    ensure_eq!((c.accepted, c.refused), (bound, FLOOD as u64 - bound), "puts accepted and refused");
    ensure_eq!(c.back_ok, 1, "the first message back");
    ensure_eq!(c.after, 1, "a put once one was done with");
    ensure_eq!(listed, Some(bound), "messages listed as sent");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}
