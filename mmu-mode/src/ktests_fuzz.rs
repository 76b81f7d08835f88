//! The adversarial gate fuzz: several ring-3 tasks at once make calls with *valid-looking*
//! arguments (real port handles, real messages, real blocks and semaphores) and mutate one
//! field at a time: a forged reply port or length, a stale or foreign handle, a header
//! rewritten while its message is queued or held, a block freed while lent, a reply twice,
//! a priority above the ceiling, a signal to a stranger; and the combined calls: do_msg to a
//! server that answers with reply_wait (`ktests_fuzz_server.rs`), valid (the message handed to
//! the server blocked at its port, and back) and with one field wrong, and reply_wait with a
//! port not the caller's or a view it does not hold. Next to the random fuzz (which mostly
//! meets refusals), this one must get through the checks often enough to reach the code
//! behind them. The test asserts that the kernel raises no alert of its own, that every task
//! ends, and that memory and the kernel heap return to their baseline; it prints a histogram
//! of every operation (calls, successes, refusals) and the seed, to replay a failure.

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys_gate::{Call, ERR_BAD_POINTER, ERR_PRIVILEGED, raw_call};
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_fuzz_server as server;

/// The fuzz, in `make test`.
pub static TESTS: &[Test] = &[Test::new("mmu.fuzz.adversarial", adversarial).with_limit(60_000)];

/// Fuzzing tasks at once.
const TASKS: usize = 4;
/// Operations each task draws (those that find nothing to act on, such as a reply with no
/// message held, are not counted): over 100,000 counted in all.
const OPS: u64 = 45_000;

/// The operations, each with its share of the draw.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
enum Op {
    PutValid,
    PutForgedReply,
    PutForgedLength,
    PutForeignMemory,
    PutStaleHandle,
    GetAndReply,
    ReplyTwice,
    ReplyForged,
    ScribbleLent,
    FreeLent,
    AllocFree,
    SemaphoreValid,
    SemaphoreForged,
    SignalStranger,
    PriorityAboveCeiling,
    ForbidPermit,
    DoMsgValid,
    DoMsgForged,
    ReplyWaitForged,
}

/// How many operations there are.
const OP_KINDS: usize = 19;

const ALL_OPS: [Op; OP_KINDS] = [
    Op::PutValid, Op::PutForgedReply, Op::PutForgedLength, Op::PutForeignMemory, Op::PutStaleHandle,
    Op::GetAndReply, Op::ReplyTwice, Op::ReplyForged, Op::ScribbleLent, Op::FreeLent, Op::AllocFree,
    Op::SemaphoreValid, Op::SemaphoreForged, Op::SignalStranger, Op::PriorityAboveCeiling, Op::ForbidPermit,
    Op::DoMsgValid, Op::DoMsgForged, Op::ReplyWaitForged,
];

/// The draw: every operation, valid puts and receives more often (so that enough messages
/// are out and held for the replies, forged and twice, to act on).
const DRAW: [Op; 25] = [
    Op::PutValid, Op::PutValid, Op::PutValid, Op::PutValid, Op::PutValid, Op::PutForgedReply, Op::PutForgedLength,
    Op::PutForeignMemory, Op::PutStaleHandle, Op::GetAndReply, Op::GetAndReply, Op::GetAndReply, Op::ReplyTwice,
    Op::ReplyForged, Op::ScribbleLent, Op::FreeLent, Op::AllocFree, Op::SemaphoreValid, Op::SemaphoreForged,
    Op::SignalStranger, Op::PriorityAboveCeiling, Op::ForbidPermit, Op::DoMsgValid, Op::DoMsgForged, Op::ReplyWaitForged,
];

/// Calls, successes and refusals of each operation, in the task's block.
#[repr(C)]
#[derive(Clone, Copy)]
struct Counts {
    calls: [u64; OP_KINDS],
    ok: [u64; OP_KINDS],
    refused: [u64; OP_KINDS],
}

/// A fuzzing task's block: its parameters, then its counts.
#[repr(C)]
#[derive(Clone, Copy)]
struct Fuzzer {
    parent: *mut Task,
    stranger: *mut Task,
    seed: u64,
    ops: u64,
    index: u64,
    counts: Counts,
    /// Set when it has let everything go and is about to end.
    done: u64,
    /// Its do_msg calls that returned other than a refusal or its own message, answered.
    wrong: u64,
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// A message slot of the task's: its block (a page), and whether it is out.
#[derive(Clone, Copy)]
struct Slot {
    page: u64,
    out: bool,
    /// Sent by copy (its page stays ours to scribble on while it is out).
    copy: bool,
}

const MSG_LEN: u64 = size_of::<Message>() as u64 + 64;
const SLOTS: usize = 32;

/// Ring 3: the fuzzing task.
extern "C" fn fuzzer(block: u64) -> ! {
    let f = block as *mut Fuzzer;
    // SAFETY: our own block; every call below goes through the gate, which checks it.
    unsafe {
        let mut seed = (*f).seed;
        let my_port = raw_call(Call::CreatePort, 0, 0, 0);
        let name = [b'f', b'z', b'.', b'0' + (*f).index as u8];
        let public = exec::sys_gate::raw_call(Call::CreatePort, name.as_ptr() as u64, 4, 0);
        let mut slots = [Slot { page: 0, out: false, copy: false }; SLOTS];
        for s in slots.iter_mut() {
            s.page = raw_call(Call::AllocMem, 4096, 0, 0);
        }
        let sem_area = raw_call(Call::AllocMem, 4096, 0, 0);
        // Where forged puts build their messages (never sent validly, so always ours).
        let scratch = raw_call(Call::AllocMem, 4096, 0, 0);
        let sem = sem_area as *mut exec::semaphore::SignalSemaphore;
        raw_call(Call::InitSemaphore, sem as u64, 0, 0);
        let mut held: [u64; 16] = [0; 16];
        let mut stale = 0u64;
        // The last message answered: a view no longer held.
        let mut replied = 0u64;
        let server = raw_call(Call::FindPort, server::NAME.as_ptr() as u64, server::NAME.len() as u64, 0);
        let c = &raw mut (*f).counts;
        let ops = (*f).ops;
        for _ in 0..ops {
            let r = next(&mut seed);
            let op = DRAW[(r % DRAW.len() as u64) as usize];
            let k = op as usize;
            (*c).calls[k] += 1;
            let target_index = (r >> 8) % TASKS as u64;
            let target_name = [b'f', b'z', b'.', b'0' + target_index as u8];
            let target = raw_call(Call::FindPort, target_name.as_ptr() as u64, 4, 0);
            // Puts take a slot that is free, if there is one; the others a slot at random.
            let free = slots.iter().position(|s| !s.out);
            let random = ((r >> 16) % SLOTS as u64) as usize;
            let is_put = matches!(op, Op::PutValid | Op::PutForgedReply | Op::PutForgedLength | Op::PutForeignMemory | Op::PutStaleHandle);
            let slot = if is_put { free.unwrap_or(random) } else { random };
            let result = match op {
                Op::PutValid | Op::PutForgedReply | Op::PutForgedLength | Op::PutForeignMemory | Op::PutStaleHandle => {
                    if op == Op::PutValid && free.is_none() {
                        make_room(my_port, public, &mut slots, &mut held);
                        None
                    } else if (op == Op::PutValid && slots[slot].out) || target == 0 {
                        None
                    } else {
                        let page = if op == Op::PutValid { slots[slot].page } else { scratch };
                        let m = page as *mut Message;
                        let (mut reply, mut len, mut at, mut to) = (my_port, MSG_LEN, page, target);
                        match op {
                            Op::PutForgedReply => reply = [public ^ (1 << 32), my_port + (1 << 32), r | 1, (*f).parent as u64][(r >> 24) as usize % 4],
                            Op::PutForgedLength => len = [0, 8, 1 << 40, 4096 * 3, u64::MAX][(r >> 24) as usize % 5],
                            Op::PutForeignMemory => at = [(*f).parent as u64, 0x1000, page + 4090, 0xffff_8000_0000_0000][(r >> 24) as usize % 4],
                            Op::PutStaleHandle => to = if stale != 0 { stale } else { target ^ (1 << 33) },
                            _ => {}
                        }
                        m.write(Message::new(reply as *mut MsgPort, MSG_LEN as usize));
                        (*m).length = len as usize;
                        // A message in the middle of the page goes by copy, a whole one by transfer.
                        let how = if r & (1 << 40) != 0 { crate::msg::PUT_COPY } else { crate::msg::PUT_AUTO };
                        let res = raw_call(Call::PutMsg, to, at, how);

                        if res == 0 && op == Op::PutValid {
                            slots[slot].out = true;
                            slots[slot].copy = how == crate::msg::PUT_COPY;
                        }
                        Some(res)
                    }
                }
                Op::GetAndReply => {
                    // Replies come back to our own port: our slot is ours again.
                    for _ in 0..4 {
                        let back = raw_call(Call::GetMsg, my_port, 0, 0);
                        if back == 0 || back >= ERR_PRIVILEGED {
                            break;
                        }
                        if let Some(s) = slots.iter_mut().find(|s| s.page == back) {
                            s.out = false;
                        }
                    }
                    // Messages for us arrive at the public one: hold them or answer them.
                    for _ in 0..4 {
                        let got = raw_call(Call::GetMsg, public, 0, 0);
                        if got == 0 || got >= ERR_PRIVILEGED {
                            break;
                        }
                        if let Some(h) = held.iter_mut().find(|h| **h == 0).filter(|_| (r >> 12) & 7 != 0) {
                            *h = got;
                        } else {
                            raw_call(Call::ReplyMsg, got, 0, 0);
                            replied = got;
                        }
                    }
                    Some(0)
                }
                Op::ReplyTwice | Op::ReplyForged => {
                    let i = held.iter().position(|&h| h != 0).unwrap_or(0);
                    if held[i] == 0 {
                        None
                    } else {
                        let m = held[i];
                        if op == Op::ReplyForged {
                            // Scribble its header first (its ticket included), then reply it:
                            // the kernel finds its record another way; a forged address is refused.
                            core::ptr::write_bytes(m as *mut u8, (r >> 32) as u8, size_of::<Message>());
                            let forged = raw_call(Call::ReplyMsg, m + 8, 0, 0);
                            (*c).refused[k] += u64::from(forged == ERR_BAD_POINTER);
                        }
                        held[i] = 0;
                        let first = raw_call(Call::ReplyMsg, m, 0, 0);
                        replied = m;
                        if op == Op::ReplyTwice {
                            let second = raw_call(Call::ReplyMsg, m, 0, 0);
                            (*c).refused[k] += u64::from(second == ERR_BAD_POINTER);
                        }
                        Some(first)
                    }
                }
                Op::ScribbleLent => {
                    // Our own message while it is out: a page lent by copy is still ours to
                    // write, its header included (a transferred one is not mapped to us).
                    if slots[slot].out && slots[slot].copy {
                        core::ptr::write_bytes(slots[slot].page as *mut u8, (r >> 32) as u8, size_of::<Message>() + 16);
                        Some(0)
                    } else {
                        None
                    }
                }
                Op::FreeLent => {
                    if !slots[slot].out {
                        None
                    } else {
                        Some(raw_call(Call::FreeMem, slots[slot].page, 0, 0))
                    }
                }
                Op::AllocFree => {
                    let b = raw_call(Call::AllocMem, 1 + (r >> 20) % 20_000, 0, 0);
                    if b == 0 || b >= ERR_PRIVILEGED {
                        Some(ERR_BAD_POINTER)
                    } else {
                        (b as *mut u64).write(r);
                        Some(raw_call(Call::FreeMem, b, 0, 0))
                    }
                }
                Op::SemaphoreValid => {
                    let got = raw_call(Call::AttemptSemaphore, sem as u64, 0, 0);
                    if got == 1 {
                        raw_call(Call::ReleaseSemaphore, sem as u64, 0, 0);
                    }
                    Some(if got <= 1 { 0 } else { got })
                }
                Op::SemaphoreForged => {
                    let forged = [sem as u64 + 8, (*f).parent as u64, sem_area + 4096, r][(r >> 24) as usize % 4];
                    Some(raw_call(Call::ReleaseSemaphore, forged, 0, 0))
                }
                Op::SignalStranger => Some(raw_call(Call::Signal, (*f).stranger as u64, SIGF_CTRL_E as u64, 0)),
                Op::PriorityAboveCeiling => {
                    let res = raw_call(Call::SetTaskPri, raw_call(Call::FindSelf, 0, 0, 0), 100, 0);
                    let victim = raw_call(Call::SetTaskPri, (*f).parent as u64, 120, 0);
                    (*c).refused[k] += u64::from(victim == ERR_PRIVILEGED);
                    Some(res)
                }
                Op::ForbidPermit => {
                    raw_call(Call::Forbid, 0, 0, 0);
                    Some(raw_call(Call::Permit, 0, 0, 0))
                }
                Op::DoMsgValid => free.map(|i| {
                    // To the server, which answers at once: back before the call returns, the
                    // stamp complemented, whatever else waits at our port meanwhile.
                    let page = slots[i].page;
                    (page as *mut Message).write(Message::new(my_port as *mut MsgPort, MSG_LEN as usize));
                    let stamp = (page + server::BODY) as *mut u64;
                    stamp.write(r);
                    let how = if r & (1 << 40) != 0 { crate::msg::PUT_COPY } else { crate::msg::PUT_AUTO };
                    let res = raw_call(Call::DoMsg, server, page, how);
                    // Another message, or ours unanswered or with its header changed: wrong.
                    let back_right = res == page && stamp.read() == !r && (*(page as *const Message)).length == MSG_LEN as usize;
                    if !back_right && res < ERR_PRIVILEGED {
                        (*f).wrong += 1;
                    }
                    if res == page { 0 } else { res }
                }),
                Op::DoMsgForged => {
                    // One field wrong each time; refused before anything is sent or waited for.
                    let (mut reply, mut at, mut to, mut how) = (my_port, scratch, server, crate::msg::PUT_AUTO);
                    match (r >> 24) % 6 {
                        0 => reply = 0,
                        1 => reply = public ^ (1 << 32),
                        2 => reply = (*f).parent as u64,
                        3 => how = 7,
                        4 => at = [0x1000, (*f).parent as u64, 0xffff_8000_0000_0000][(r >> 32) as usize % 3],
                        _ => to = server ^ (1 << 33),
                    }
                    (scratch as *mut Message).write(Message::new(reply as *mut MsgPort, MSG_LEN as usize));
                    Some(raw_call(Call::DoMsg, to, at, how))
                }
                Op::ReplyWaitForged => {
                    // Never a call that would wait: a port not ours, or a view we do not hold
                    // (one word into a held one, the last one answered unless it came back
                    // to us since at the same place, an odd address).
                    let held_one = held.iter().copied().find(|&h| h != 0);
                    let (view, port) = match (r >> 24) % 4 {
                        0 => (0, server),
                        1 => (held_one.map_or(scratch, |h| h + 8), public),
                        2 if replied != 0 && !held.contains(&replied) => (replied, public),
                        _ => (r | 1, public),
                    };
                    Some(raw_call(Call::ReplyWait, view, port, 0))
                }
            };
            match result {
                Some(0) | Some(1..0x1_0000_0000) => (*c).ok[k] += 1,
                Some(_) => (*c).refused[k] += 1,
                None => (*c).calls[k] -= 1,
            }
            if op == Op::PutStaleHandle && stale == 0 {
                // A port of ours made and deleted: its handle is stale from now on.
                let p = raw_call(Call::CreatePort, 0, 0, 0);
                raw_call(Call::DeletePort, p, 0, 0);
                stale = p;
            }
        }
        // Let everything go: answer what we hold, then, sleeping between rounds (a port's
        // signal is one of our own), take our messages back and go on answering the others',
        // until ours are all back; and after that until we are told to end, so that no other
        // fuzzer waits on us.
        answer_held(&mut held);
        let mut told_to_end = false;
        loop {
            take_back(my_port, &mut slots);
            answer_all(public);
            if told_to_end {
                break;
            }
            if (*f).done == 0 && slots.iter().all(|s| !s.out) {
                (*f).done = 1;
                raw_call(Call::Signal, (*f).parent as u64, SIGF_CTRL_F as u64, 0);
            }
            told_to_end = raw_call(Call::Wait, OWN_SIGNALS | SIGF_CTRL_E as u64, 0, 0) & SIGF_CTRL_E as u64 != 0;
        }
        raw_call(Call::Exit, 0, 0, 0);
    }
    unreachable!()
}

/// The signals a ring-3 task's ports are given (every one not reserved).
const OWN_SIGNALS: u64 = !exec::signal::SIGNALS_RESERVED as u64;

/// Ring 3: our messages come back from `my_port`: their slots are free again.
fn take_back(my_port: u64, slots: &mut [Slot]) {
    loop {
        let back = raw_call(Call::GetMsg, my_port, 0, 0);
        if back == 0 || back >= ERR_PRIVILEGED {
            break;
        }
        if let Some(s) = slots.iter_mut().find(|s| s.page == back) {
            s.out = false;
        }
    }
}

/// Ring 3: every message waiting at `public` answered at once.
fn answer_all(public: u64) {
    loop {
        let got = raw_call(Call::GetMsg, public, 0, 0);
        if got == 0 || got >= ERR_PRIVILEGED {
            break;
        }
        raw_call(Call::ReplyMsg, got, 0, 0);
    }
}

/// Ring 3, a valid put with every slot out: take our messages back and answer every message
/// held or waiting for us; if still no slot is free, sleep until a port of ours is signalled.
/// Then the others run, and the exchange goes at the pace of its messages, not of the time
/// slice: without the sleep a fuzzer spent most of its quantum with every slot out, so the
/// faster the host, the fewer messages went round and the fewer the replies (forged and
/// twice) found to act on (under 1,000 of each on some hosts). Answering what it holds before
/// it sleeps keeps two fuzzers from sleeping on each other's messages.
fn make_room(my_port: u64, public: u64, slots: &mut [Slot], held: &mut [u64]) {
    take_back(my_port, slots);
    if slots.iter().any(|s| !s.out) {
        return;
    }
    answer_held(held);
    answer_all(public);
    raw_call(Call::Wait, OWN_SIGNALS, 0, 0);
}

/// Ring 3: every message we hold answered.
fn answer_held(held: &mut [u64]) {
    for h in held.iter_mut().filter(|h| **h != 0) {
        raw_call(Call::ReplyMsg, *h, 0, 0);
        *h = 0;
    }
}

/// A ring-0 task no fuzzer has a tie to: it waits; a signal from ring 3 must not reach it.
fn stranger(_: usize) {
    exec::signal::wait(SIGF_CTRL_F);
}

fn run(ops: u64) -> TestResult {
    let seed = exec::arch::x86_64::cpu::rdtsc() | 1;
    exec::kprintln!("(seed {seed:#x}, {TASKS} tasks, {ops} operations each)");
    let alerts = exec::execbase::counters().alert_count;
    let requested = crate::gate::ALERTS_REQUESTED.load(Ordering::SeqCst);
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let heap0 = exec::heap::stats().free;
    let me = exec::task::find_task(None);
    let stranger_task = exec::task::add_task("r0-fuzz-stranger", -1, stranger, 0, 8192);
    ensure!(!stranger_task.is_null());
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let server_block = server::start()?;
    let mut blocks = [0u64; TASKS];
    let mut tasks = [core::ptr::null_mut(); TASKS];
    for i in 0..TASKS {
        let init = Fuzzer {
            parent: crate::user::ring3_name(me),
            stranger: crate::user::ring3_name(stranger_task),
            seed: seed.wrapping_mul(i as u64 + 1) | 1,
            ops,
            index: i as u64,
            counts: Counts { calls: [0; OP_KINDS], ok: [0; OP_KINDS], refused: [0; OP_KINDS] },
            done: 0,
            wrong: 0,
        };
        let (t, b) = crate::user::add_user_task_with("r3-fuzzer", 0, fuzzer, init).ok_or("no memory for a fuzzer")?;
        tasks[i] = t;
        blocks[i] = b;
    }
    let mut reported = 0;
    while reported < TASKS {
        exec::signal::wait(SIGF_CTRL_F);
        // SAFETY: each block is its task's, alive until we let the task go.
        reported = blocks.iter().filter(|&&b| unsafe { (*(b as *const Fuzzer)).done } == 1).count();
        devices::timer_sleep_ms(5);
    }
    devices::timer_sleep_ms(50);
    let mut total = Counts { calls: [0; OP_KINDS], ok: [0; OP_KINDS], refused: [0; OP_KINDS] };
    let mut wrong = 0;
    for &b in &blocks {
        // SAFETY: as above; the tasks wait for CTRL_E.
        let (c, w) = unsafe { ((*(b as *const Fuzzer)).counts, (*(b as *const Fuzzer)).wrong) };
        wrong += w;
        for k in 0..OP_KINDS {
            total.calls[k] += c.calls[k];
            total.ok[k] += c.ok[k];
            total.refused[k] += c.refused[k];
        }
    }
    // No fuzzer sends any more: the server waits, and can go.
    let answered = server::stop(server_block)?;
    for t in tasks {
        // SAFETY: live tasks waiting for CTRL_E (a fuzzer never ends another).
        unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    }
    devices::timer_sleep_ms(50);
    exec::kprintln!("{:<22}{:>8}{:>8}{:>9}", "operation", "calls", "ok", "refused");
    for (k, op) in ALL_OPS.iter().enumerate() {
        exec::kprintln!("{:<22}{:>8}{:>8}{:>9}", alloc::format!("{op:?}"), total.calls[k], total.ok[k], total.refused[k]);
    }
    let all: u64 = total.calls.iter().sum();
    exec::kprintln!("{all} operations");
    exec::kprintln!(
        "server: {} do_msg answered by reply_wait; reply_wait of a view not held {} times, {} refused",
        answered.served,
        answered.forged,
        answered.forged_refused
    );
    // SAFETY: the stranger waits for CTRL_F and then ends.
    unsafe { exec::signal::signal(stranger_task, SIGF_CTRL_F) };
    devices::timer_sleep_ms(20);
    ensure!(exec::task::find_task(Some("r3-fuzzer")).is_null(), "a fuzzer is still there");
    ensure_eq!(
        exec::execbase::counters().alert_count - alerts,
        crate::gate::ALERTS_REQUESTED.load(Ordering::SeqCst) - requested,
        "the kernel raised an alert of its own"
    );
    // Each class was tried often, and the valid ones got through their checks.
    ensure!(all >= 100_000, "only {all} operations");
    for (k, op) in ALL_OPS.iter().enumerate() {
        ensure!(total.calls[k] >= 1000, "{op:?} tried only {} times", total.calls[k]);
    }
    for op in [Op::PutValid, Op::GetAndReply, Op::AllocFree, Op::SemaphoreValid, Op::ForbidPermit, Op::DoMsgValid] {
        let k = op as usize;
        ensure!(total.ok[k] * 2 >= total.calls[k], "{op:?}: only {} of {} got through", total.ok[k], total.calls[k]);
    }
    for op in [
        Op::PutForgedReply, Op::PutForeignMemory, Op::PutStaleHandle, Op::SignalStranger, Op::FreeLent, Op::SemaphoreForged,
        Op::DoMsgForged, Op::ReplyWaitForged,
    ] {
        let k = op as usize;
        ensure_eq!(total.ok[k], 0, "{op:?} got through");
    }
    // Every do_msg that got through came back answered, and was the server's to answer.
    ensure_eq!(wrong, 0, "a do_msg came back wrong");
    ensure_eq!(answered.served, total.ok[Op::DoMsgValid as usize], "the server answered other than the valid do_msg calls");
    ensure_eq!(answered.bad, 0, "the server's reply_wait returned no message");
    ensure!(answered.forged > 0 && answered.forged_refused == answered.forged, "the server's reply_wait of a view not held got through");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
    ensure!(exec::heap::stats().free + (64 << 10) >= heap0, "kernel heap back near its baseline");
    Ok(())
}

fn adversarial() -> TestResult {
    run(OPS)
}
