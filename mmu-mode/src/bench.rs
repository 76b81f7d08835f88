//! mmu-mode's benchmarks: message round trips between two ring-3 tasks, by copy and by
//! transfer, three ways: with the bare gate calls (put, wait-and-get; the server's
//! wait-and-get and reply: four gate calls), with the combined ones (the client's do_msg, the
//! server's reply_wait: two), and through `exec::sys` as a program calls exec (put_msg,
//! wait_port, get_msg; the server's wait_port, get_msg, reply_msg: six), timed by the sending
//! task itself with RDTSC (ring 3 may read the TSC).

use exec::bench::{SIZES, intact, report_checked, samples_for, stamp};
use exec::events::Events;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;

use crate::msg::{PUT_COPY, PUT_TRANSFER};
use crate::user::{add_user_task, add_user_task_with, alloc_mem, create_port, do_msg, exit, put_msg, reply_msg, reply_wait, signal, wait_get};

/// Bytes of a message header.
const HEADER: usize = size_of::<Message>();

/// Ends the server when it arrives in the first body word.
const QUIT: u64 = 0x5155_4954_5155_4954;

/// How a pair calls exec.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
enum Calls {
    /// The bare gate calls: put and wait-and-get; the server's wait-and-get and reply.
    Bare = 0,
    /// do_msg; the server's reply_wait.
    Combined = 1,
    /// `exec::sys`: put_msg, wait_port, get_msg; the server's wait_port, get_msg, reply_msg.
    Sys = 2,
}

impl Calls {
    fn from(v: u64) -> Calls {
        match v {
            1 => Calls::Combined,
            2 => Calls::Sys,
            _ => Calls::Bare,
        }
    }
}

/// Ring 3: answers every message (reading every byte of it if `touch` is set in bit 63 of the
/// argument; calling exec as [`Calls`] in bits 60-61 says; the rest is the parent to tell it
/// is ready).
extern "C" fn server(arg: u64) -> ! {
    let touch = arg >> 63 != 0;
    let calls = Calls::from(arg >> 60 & 3);
    let parent = arg & !(0xf << 60);
    let port = create_port();
    signal(parent, SIGF_CTRL_F);
    let mut answered = 0;
    loop {
        let m = match calls {
            Calls::Combined => reply_wait(answered, port),
            // SAFETY: our own port (a handle, as exec::sys passes it through the gate).
            Calls::Sys => unsafe {
                exec::sys::wait_port(port as *mut MsgPort);
                exec::sys::get_msg(port as *mut MsgPort) as u64
            },
            Calls::Bare => wait_get(port),
        };
        // SAFETY: the message is open to us while we hold it; `length` covers it.
        let len = unsafe { (*(m as *const Message)).length };
        let first = if len >= HEADER + 8 {
            // SAFETY: as above: the body's first word is inside the message.
            unsafe { ((m + HEADER as u64) as *const u64).read_volatile() }
        } else {
            0
        };
        if first == QUIT {
            reply_msg(m);
            exit();
        }
        if touch {
            // SAFETY: as above.
            let bytes = unsafe { core::slice::from_raw_parts(m as *const u8, len) };
            core::hint::black_box(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)));
        }
        // SAFETY: as above.
        unsafe { exec::bench::answer(m as *mut u8, len) };
        match calls {
            Calls::Combined => answered = m,
            // SAFETY: the message we hold.
            Calls::Sys => unsafe { exec::sys::reply_msg(m as *mut Message) },
            Calls::Bare => {
                reply_msg(m);
            }
        }
    }
}

/// What the client is told, and where it leaves its samples (in its own memory).
#[repr(C)]
struct Block {
    /// The server's port, or 0 to send to the client's own port (no task switch).
    server: u64,
    how: u64,
    len: u64,
    n: u64,
    parent: u64,
    samples: u64,
    /// How it calls exec ([`Calls`]).
    calls: u64,
    /// Out: how many runs came back wrong (another message, or its contents altered).
    wrong: u64,
    /// How many one-page blocks of its own the client allocates (and holds) before its loop:
    /// each put asks which of the task's blocks holds the message.
    held: u64,
}

/// Ring 3: tells the parent the timed loop is about to start (CTRL_E) and waits for its go
/// (CTRL_E back), so that the parent counts the loop's events, not the task's start.
pub(crate) fn start_window(parent: u64) {
    signal(parent, SIGF_CTRL_E);
    crate::user::wait(SIGF_CTRL_E);
}

/// Ring 3: tells the parent the loop is over and its samples written (CTRL_F), and waits
/// until the parent has counted and copied them (CTRL_E) before it ends the server or itself.
pub(crate) fn end_window(parent: u64) {
    signal(parent, SIGF_CTRL_F);
    crate::user::wait(SIGF_CTRL_E);
}

/// The parent's side of [`start_window`] and [`end_window`]: the events between them.
pub(crate) struct Window {
    task: *mut Task,
    start: Events,
}

impl Window {
    pub(crate) fn open(task: *mut Task) -> Window {
        exec::signal::wait(SIGF_CTRL_E);
        let w = Window { task, start: Events::now() };
        w.release();
        w
    }

    /// Waits for the task's end of loop: the events since the go.
    pub(crate) fn close(&self) -> Events {
        exec::signal::wait(SIGF_CTRL_F);
        Events::now().since(self.start)
    }

    /// Lets the task go on (it waits for CTRL_E).
    pub(crate) fn release(&self) {
        // SAFETY: the benchmark task is live: it waits for this signal.
        unsafe { exec::signal::signal(self.task, SIGF_CTRL_E) };
    }
}

#[inline(always)]
pub(crate) fn rdtsc() -> u64 {
    exec::arch::x86_64::cpu::rdtsc()
}

extern "C" fn client(block: u64) -> ! {
    let b = block as *mut Block;
    // SAFETY: the block is in our own memory, set up before we started.
    unsafe {
        let reply = create_port();
        let calls = Calls::from((*b).calls);
        let len = (*b).len as usize;
        // Through exec::sys the message goes by transfer if it is a whole block, else by copy:
        // for a copy it sits inside a larger block.
        let inside = calls == Calls::Sys && (*b).how == PUT_COPY;
        let block_len = (*b).len + if inside { 4096 } else { 0 };
        // Held blocks first: the message's block is then the newest of many.
        for _ in 0..(*b).held {
            alloc_mem(4096);
        }
        let msg = alloc_mem(block_len) + if inside { 64 } else { 0 };
        (msg as *mut Message).write(Message::new(reply as *mut MsgPort, len));
        let samples = alloc_mem((*b).n * 8) as *mut u64;
        let warm = (*b).n / 10;
        let own = (*b).server == 0;
        let to = if own { reply } else { (*b).server };
        let mut wrong = 0;
        start_window((*b).parent);
        for i in 0..warm + (*b).n {
            // Untimed: the stamp, and (below) the check.
            stamp(msg as *mut u8, len, i);
            let t0 = rdtsc();
            let got = match calls {
                Calls::Combined => do_msg(to, msg, (*b).how),
                Calls::Sys => {
                    exec::sys::put_msg(to as *mut MsgPort, msg as *mut Message);
                    exec::sys::wait_port(reply as *mut MsgPort);
                    exec::sys::get_msg(reply as *mut MsgPort) as u64
                }
                Calls::Bare => {
                    put_msg(to, msg, (*b).how);
                    wait_get(reply)
                }
            };
            let t = rdtsc() - t0;
            let back = if own {
                // Untimed, as in the flat own-port figure (put and get only): answer as a
                // server would, and give it back.
                exec::bench::answer(got as *mut u8, len);
                reply_msg(got);
                wait_get(reply)
            } else {
                got
            };
            if back != msg || !intact(msg as *const Message, len, i) {
                wrong += 1;
            }
            if i >= warm {
                samples.add((i - warm) as usize).write(t);
            }
        }
        (*b).samples = samples as u64;
        (*b).wrong = wrong;
        end_window((*b).parent);
        if !own {
            // A message of its own, with a body for the word.
            let quit = alloc_mem((HEADER + 8) as u64);
            (quit as *mut Message).write(Message::new(reply as *mut MsgPort, HEADER + 8));
            ((quit + HEADER as u64) as *mut u64).write_volatile(QUIT);
            put_msg((*b).server, quit, PUT_COPY);
            wait_get(reply);
        }
    }
    exit()
}

/// Ring 3: times `n` null gate calls (find_task of self) into its own memory at `block`
/// (word 0: n in, samples address out; word 1: the parent to signal; word 2: 1 to call
/// through exec's vector table, `exec::sys`, as any program does, 0 for the bare gate call;
/// word 3, out: how many calls answered other than the first).
extern "C" fn null_gate(block: u64) -> ! {
    let b = block as *mut u64;
    // SAFETY: the block is in our own memory, set up before we started.
    unsafe {
        let n = b.read();
        let samples = alloc_mem(n * 8) as *mut u64;
        let via_sys = b.add(2).read() == 1;
        let me = if via_sys { exec::sys::find_task(None) as u64 } else { crate::user::find_self() };
        let mut wrong = 0;
        start_window(b.add(1).read());
        for i in 0..n + n / 10 {
            let t0 = rdtsc();
            let got = if via_sys {
                core::hint::black_box(exec::sys::find_task(None)) as u64
            } else {
                core::hint::black_box(crate::user::find_self())
            };
            let t = rdtsc() - t0;
            wrong += u64::from(got != me);
            if i >= n / 10 {
                samples.add((i - n / 10) as usize).write(t);
            }
        }
        b.write(samples as u64);
        b.add(3).write(wrong);
        end_window(b.add(1).read());
    }
    exit()
}

/// `n` words at `at` in the memory of ring-3 task `task` (live: it waits), read through the one
/// door: the task wrote where its samples are, so the address is checked as any. `None` if the
/// task may not read them all.
pub(crate) fn words_of(task: *mut Task, at: u64, n: usize) -> Option<alloc::vec::Vec<u64>> {
    // SAFETY: the task is live (it waits for the parent); its space is not changed meanwhile.
    let s = unsafe { ((*task).space() as *const crate::space::Space).as_ref() }?;
    let r = s.readable(at, (n * 8) as u64)?;
    Some((0..n).map(|i| r.read::<u64>(i as u64 * 8)).collect())
}

/// Starts a client task with `block`, and collects its samples, the events of its loop and how
/// many of its runs came back wrong. `None` if the task did not start.
fn run_client(name: &str, block: Block) -> Option<(alloc::vec::Vec<u64>, Events, u64)> {
    let n = block.n as usize;
    exec::signal::set_signal(0, SIGF_CTRL_E);
    let (task, block) = add_user_task_with(name, 0, client, block)?;
    let window = Window::open(task);
    let events = window.close();
    let at = |field: usize| words_of(task, block + field as u64, 1).map_or(0, |w| w[0]);
    let (samples_at, wrong) = (at(core::mem::offset_of!(Block, samples)), at(core::mem::offset_of!(Block, wrong)));
    let samples = words_of(task, samples_at, n);
    window.release();
    Some((samples?, events, wrong))
}

/// One row of a ring-3 pair: a server and a client of messages of `size` bytes, reported under
/// `name` with `label_size` in the size field.
fn pair(name: &str, size: usize, label_size: usize, touch: bool, how: u64, calls: Calls) {
    pair_holding(name, size, label_size, touch, how, calls, 0);
}

/// [`pair`], the client holding `held` blocks of memory besides its message.
fn pair_holding(name: &str, size: usize, label_size: usize, touch: bool, how: u64, calls: Calls, held: u64) {
    let me = crate::user::ring3_name(exec::task::find_task(None)) as u64;
    let len = exec::bench::message_len(size) as u64;
    let n = samples_for(size) as u64;
    exec::signal::set_signal(0, SIGF_CTRL_F);
    // The same priority as the client, as in the flat build's pairs.
    let s = add_user_task("bench-server", 0, server, me | (touch as u64) << 63 | (calls as u64) << 60);
    if s.is_null() {
        return missing(name, label_size);
    }
    exec::signal::wait(SIGF_CTRL_F);
    let Some(port) = crate::msg::share_port_of(s) else { return missing(name, label_size) };
    let block = Block { server: port, how, len, n, parent: me, samples: 0, calls: calls as u64, wrong: 0, held };
    let Some((mut samples, events, wrong)) = run_client("bench-client", block) else { return missing(name, label_size) };
    report_checked(name, label_size, touch, &mut samples, events, wrong);
    exec::time::wait_ticks(1);
}

/// The scale rows of ring 3 (exec's `scale` calls this at each load, `level` tasks, public
/// ports and queued messages more): the 64-byte combined round trips by copy and by transfer.
pub fn scale_rows(level: usize) {
    pair("scale_round_trip_copy_combined", 64, level, false, PUT_COPY, Calls::Combined);
    pair("scale_round_trip_transfer_combined", 64, level, false, PUT_TRANSFER, Calls::Combined);
}

/// Says that a row could not run (no memory for its tasks): `make bench` fails on it rather
/// than leave the row out.
fn missing(name: &str, size: usize) {
    exec::kprintln!("bench missing name={name} size={size}: its tasks did not start");
}

/// Runs the ring-3 benchmarks: a null call through the gate, and message round trips for
/// every size, copy and transfer, body untouched and read; each with the events of its timed
/// loop (warm-ups included), counted from the task's go to its end.
pub fn run() {
    let me = crate::user::ring3_name(exec::task::find_task(None)) as u64;
    let n_null = exec::bench::count(10_000) as u64;
    exec::signal::set_signal(0, SIGF_CTRL_F);
    for (name, via_sys) in [("null_call_gate", 0), ("null_call_sys_ring3", 1)] {
        exec::signal::set_signal(0, SIGF_CTRL_F);
        exec::signal::set_signal(0, SIGF_CTRL_E);
        if let Some((task, block)) = add_user_task_with("bench-null", 0, null_gate, [n_null, me, via_sys, 0]) {
            let window = Window::open(task);
            let events = window.close();
            let words = words_of(task, block, 4).unwrap_or_default();
            let (at, wrong) = (words.first().copied().unwrap_or(0), words.get(3).copied().unwrap_or(0));
            let samples = words_of(task, at, n_null as usize);
            window.release();
            match samples {
                Some(mut samples) => report_checked(name, 0, false, &mut samples, events, wrong),
                None => missing(name, 0),
            }
            exec::time::wait_ticks(1);
        } else {
            missing(name, 0);
        }
    }
    let rows = [
        ("msg_round_trip_copy", PUT_COPY, Calls::Bare),
        ("msg_round_trip_transfer", PUT_TRANSFER, Calls::Bare),
        ("msg_round_trip_copy_combined", PUT_COPY, Calls::Combined),
        ("msg_round_trip_transfer_combined", PUT_TRANSFER, Calls::Combined),
        ("msg_round_trip_copy_sys", PUT_COPY, Calls::Sys),
        ("msg_round_trip_transfer_sys", PUT_TRANSFER, Calls::Sys),
    ];
    for (name, how, calls) in rows {
        for size in SIZES {
            // The combined and exec::sys rows with the body untouched only: the calls are what
            // they measure.
            for touch in [false, true].into_iter().filter(|&t| !(calls != Calls::Bare && t)) {
                pair(name, size, size, touch, how, calls);
            }
        }
    }
    // The 64-byte round trips again, the client holding a thousand blocks of memory besides
    // its message: a put's look for the block that holds the message (may it go by transfer,
    // which block counts the loan) must not grow with what a task holds.
    for (name, how) in [("msg_round_trip_copy_1000_blocks", PUT_COPY), ("msg_round_trip_transfer_1000_blocks", PUT_TRANSFER)] {
        pair_holding(name, 64, 64, false, how, Calls::Bare, 1000);
    }
    // To the task's own port: put and get through the gate, no task switch (the reply that
    // gives a copy or the pages back is not timed).
    for (name, how) in [("msg_own_port_copy", PUT_COPY), ("msg_own_port_transfer", PUT_TRANSFER)] {
        for size in SIZES {
            let len = exec::bench::message_len(size) as u64;
            let n = samples_for(size) as u64;
            exec::signal::set_signal(0, SIGF_CTRL_F);
            let block = Block { server: 0, how, len, n, parent: me, samples: 0, calls: Calls::Bare as u64, wrong: 0, held: 0 };
            let Some((mut samples, events, wrong)) = run_client("bench-own", block) else {
                missing(name, size);
                continue;
            };
            report_checked(name, size, false, &mut samples, events, wrong);
            exec::time::wait_ticks(1);
        }
    }
}
