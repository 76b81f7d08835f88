//! mmu-mode's in-kernel tests of lent buffers (`msg/lend.rs`): a ring-3 client lends a server
//! one buffer to read and one to write, to a ring-3 server (msg_read and msg_write through the
//! gate) and to a ring-0 one (read_lent, write_lent); every refusal, each with input that is
//! valid but for one field: tables wrong in one entry at the put, the wrong index, access,
//! offset or buffer at the copy, a message not held or no longer held, a sender that ended.

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys;
use exec::lend::{msg_read, msg_write};
use exec::sys_gate::{Call, ERR_BAD_POINTER, GateError, LEND_READ, LEND_WRITE, Lend, Lends, raw_call, raw_call5};
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::msg::{PUT_COPY, PUT_LENDS};

pub static TESTS: &[Test] = &[
    Test::new("mmu.msg.lend_ring3", lend_ring3),
    Test::new("mmu.msg.lend_ring0", lend_ring0),
    Test::new("mmu.msg.lend_ring0_to_ring0", lend_ring0_to_ring0),
    Test::new("mmu.msg.no_reply_into_pages_given_back", no_reply_into_pages_given_back),
    Test::new("mmu.msg.lend_receiver_ends", lend_receiver_ends),
    Test::new("mmu.msg.ring0_lender_ends", ring0_lender_ends),
];

/// What the client lends to be read.
const TEXT: &[u8] = b"the client's words, lent to be read";
/// What the server writes into the buffer lent to be written.
const ANSWER: &[u8] = b"answer";
const HEADER: usize = size_of::<Message>();
/// A message with a lends table (its last bytes) and nothing else.
const LEN: usize = HEADER + size_of::<Lends>();

/// What the client did and saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Client {
    parent: u64,
    /// Ring 3 (0) or ring 0's port (1).
    to_ring0: u64,
    /// Puts refused for a table wrong in one field.
    put_refused: u64,
    /// The lent block's free refused while the message was out; allowed once it was back.
    free_refused: u64,
    freed_after: u64,
    /// The answer found in the buffer lent to be written.
    answered: u64,
}

/// What the ring-3 server did and saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Server {
    parent: u64,
    /// The text read in full, and its tail from an offset (clamped at the buffer's end).
    read: u64,
    tail: u64,
    /// 0 bytes at the buffer's end.
    at_end: u64,
    /// The answer written.
    wrote: u64,
    /// Copies refused, each wrong in one field.
    refused: u64,
    /// A copy refused once the message was replied; and from a sender that had ended.
    after_reply: u64,
    orphan: u64,
    /// A reply_wait of the held message at a port not ours (our port's handle, its generation
    /// bumped): refused whole, the message still held.
    reply_wait_kept: u64,
}

/// The message at `m` (`LEN` bytes) replying to `reply`, lending the read buffer `text` and
/// the write buffer `answer`; the two entries past the count hold junk, which the kernel must
/// not read.
///
/// # Safety
/// `m` is the caller's own memory of `LEN` bytes.
unsafe fn letter(m: *mut u8, reply: *mut MsgPort, text: u64, answer: u64) {
    let mut t = Lends { count: 2, ..Lends::default() };
    t.bufs[0] = Lend { addr: text, len: TEXT.len() as u64, access: LEND_READ };
    t.bufs[1] = Lend { addr: answer, len: 64, access: LEND_WRITE };
    t.bufs[2] = Lend { addr: u64::MAX - 1, len: u64::MAX, access: 0xff };
    t.bufs[3] = Lend { addr: 0xffff_8000_0000_0000, len: 1 << 40, access: LEND_READ | LEND_WRITE };
    // SAFETY: per the contract.
    unsafe {
        (m as *mut Message).write(Message::new(reply, LEN));
        (m.add(HEADER) as *mut Lends).write(t);
    }
}

/// Ring 3: the client. Refused puts first (each table wrong in one field), then one message
/// with its table scribbled while out and its lent block's free refused, then (to ring 3) a
/// second message, after which it ends without waiting.
extern "C" fn client(block: u64) -> ! {
    let c = block as *mut Client;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let parent = (*c).parent as *mut Task;
        let svc = sys::find_port(if (*c).to_ring0 == 1 { "r0.lend" } else { "lend.svc" });
        let reply = sys::create_port(None, 0);
        let m = sys::alloc_mem(4096, MemFlags::ANY);
        let data = sys::alloc_mem(4096, MemFlags::ANY);
        core::ptr::copy_nonoverlapping(TEXT.as_ptr(), data, TEXT.len());
        let (text, answer) = (data as u64, data as u64 + 512);
        let table = m.add(HEADER) as *mut Lends;
        let put = || crate::user::put_msg(svc as u64, m as u64, PUT_COPY | PUT_LENDS);
        // A block the client no longer has.
        let freed = sys::alloc_mem(4096, MemFlags::ANY);
        sys::free_mem(freed, 4096);
        // Each valid but for one field.
        let wrongs: [fn(&mut Lends, u64, u64); 8] = [
            |t, _, _| t.count = 5,
            |t, _, _| t.bufs[1].access = 4,
            |t, _, _| t.bufs[0].access = 0,
            // Kernel memory (the task's own record).
            |t, _, _| t.bufs[0].addr = crate::user::find_self(),
            // Read-only memory (the image's), lent to be written.
            |t, _, _| t.bufs[1].addr = TEXT.as_ptr() as u64,
            // Overlapping the message itself.
            |t, m, _| t.bufs[0].addr = m + 8,
            |t, _, _| (t.bufs[0].addr, t.bufs[0].len) = (u64::MAX - 8, 64),
            // Memory given back.
            |t, _, freed| t.bufs[1].addr = freed,
        ];
        for wrong in wrongs {
            letter(m, reply, text, answer);
            wrong(&mut *table, m as u64, freed as u64);
            (*c).put_refused += u64::from(put() == ERR_BAD_POINTER);
        }
        // A message too short to hold a table.
        letter(m, reply, text, answer);
        (*(m as *mut Message)).length = HEADER + 8;
        (*c).put_refused += u64::from(put() == ERR_BAD_POINTER);
        // The real one; its table scribbled while out (the kernel keeps its own).
        letter(m, reply, text, answer);
        if put() == 0 {
            (*table).bufs[0] = Lend { addr: crate::user::find_self(), len: 1 << 20, access: 3 };
            (*c).free_refused = u64::from(raw_call(Call::FreeMem, data as u64, 0, 0) == ERR_BAD_POINTER);
            sys::wait_port(reply);
            let back = sys::get_msg(reply);
            (*c).answered = u64::from(back as *mut u8 == m && core::slice::from_raw_parts(answer as *const u8, ANSWER.len()) == ANSWER);
            (*c).freed_after = u64::from(raw_call(Call::FreeMem, data as u64, 0, 0) == 0);
        }
        if (*c).to_ring0 == 0 {
            // A second message; the server takes it, and we end before it reads.
            let data = sys::alloc_mem(4096, MemFlags::ANY);
            core::ptr::copy_nonoverlapping(TEXT.as_ptr(), data, TEXT.len());
            letter(m, reply, data as u64, data as u64 + 512);
            put();
        }
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3: the server. Serves the first message in full (reads, writes, refusals), checks a
/// replied message is closed, then takes the second and, once told its sender has ended,
/// checks it lends nothing any more.
extern "C" fn server(block: u64) -> ! {
    let s = block as *mut Server;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let parent = (*s).parent as *mut Task;
        let port = sys::create_port(Some("lend.svc"), 0);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait_port(port);
        let m = sys::get_msg(port);
        let mut buf = [0u8; 64];
        let n = TEXT.len();
        (*s).read = u64::from(msg_read(m, 0, 0, &mut buf) == Ok(n) && &buf[..n] == TEXT);
        (*s).tail = u64::from(msg_read(m, 0, 4, &mut buf) == Ok(n - 4) && buf[..n - 4] == TEXT[4..]);
        (*s).at_end = u64::from(msg_read(m, 0, n, &mut buf) == Ok(0));
        (*s).wrote = u64::from(msg_write(m, 1, 0, ANSWER) == Ok(ANSWER.len()));
        let refused = |r: Result<usize, GateError>| u64::from(r == Err(GateError::BadPointer));
        let mut no = 0;
        no += refused(msg_write(m, 0, 0, b"x")); // lent to be read only
        no += refused(msg_read(m, 1, 0, &mut buf)); // lent to be written only
        no += refused(msg_read(m, 2, 0, &mut buf)); // no third buffer
        no += refused(msg_read(m, 0, n + 1, &mut buf)); // past the end
        no += refused(msg_read((m as *mut u8).add(8) as *mut Message, 0, 0, &mut buf)); // not a message we hold
        // Into memory that is not ours to write: the kernel's (our own task record) and the
        // image's read-only text.
        no += u64::from(raw_call5(Call::MsgRead, m as u64, 0, 0, crate::user::find_self(), 8) == ERR_BAD_POINTER);
        no += u64::from(raw_call5(Call::MsgRead, m as u64, 0, 0, TEXT.as_ptr() as u64, 8) == ERR_BAD_POINTER);
        // From memory that is not ours to read: a kernel address.
        no += u64::from(raw_call5(Call::MsgWrite, m as u64, 1, 0, crate::user::find_self(), 8) == ERR_BAD_POINTER);
        (*s).refused = no;
        let forged_port = (port as u64) ^ (1 << 32);
        (*s).reply_wait_kept = u64::from(crate::user::reply_wait(m as u64, forged_port) == ERR_BAD_POINTER && msg_read(m, 0, 0, &mut buf) == Ok(n));
        sys::reply_msg(m);
        (*s).after_reply = refused(msg_read(m, 0, 0, &mut buf));
        // The second message: held while its sender ends.
        sys::wait_port(port);
        let m2 = sys::get_msg(port);
        sys::signal(parent, SIGF_CTRL_E);
        sys::wait(SIGF_CTRL_D);
        (*s).orphan = refused(msg_read(m2, 0, 0, &mut buf));
        sys::reply_msg(m2);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Between two ring-3 tasks: the server reads and writes what the client lends, and nothing
/// else; every wrong table and every wrong copy is refused; memory returns to its baseline.
fn lend_ring3() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (st, sblock) = hostile("lend-server", 0, server, Server { parent: me3() as u64, ..Server::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let (ct, cblock) = hostile("lend-client", 0, client, Client { parent: me3() as u64, ..Client::default() })?;
    // The client is done (its second message out); the server holds that message.
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the client waits.
    let c = unsafe { (cblock as *const Client).read() };
    exec::signal::wait(SIGF_CTRL_E);
    // SAFETY: the client waits for CTRL_E, then ends.
    unsafe { exec::signal::signal(ct, SIGF_CTRL_E) };
    ensure!(gone("lend-client", 500), "the client did not end");
    // SAFETY: the server waits for CTRL_D.
    unsafe { exec::signal::signal(st, SIGF_CTRL_D) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the server waits.
    let s = unsafe { (sblock as *const Server).read() };
    // SAFETY: the server waits for CTRL_E, then ends.
    unsafe { exec::signal::signal(st, SIGF_CTRL_E) };
    ensure!(gone("lend-server", 500), "the server did not end");
    ensure_eq!(c.put_refused, 9, "tables wrong in one field, and a message too short for one");
    ensure_eq!((c.free_refused, c.freed_after, c.answered), (1, 1, 1), "the lent block held while out; the answer back");
    ensure_eq!((s.read, s.tail, s.at_end, s.wrote), (1, 1, 1, 1), "reads (whole, from an offset, at the end) and the write");
    ensure_eq!(s.refused, 8, "copies wrong in one field");
    ensure_eq!((s.after_reply, s.orphan), (1, 1), "a replied message and an ended sender's lend nothing");
    ensure_eq!(s.reply_wait_kept, 1, "reply_wait at a port not ours replies nothing");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// A ring-3 client lends to a ring-0 server, which copies through read_lent and write_lent;
/// the same refusals at the put; ring 0's own messages and replied ones lend nothing.
fn lend_ring0() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let port = exec::port::create_port(Some("r0.lend"), 0);
    ensure!(!port.is_null(), "no port");
    // SAFETY: our own live port, deleted below.
    unsafe { crate::msg::open_to_ring3(port) };
    let (ct, cblock) = hostile("lend-client0", 0, client, Client { parent: me3() as u64, to_ring0: 1, ..Client::default() })?;
    let mut buf = [0u8; 64];
    let n = TEXT.len();
    // SAFETY: our port; the copy is ours until we reply it.
    let m = unsafe {
        exec::port::wait_port(port);
        exec::port::get_msg(port)
    };
    // The kernel's record names the client as the sender (not a spare envelope's last one).
    // SAFETY: the client is live: it waits for our reply.
    ensure_eq!(crate::msg::ring3_sender(m), Some(unsafe { (*ct).id() }), "the sender's task number");
    ensure_eq!(crate::msg::read_lent(m, 0, 0, &mut buf), Ok(n as u64));
    ensure!(&buf[..n] == TEXT, "the text as lent");
    ensure_eq!(crate::msg::write_lent(m, 1, 0, ANSWER), Ok(ANSWER.len() as u64));
    ensure_eq!(crate::msg::write_lent(m, 0, 0, b"x"), Err(GateError::BadPointer), "lent to be read only");
    ensure_eq!(crate::msg::read_lent(m, 1, 0, &mut buf), Err(GateError::BadPointer), "lent to be written only");
    ensure_eq!(crate::msg::read_lent(m, 2, 0, &mut buf), Err(GateError::BadPointer), "no third buffer");
    let own = Message::new(core::ptr::null_mut(), HEADER);
    ensure_eq!(crate::msg::read_lent(&own, 0, 0, &mut buf), Err(GateError::BadPointer), "ring 0's own message");
    // SAFETY: the message we hold.
    unsafe { exec::port::reply_msg(m) };
    // The relay (above us) takes the reply at once.
    ensure_eq!(crate::msg::read_lent(m, 0, 0, &mut buf), Err(GateError::BadPointer), "a replied message");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the client waits.
    let c = unsafe { (cblock as *const Client).read() };
    // SAFETY: the client waits for CTRL_E, then ends.
    unsafe { exec::signal::signal(ct, SIGF_CTRL_E) };
    ensure!(gone("lend-client0", 500), "the client did not end");
    // SAFETY: our port, empty.
    unsafe { exec::port::delete_msg_port(port) };
    ensure_eq!(c.put_refused, 9, "tables wrong in one field, and a message too short for one");
    ensure_eq!((c.free_refused, c.freed_after, c.answered), (1, 1, 1), "the lent block held while out; the answer back");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// What the ring-0 server of `lend_ring0_to_ring0` saw: the text read, the answer written,
/// refusals (index, way, offset), and a copy refused once the message was back.
static SEEN: [core::sync::atomic::AtomicU64; 4] = [const { core::sync::atomic::AtomicU64::new(0) }; 4];

/// Ring 0: serves one message at the port "r0.lend2" (its address in `port`).
fn ring0_server(port: usize) {
    use core::sync::atomic::Ordering::SeqCst;
    let port = port as *mut MsgPort;
    let mut buf = [0u8; 64];
    let n = TEXT.len();
    // SAFETY: our port; the message is ours until we reply it.
    let m = unsafe {
        exec::port::wait_port(port);
        exec::port::get_msg(port)
    };
    let read = exec::lend::msg_read(m, 0, 0, &mut buf) == Ok(n) && &buf[..n] == TEXT;
    SEEN[0].store(u64::from(read), SeqCst);
    SEEN[1].store(u64::from(exec::lend::msg_write(m, 1, 0, ANSWER) == Ok(ANSWER.len())), SeqCst);
    let refused = |r: Result<usize, GateError>| u64::from(r == Err(GateError::BadPointer));
    let no = refused(exec::lend::msg_write(m, 0, 0, b"x")) + refused(exec::lend::msg_read(m, 1, 0, &mut buf)) + refused(exec::lend::msg_read(m, 2, 0, &mut buf)) + refused(exec::lend::msg_read(m, 0, n + 1, &mut buf));
    SEEN[2].store(no, SeqCst);
    // SAFETY: the message we hold.
    unsafe { exec::port::reply_msg(m) };
    // The sender (above us) has its message back and its registration ended.
    SEEN[3].store(refused(exec::lend::msg_read(m, 0, 0, &mut buf)), SeqCst);
}

/// Between two ring-0 tasks: the sender's registration is what the holder copies by (ring 0
/// trusted on both ends, the same calls as from ring 3), with the same refusals, and it ends
/// with the message's return.
fn lend_ring0_to_ring0() -> TestResult {
    use core::sync::atomic::Ordering::SeqCst;
    let port = exec::port::create_port(Some("r0.lend2"), 0);
    ensure!(!port.is_null(), "no port");
    let server = exec::ktest_util::spawn("lend-server0", -1, ring0_server, port as usize)?;
    let mut text = [0u8; 64];
    text[..TEXT.len()].copy_from_slice(TEXT);
    let mut answer = [0u8; 64];
    let mut lends = Lends { count: 2, ..Lends::default() };
    lends.bufs[0] = Lend { addr: text.as_ptr() as u64, len: TEXT.len() as u64, access: LEND_READ };
    lends.bufs[1] = Lend { addr: answer.as_mut_ptr() as u64, len: 64, access: LEND_WRITE };
    let reply = exec::port::create_msg_port();
    let mut m = Message::new(reply, HEADER);
    // SAFETY: our message, port and buffers, all live until do_msg returns.
    let back = unsafe { exec::lend::do_msg_lending(port, &mut m, &lends) };
    ensure!(core::ptr::eq(back, &m), "the message back");
    server.join();
    // SAFETY: our ports, empty.
    unsafe {
        exec::port::delete_msg_port(reply);
        exec::port::delete_msg_port(port);
    }
    ensure_eq!(&answer[..ANSWER.len()], ANSWER);
    let seen: [u64; 4] = core::array::from_fn(|i| SEEN[i].load(SeqCst));
    ensure_eq!(seen, [1, 1, 4, 1], "read, written, four refusals, refused once back");
    Ok(())
}

/// The two tasks of `no_reply_into_pages_given_back`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Pair {
    parent: u64,
    /// The owner's block, and whether its free went through once it was back.
    block: u64,
    freed: u64,
    /// Whether the borrower's reply of its copy was taken.
    replied: u64,
}

/// Ring 3: owns a block, lends it by transfer to "uaf.r", frees it once it is back.
extern "C" fn owner(block: u64) -> ! {
    let p = block as *mut Pair;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let to = sys::find_port("uaf.r");
        let reply = sys::create_port(None, 0);
        let b = sys::alloc_mem(4096, MemFlags::ANY) as *mut Message;
        b.write(Message::new(reply, 256));
        (*p).block = b as u64;
        crate::user::put_msg(to as u64, b as u64, crate::msg::PUT_TRANSFER);
        sys::wait_port(reply);
        sys::get_msg(reply);
        (*p).freed = u64::from(raw_call(Call::FreeMem, b as u64, 0, 0) == 0);
        sys::signal((*p).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3: lent the owner's block by transfer, sends itself a message by copy from inside it,
/// gives the block back; told to, takes its copy, writes over it and replies it (the reply
/// would copy into the block, which the owner has freed since).
extern "C" fn borrower(block: u64) -> ! {
    let p = block as *mut Pair;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let parent = (*p).parent as *mut Task;
        let port = sys::create_port(Some("uaf.r"), 0);
        let reply = sys::create_port(None, 0);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait_port(port);
        let lent = sys::get_msg(port);
        let inner = (lent as *mut u8).add(1024) as *mut Message;
        inner.write(Message::new(reply, 128));
        crate::user::put_msg(port as u64, inner as u64, PUT_COPY);
        sys::reply_msg(lent);
        sys::signal(parent, SIGF_CTRL_E);
        sys::wait(SIGF_CTRL_D);
        sys::wait_port(port);
        let copy = sys::get_msg(port) as *mut u8;
        core::ptr::write_bytes(copy.add(HEADER), 0xee, 128 - HEADER);
        (*p).replied = u64::from(crate::user::reply_msg(copy as u64) == 0);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A message sent by copy from pages another task lent by transfer, replied after those pages
/// went back and were freed: the reply writes nothing there (the kernel checks that the sender
/// may still write its original when the reply comes, not only at the put). Found by review:
/// before, the loan was counted on no block, and the reply wrote into freed memory.
fn no_reply_into_pages_given_back() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (rt, rblock) = hostile("uaf-borrower", 0, borrower, Pair { parent: me3() as u64, ..Pair::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (at, ablock) = hostile("uaf-owner", 0, owner, Pair { parent: me3() as u64, ..Pair::default() })?;
    // The borrower gave the block back (CTRL_E) and the owner freed it (CTRL_F).
    let mut seen = 0;
    while seen != SIGF_CTRL_E | SIGF_CTRL_F {
        seen |= exec::signal::wait(SIGF_CTRL_E | SIGF_CTRL_F);
    }
    // SAFETY: written before the signal; the owner waits.
    let a = unsafe { (ablock as *const Pair).read() };
    ensure_eq!(a.freed, 1, "the owner freed its block once it was back");
    // What the freed block holds where the borrower's message was (read only: it is free).
    let at_msg = (a.block + 1024) as *const [u8; 128];
    // SAFETY: exec memory, mapped in the kernel's tables; read, never written.
    let before = unsafe { at_msg.read_volatile() };
    // SAFETY: the borrower waits for CTRL_D.
    unsafe { exec::signal::signal(rt, SIGF_CTRL_D) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: as above.
    let after = unsafe { at_msg.read_volatile() };
    // SAFETY: written before the signal; the borrower waits.
    let r = unsafe { (rblock as *const Pair).read() };
    ensure_eq!(r.replied, 1, "the reply itself is taken");
    ensure!(before == after, "the reply wrote into freed memory");
    // SAFETY: both wait for CTRL_E, then end.
    unsafe {
        exec::signal::signal(at, SIGF_CTRL_E);
        exec::signal::signal(rt, SIGF_CTRL_E);
    }
    ensure!(gone("uaf-owner", 500) && gone("uaf-borrower", 500), "the tasks did not end");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// What the client of `lend_receiver_ends` saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Ended {
    parent: u64,
    /// The lent block's free refused while out; the message back marked receiver-gone; the
    /// free allowed then.
    free_refused: u64,
    gone: u64,
    freed_after: u64,
}

/// Ring 3: takes one message at "lend.svc2" and ends holding it.
extern "C" fn taker(parent: u64) -> ! {
    // SAFETY: every exec call is checked by the gate.
    unsafe {
        let port = sys::create_port(Some("lend.svc2"), 0);
        sys::signal(parent as *mut Task, SIGF_CTRL_F);
        sys::wait_port(port);
        sys::get_msg(port);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3: lends a block to "lend.svc2", whose task ends holding the message.
extern "C" fn lender(block: u64) -> ! {
    let c = block as *mut Ended;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let svc = sys::find_port("lend.svc2");
        let reply = sys::create_port(None, 0);
        let m = sys::alloc_mem(4096, MemFlags::ANY);
        let data = sys::alloc_mem(4096, MemFlags::ANY);
        letter(m, reply, data as u64, data as u64 + 512);
        if crate::user::put_msg(svc as u64, m as u64, PUT_COPY | PUT_LENDS) == 0 {
            (*c).free_refused = u64::from(raw_call(Call::FreeMem, data as u64, 0, 0) == ERR_BAD_POINTER);
            sys::wait_port(reply);
            let back = sys::get_msg(reply);
            (*c).gone = u64::from(back as *mut u8 == m && (*back).error == exec::port::MSG_ERR_RECEIVER_GONE);
            (*c).freed_after = u64::from(raw_call(Call::FreeMem, data as u64, 0, 0) == 0);
        }
        sys::signal((*c).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A receiver that ends while it holds a lending message: the message comes back marked
/// receiver-gone and the loans end with it (the lent block can be freed again).
fn lend_receiver_ends() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let t = crate::user::add_user_task("lend-taker", 0, taker, me3() as u64);
    ensure!(!t.is_null(), "no memory for the taker");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (ct, cblock) = hostile("lend-lender", 0, lender, Ended { parent: me3() as u64, ..Ended::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the lender waits.
    let c = unsafe { (cblock as *const Ended).read() };
    // SAFETY: the lender waits for CTRL_E, then ends.
    unsafe { exec::signal::signal(ct, SIGF_CTRL_E) };
    ensure!(gone("lend-lender", 500) && gone("lend-taker", 500), "the tasks did not end");
    ensure_eq!((c.free_refused, c.gone, c.freed_after), (1, 1, 1), "held while out; back receiver-gone; then free");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// The message the ring-0 lender of `ring0_lender_ends` sends (exec memory, so that it outlives
/// the lender), and the port it goes to.
static LENDER_MSG: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Ring 0: lends a buffer of its own in a message to the port at `port`, which nobody serves:
/// it waits there until it is ended.
fn ring0_lender(port: usize) {
    let buf = [0u8; 64];
    let m = exec::memory::alloc_mem(HEADER, MemFlags::PUBLIC) as *mut Message;
    if m.is_null() {
        return;
    }
    let mut lends = Lends { count: 1, ..Lends::default() };
    lends.bufs[0] = Lend { addr: buf.as_ptr() as u64, len: 64, access: LEND_READ };
    let reply = exec::port::create_msg_port();
    // SAFETY: a fresh block for the header; our buffer and port live while we wait.
    unsafe {
        m.write(Message::new(reply, HEADER));
        LENDER_MSG.store(m as usize, core::sync::atomic::Ordering::SeqCst);
        exec::lend::do_msg_lending(port as *mut MsgPort, m, &lends);
    }
}

/// A ring-0 lender that is ended while its message is out: its registration goes with it
/// (nothing can copy into the stack it had).
fn ring0_lender_ends() -> TestResult {
    let port = exec::port::create_msg_port();
    ensure!(!port.is_null(), "no port");
    LENDER_MSG.store(0, core::sync::atomic::Ordering::SeqCst);
    let t = exec::task::add_task("ring0-lender", 1, ring0_lender, port as usize, 16 * 1024);
    ensure!(!t.is_null(), "no memory for the lender");
    // SAFETY: our port; the lender's message arrives (it runs above us) and stays queued.
    let m = unsafe { exec::port::wait_port(port) };
    ensure_eq!(m as usize, LENDER_MSG.load(core::sync::atomic::Ordering::SeqCst), "the lender's message");
    ensure!(crate::msg::registered(m), "registered while out");
    // SAFETY: a live ring-0 task we started, waiting in do_msg.
    unsafe { exec::task::rem_task(t) };
    ensure!(!crate::msg::registered(m), "the registration outlived its lender");
    // SAFETY: our port, holding the message (exec memory of HEADER bytes, ours to free now).
    unsafe {
        let got = exec::port::get_msg(port);
        ensure_eq!(got, m);
        exec::memory::free_mem(m as *mut u8, HEADER);
        exec::port::delete_msg_port(port);
    }
    Ok(())
}
