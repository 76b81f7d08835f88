//! mmu-mode's in-kernel tests of messages from ring 3 to a ring-0 task's port
//! (`msg/ring3_to_ring0.rs`): round trips by put and by do_msg, a header scribbled while out, a
//! forged reply port, a port not opened to ring 3, a port deleted with a message waiting, and a
//! sender that ends while ring 0 holds its message.

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys;
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};

pub static TESTS: &[Test] = &[Test::new("mmu.msg.ring3_to_ring0", ring3_to_ring0)];

/// What the ring-3 client found.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Found {
    parent: u64,
    /// Round trips whose reply came back to the right port with the body answered.
    answered: u64,
    /// Puts refused: a forged reply port, a port not opened to ring 3 (its handle 0), a
    /// message too long for ring 0, a way of sending that is none.
    refused: u64,
    /// The message left at the port the server deleted: its error, and whether its body was
    /// left alone.
    gone_error: i32,
    gone_body_kept: u64,
}

const LEN: usize = size_of::<Message>() + 64;

/// A message of `LEN` bytes at `m`, replying to `reply`, with `word` first in its body.
///
/// # Safety
/// `m` is the caller's own memory of `LEN` bytes.
unsafe fn letter(m: *mut Message, reply: *mut MsgPort, word: u64) {
    // SAFETY: per the contract.
    unsafe {
        m.write(Message::new(reply, LEN));
        (m.add(1) as *mut u64).write(word);
    }
}

/// Ring 3: round trips to "r0.svc" (its header scribbled while out; two out at once), refusals,
/// then a message left at "r0.svc" for its deletion, then two to "r0.svc2" that it does not wait
/// for: it ends.
extern "C" fn client(block: u64) -> ! {
    let f = block as *mut Found;
    // SAFETY: our own block; every exec call is checked by the gate.
    unsafe {
        let parent = (*f).parent as *mut Task;
        let svc = sys::find_port("r0.svc");
        let reply = sys::create_port(None, 0);
        let page = sys::alloc_mem(4096, MemFlags::ANY) as *mut Message;
        // By put, from a whole block (it goes by copy all the same: ring 0 gets kernel memory).
        letter(page, reply, 41);
        sys::put_msg(svc, page);
        core::ptr::write_bytes(page as *mut u8, 0xc3, size_of::<Message>());
        sys::wait_port(reply);
        if sys::get_msg(reply) == page && (page.add(1) as *const u64).read() == 42 && (*page).error == 0 {
            (*f).answered += 1;
        }
        // By do_msg, from inside the block.
        let inner = (page as *mut u8).add(512) as *mut Message;
        letter(inner, reply, 100);
        if sys::do_msg(svc, inner) == inner && (inner.add(1) as *const u64).read() == 101 {
            (*f).answered += 1;
        }
        // Two out at once, answered in the reverse order (the kernel's list of what this task
        // sent has its entries moved about).
        let second = (page as *mut u8).add(1024) as *mut Message;
        letter(inner, reply, 200);
        letter(second, reply, 300);
        sys::put_msg(svc, inner);
        sys::put_msg(svc, second);
        let mut both = 0;
        for _ in 0..2 {
            sys::wait_port(reply);
            let m = sys::get_msg(reply);
            both += u64::from((m == inner || m == second) && (m.add(1) as *const u64).read() % 100 == 1);
        }
        (*f).answered += u64::from(both == 2);
        // A reply port that is not ours (the server's own), and a port not opened to ring 3.
        letter(inner, svc, 5);
        (*f).refused += u64::from(crate::user::put_msg(svc as u64, inner as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER);
        let closed = sys::find_port("r0.closed");
        letter(inner, reply, 6);
        (*f).refused += u64::from(closed.is_null() && crate::user::put_msg(closed as u64, inner as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER);
        // Longer than a message to ring 0 may be (the kernel would copy it into its memory).
        let big = sys::alloc_mem(128 * 1024, MemFlags::ANY) as *mut Message;
        big.write(Message::new(reply, crate::msg::TO_RING0_MAX as usize + 8));
        (*f).refused += u64::from(crate::user::put_msg(svc as u64, big as u64, crate::msg::PUT_COPY) == crate::gate::ERR_BAD_POINTER);
        // A good message to a good port, with a way of sending that is none.
        letter(inner, reply, 8);
        (*f).refused += u64::from(crate::user::do_msg(svc as u64, inner as u64, 7) == crate::gate::ERR_BAD_POINTER);
        sys::free_mem(big as *mut u8, 128 * 1024);
        // Left at "r0.svc", which the server then deletes.
        letter(inner, reply, 7);
        sys::put_msg(svc, inner);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait_port(reply);
        if sys::get_msg(reply) == inner {
            (*f).gone_error = (*inner).error;
            (*f).gone_body_kept = u64::from((inner.add(1) as *const u64).read() == 7);
        }
        // Two to "r0.svc2", and gone before the answers.
        let svc2 = sys::find_port("r0.svc2");
        letter(page, reply, 9);
        sys::put_msg(svc2, page);
        letter(second, reply, 19);
        sys::put_msg(svc2, second);
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Serves one message at `port`: checks the header the kernel wrote, answers word + 1.
fn serve_one(port: *mut MsgPort) -> TestResult {
    // SAFETY: our own port; the copy is ours to read and write until we reply it.
    unsafe {
        exec::port::wait_port(port);
        let m = exec::port::get_msg(port);
        ensure_eq!((*m).length, LEN, "the kernel's header, not the client's scribbles");
        ensure!(!(*m).reply_port.is_null() && (*m).reply_port != port, "replies go to the relay");
        let body = m.add(1) as *mut u64;
        body.write(body.read() + 1);
        exec::port::reply_msg(m);
    }
    Ok(())
}

/// Serves two messages at `port`, the second first, as [`serve_one`] does.
fn serve_two_reversed(port: *mut MsgPort) -> TestResult {
    // SAFETY: our own port; the copies are ours to read and write until we reply them.
    unsafe {
        let mut m = [core::ptr::null_mut(); 2];
        for slot in m.iter_mut() {
            exec::port::wait_port(port);
            *slot = exec::port::get_msg(port);
        }
        for &m in m.iter().rev() {
            ensure_eq!((*m).length, LEN, "the kernel's header");
            let body = m.add(1) as *mut u64;
            body.write(body.read() + 1);
            exec::port::reply_msg(m);
        }
    }
    Ok(())
}

/// A ring-3 client reaches a ring-0 port opened to it, and only that one; each round trip is
/// answered; what waits at a deleted port comes back marked receiver-gone; a sender that
/// ends while ring 0 holds its message costs nothing once ring 0 replies.
fn ring3_to_ring0() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let svc = exec::port::create_port(Some("r0.svc"), 0);
    let svc2 = exec::port::create_port(Some("r0.svc2"), 0);
    let closed = exec::port::create_port(Some("r0.closed"), 0);
    ensure!(!svc.is_null() && !svc2.is_null() && !closed.is_null(), "no ports");
    // SAFETY: our own live ports, deleted below with exec's delete_msg_port.
    unsafe {
        crate::msg::open_to_ring3(svc);
        crate::msg::open_to_ring3(svc2);
    }
    let (t, block) = hostile("r3-to-r0", 0, client, Found { parent: me3() as u64, ..Found::default() })?;
    serve_one(svc)?;
    serve_one(svc)?;
    serve_two_reversed(svc)?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: our port, with the client's third message waiting at it.
    unsafe { exec::port::delete_msg_port(svc) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the client waits.
    let f = unsafe { (block as *const Found).read() };
    ensure_eq!(f.answered, 3, "round trips by put, by do_msg, and two at once");
    ensure_eq!(f.refused, 4, "a forged reply port, a port not opened to ring 3, a message too long, a way that is none");
    ensure_eq!((f.gone_error, f.gone_body_kept), (exec::port::MSG_ERR_RECEIVER_GONE, 1));
    // What it sent and is not done with: its two messages at svc2, and nothing else (each
    // answer taken back took its own entry off, whatever the order).
    // SAFETY: the client waits; its space is not changed meanwhile.
    let listed = unsafe { ((*t).space() as *const crate::space::Space).as_ref() }.map(|s| s.sent().len());
    ensure_eq!(listed, Some(2), "messages listed as sent");
    // The client ends with its messages at svc2; ring 0 answers them afterwards. Each is an
    // orphan first: its sender's number is 0.
    // SAFETY: the client waits for CTRL_E, then ends.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-to-r0", 500), "the client did not end");
    for _ in 0..2 {
        // SAFETY: our own port, two messages waiting.
        let m = unsafe { exec::port::get_msg(svc2) };
        ensure!(!m.is_null(), "a message missing at svc2");
        ensure_eq!(crate::msg::ring3_sender(m), Some(0), "a message of an ended sender is not an orphan");
        // SAFETY: the copy is ours until replied.
        unsafe { exec::port::reply_msg(m) };
    }
    // SAFETY: our ports, empty.
    unsafe {
        exec::port::delete_msg_port(svc2);
        exec::port::delete_msg_port(closed);
    }
    // The relay frees the copies at its next turn.
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}
