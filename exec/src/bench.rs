//! In-kernel benchmarks (`-append bench`): TSC-timed exec paths, printed one per line as
//! `bench name=<entry> size=<bytes> touch=<0|1> n=<samples> median=<tsc> p99=<tsc>
//! ev=<events per operation>` for the host's `make bench` to collect. The events (`events.rs`:
//! context switches, gate calls, CR3 loads, TLB flushes, page-table entries written, bytes
//! copied) are counted over every run of the row, warm-ups included, and divided by their
//! number.
//!
//! Every message row checks its exchange: the client stamps the body's first word (a number
//! new for each run), the server answers by writing its complement into the body's last word,
//! and the client checks, outside the timed region, that the same message came back with its
//! header, its stamp and the answer intact. A row with a wrong exchange prints `bench missing`
//! with the count instead of its figures, which fails `make bench` and `make test`.
//!
//! What a TSC tick is depends on the machine: under QEMU TCG with `-icount shift=0` it is one
//! guest instruction; under hardware virtualisation a real cycle; under plain TCG, host time.
//! The host-side report labels the figures; this code only counts. Warm-up runs are discarded.

use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::arch::x86_64::{cpu, qemu};
use crate::events::Events;
use crate::kprintln;
use crate::memory::{MemFlags, alloc_mem, free_mem};
use crate::port::{Message, MsgPort, create_msg_port};
use crate::sys;
use crate::task::Task;

/// Message sizes measured: the bytes of body after the header (0: the header alone).
pub const SIZES: [usize; 6] = [0, 64, 1024, 4096, 65536, 1 << 20];

// The host's report says how big the header is (`tests/src/report.rs`, MESSAGE_HEADER).
const _: () = assert!(size_of::<Message>() == 72, "update MESSAGE_HEADER in tests/src/report.rs");

/// The bytes of a benchmark message with `size` bytes of body: the header, then the body.
pub const fn message_len(size: usize) -> usize {
    size_of::<Message>() + size
}

/// The stamp a client writes into its message's first body word for run `i`.
pub const fn stamp_for(i: u64) -> u64 {
    0x5354_414d_0000_0000 ^ i
}

/// The server's answer to the message at `m` of `len` bytes: the complement of the body's
/// first word into its last (nothing for a body shorter than a word).
///
/// # Safety
/// `m` is readable and writable for `len` bytes.
#[inline(always)]
pub unsafe fn answer(m: *mut u8, len: usize) {
    let body = size_of::<Message>();
    if len >= body + 8 {
        // SAFETY: both words lie inside the `len` bytes (the caller's promise).
        unsafe { (m.add(len - 8) as *mut u64).write_unaligned(!(m.add(body) as *const u64).read_unaligned()) };
    }
}

/// Stamps the message at `m` of `len` bytes for run `i` (nothing for a body shorter than a
/// word), and clears its answer word.
///
/// # Safety
/// `m` is writable for `len` bytes.
#[inline(always)]
pub unsafe fn stamp(m: *mut u8, len: usize, i: u64) {
    let body = size_of::<Message>();
    if len >= body + 8 {
        // SAFETY: both words lie inside the `len` bytes (the caller's promise); the last is
        // written second, so a body of one word holds 0 until the server answers.
        unsafe {
            (m.add(body) as *mut u64).write_unaligned(stamp_for(i));
            if len >= body + 16 {
                (m.add(len - 8) as *mut u64).write_unaligned(0);
            }
        }
    }
}

/// Whether the message at `m` came back from run `i` intact: its length `len`, no error,
/// its stamp, and the server's answer (the stamp's complement in the last body word; for a
/// body of one word, the answer replaced the stamp).
///
/// # Safety
/// `m` is readable for `len` bytes.
pub unsafe fn intact(m: *const Message, len: usize, i: u64) -> bool {
    let body = size_of::<Message>();
    // SAFETY: the header and the body lie inside the `len` bytes (the caller's promise).
    unsafe {
        if (*m).length != len || (*m).error != 0 {
            return false;
        }
        let bytes = m as *const u8;
        let word = |at: usize| (bytes.add(at) as *const u64).read_unaligned();
        match len - body {
            0..8 => true,
            8..16 => word(body) == !stamp_for(i),
            _ => word(body) == stamp_for(i) && word(len - 8) == !stamp_for(i),
        }
    }
}

/// Samples taken for a message of `size` bytes.
pub fn samples_for(size: usize) -> usize {
    // At least 1,000 samples, so that the 99th percentile is the tenth largest, not the largest.
    count(match size {
        0..=4096 => 10_000,
        _ => 1_000,
    })
}

/// `bench=quick`: every row with a few samples (a check that each runs, not a measurement).
static QUICK: AtomicBool = AtomicBool::new(false);

/// Sets the quick mode (`bench=quick` on the command line).
pub fn set_quick(quick: bool) {
    QUICK.store(quick, Ordering::SeqCst);
}

/// How many samples a row takes that asks for `n`: `n`, or a few in the quick mode.
pub fn count(n: usize) -> usize {
    if QUICK.load(Ordering::Relaxed) { (n / 500).max(2) } else { n }
}

/// Prints the line for `name` from raw samples (median and p99), for benchmarks that time
/// themselves (ring-3 tasks in mmu-mode).
/// `events` are what happened over `ops` runs (warm-ups included).
pub fn report(name: &str, size: usize, touch: bool, samples: &mut [u64], events: Events, ops: u64) {
    let (median, p99) = median_p99(samples);
    print_line(name, size, touch, samples.len(), (median, p99), events, ops);
}

/// The line `make bench` collects: the figures, and the events per operation.
fn print_line(name: &str, size: usize, touch: bool, n: usize, (median, p99): (u64, u64), ev: Events, ops: u64) {
    let per = |v: u64| v as f64 / ops.max(1) as f64;
    kprintln!(
        "bench name={name} size={size} touch={} n={n} median={median} p99={p99} ev=switch:{:.2},gate:{:.2},cr3:{:.2},tlb:{:.2},pte:{:.2},copied:{:.0}",
        touch as u8,
        per(ev.switches),
        per(ev.gate_calls),
        per(ev.cr3_loads),
        per(ev.tlb_flushes),
        per(ev.pte_writes),
        per(ev.bytes_copied),
    );
}

/// Times `f` `n` times after `n / 10` untimed runs, and prints the line for `name`.
pub fn measure(name: &str, size: usize, touch: bool, n: usize, mut f: impl FnMut()) {
    measure_checked(name, size, touch, n, |clock, _| {
        clock.start();
        f();
        clock.stop();
        true
    });
}

/// Runs `f` `n` times after `n / 10` untimed runs, each with its run's number and a clock
/// that `f` starts and stops around what it times; `f` says whether the run's result was
/// right. Prints the line for `name`, or `bench missing` with the count of wrong runs.
pub fn measure_checked(name: &str, size: usize, touch: bool, n: usize, f: impl FnMut(&mut Clock, u64) -> bool) {
    let before = Events::now();
    match samples(n, f) {
        Ok(mut samples) => {
            let events = Events::now().since(before);
            report(name, size, touch, &mut samples, events, runs(n));
        }
        Err(wrong) => wrong_results(name, size, wrong, runs(n)),
    }
}

/// [`report`] for a row that timed itself and counted its wrong runs (`wrong`, of the
/// [`runs`] of `samples.len()` samples): its line, or `bench missing` if any run was wrong.
/// Not callable from an interrupt.
pub fn report_checked(name: &str, size: usize, touch: bool, samples: &mut [u64], events: Events, wrong: u64) {
    let ops = runs(samples.len());
    if wrong == 0 { report(name, size, touch, samples, events, ops) } else { wrong_results(name, size, wrong, ops) }
}

/// Says that a row's results were wrong (`wrong` of `runs`): `make bench` fails on it.
pub fn wrong_results(name: &str, size: usize, wrong: u64, runs: u64) {
    kprintln!("bench missing name={name} size={size}: {wrong} of {runs} runs came back wrong");
}

/// The timer of one run: `start` and `stop` around the timed part.
pub struct Clock {
    t0: u64,
    ticks: u64,
}

impl Clock {
    #[inline(always)]
    pub fn start(&mut self) {
        self.t0 = cpu::rdtsc();
    }

    #[inline(always)]
    pub fn stop(&mut self) {
        self.ticks = cpu::rdtsc() - self.t0;
    }
}

/// How many times [`samples`] runs its function for `n` samples (warm-ups included).
pub fn runs(n: usize) -> u64 {
    (n.max(1) + n.max(1) / 10) as u64
}

/// What timing itself costs: the median of an empty timed region (two TSC reads and a store),
/// which `make bench` subtracts from every row (its `empty` row) and BENCH too. Not callable
/// from an interrupt.
pub fn timing_overhead() -> u64 {
    let empty = samples(1000, |clock, _| {
        clock.start();
        clock.stop();
        true
    });
    empty.map_or(0, |mut s| median_p99(&mut s).0)
}

/// `f` run `n` times (at least once) after `n / 10` untimed runs (numbered from 0 across
/// both), each timing itself with the clock it is given. The samples, or how many runs `f`
/// said were wrong.
fn samples(n: usize, mut f: impl FnMut(&mut Clock, u64) -> bool) -> Result<Vec<u64>, u64> {
    let n = n.max(1);
    let mut samples = Vec::with_capacity(n);
    let mut clock = Clock { t0: 0, ticks: 0 };
    let mut wrong = 0;
    for i in 0..(n + n / 10) as u64 {
        if !f(&mut clock, i) {
            wrong += 1;
        }
        if i >= (n / 10) as u64 {
            samples.push(clock.ticks);
        }
    }
    if wrong == 0 { Ok(samples) } else { Err(wrong) }
}

/// The median and the 99th percentile of `samples`.
fn median_p99(samples: &mut [u64]) -> (u64, u64) {
    samples.sort_unstable();
    (samples[samples.len() / 2], samples[(samples.len() * 99 / 100).min(samples.len() - 1)])
}

/// A row of exec's benchmark that the shell's BENCH runs in the running system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    NullCall,
    OwnPort,
    RoundTrip,
    RoundTripCombined,
    SignalPingPong,
}

impl Row {
    pub const ALL: [Row; 5] = [Row::NullCall, Row::OwnPort, Row::RoundTrip, Row::RoundTripCombined, Row::SignalPingPong];

    /// The row's name, as `make bench` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Row::NullCall => "null_call",
            Row::OwnPort => "msg_own_port",
            Row::RoundTrip => "msg_round_trip",
            Row::RoundTripCombined => "msg_round_trip_combined",
            Row::SignalPingPong => "signal_ping_pong",
        }
    }

    /// Whether the row takes a message size.
    pub fn sized(self) -> bool {
        matches!(self, Row::OwnPort | Row::RoundTrip | Row::RoundTripCombined)
    }

    /// The row called `name` (any case).
    pub fn find(name: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(name))
    }
}

/// Starts the servers the rows need, once: they wait on their ports and signals for good.
fn ensure_servers() {
    if SERVER_PORT.load(Ordering::SeqCst) == 0 {
        sys_add("bench-echo", echo_server);
        await_start(&SERVER_PORT);
    }
    if COMBINED_PORT.load(Ordering::SeqCst) == 0 {
        sys_add("bench-echo-combined", combined_server);
        await_start(&COMBINED_PORT);
    }
    if PONG_TASK.load(Ordering::SeqCst) == 0 {
        sys_add("bench-pong", ponger);
        await_start(&PONG_TASK);
    }
}

/// Why a row could not give figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowError {
    /// No memory for the message or its port.
    NoMemory,
    /// This many runs came back wrong (another message, or its header, stamp or answer
    /// altered).
    Wrong(u64),
}

/// Runs `row` `n` times, with messages of `size` bytes of body (after the header) that the
/// server reads in full when `touch`, in the running system, on the calling task, checking
/// each exchange. Result: the median and the 99th percentile in TSC ticks. Ring 0 only; not
/// from an interrupt.
pub fn run_row(row: Row, size: usize, touch: bool, n: usize) -> Result<(u64, u64), RowError> {
    ensure_servers();
    PING_TASK.store(sys::find_task(None) as usize, Ordering::SeqCst);
    SERVER_TOUCH.store(touch as u32, Ordering::SeqCst);
    let reply = create_msg_port();
    let len = message_len(size);
    let m = alloc_mem(len, MemFlags::PUBLIC | MemFlags::CLEAR) as *mut Message;
    if m.is_null() || reply.is_null() {
        // SAFETY: ours (or null: nothing happens).
        unsafe {
            free_mem(m as *mut u8, len);
            crate::port::delete_msg_port(reply);
        }
        return Err(RowError::NoMemory);
    }
    // SAFETY: a fresh block big enough for the header.
    unsafe { m.write(Message::new(reply, len)) };
    let server = SERVER_PORT.load(Ordering::SeqCst) as *mut MsgPort;
    let combined = COMBINED_PORT.load(Ordering::SeqCst) as *mut MsgPort;
    let pong = PONG_TASK.load(Ordering::SeqCst) as *mut Task;
    let me = sys::find_task(None);
    // Each run: stamp (untimed), the exchange (timed), the check (untimed). The message is
    // ours between runs; `m` stays valid until freed below, and the servers reply every
    // message.
    let s = match row {
        Row::NullCall => samples(n, |clock, _| {
            clock.start();
            let t = core::hint::black_box(sys::find_task(None));
            clock.stop();
            t == me
        }),
        Row::OwnPort => {
            // To our own port: put, get; no task switch. A signalling port, as the ring-3 rows'
            // own ports are (each put signals us; nothing waits for it).
            let own = create_msg_port();
            // SAFETY: see above.
            let s = samples(n, |clock, i| unsafe {
                stamp(m as *mut u8, len, i);
                clock.start();
                sys::put_msg(own, m);
                let got = sys::get_msg(own);
                clock.stop();
                // Nobody answers at our own port: the stamp is what comes back.
                answer(m as *mut u8, len);
                got == m && intact(m, len, i)
            });
            // SAFETY: our empty port.
            unsafe { crate::port::delete_msg_port(own) };
            s
        }
        // Between two tasks of equal priority: put, switch, get, reply, switch back, get.
        // SAFETY: see above.
        Row::RoundTrip => samples(n, |clock, i| unsafe {
            stamp(m as *mut u8, len, i);
            clock.start();
            sys::put_msg(server, m);
            sys::wait_port(reply);
            let got = sys::get_msg(reply);
            clock.stop();
            got == m && intact(m, len, i)
        }),
        // The same with the combined calls: do_msg (put, wait for that message, take it) and
        // the server's reply_wait; two kernel entries instead of six.
        // SAFETY: see above.
        Row::RoundTripCombined => samples(n, |clock, i| unsafe {
            stamp(m as *mut u8, len, i);
            clock.start();
            let got = sys::do_msg(combined, m);
            clock.stop();
            got == m && intact(m, len, i)
        }),
        // SAFETY: see above.
        Row::SignalPingPong => samples(n, |clock, _| unsafe {
            clock.start();
            sys::signal(pong, PING);
            let got = sys::wait(PING);
            clock.stop();
            got & PING != 0
        }),
    };
    // SAFETY: the message is back with us and no longer used; our port is empty.
    unsafe {
        free_mem(m as *mut u8, len);
        crate::port::delete_msg_port(reply);
    }
    s.map(|mut s| median_p99(&mut s)).map_err(RowError::Wrong)
}

/// Where the echo server listens, and whether it reads every byte of what it receives.
static SERVER_PORT: AtomicUsize = AtomicUsize::new(0);
static SERVER_TOUCH: AtomicU32 = AtomicU32::new(0);

fn echo_server(_: usize) {
    let port = create_msg_port();
    SERVER_PORT.store(port as usize, Ordering::SeqCst);
    loop {
        // SAFETY: messages come from the benchmark and stay valid until replied; `length`
        // covers the whole message.
        unsafe {
            sys::wait_port(port);
            let m = sys::get_msg(port);
            serve(m);
            sys::reply_msg(m);
        }
    }
}

/// The same server with the combined call: reply_wait replies and takes the next message.
static COMBINED_PORT: AtomicUsize = AtomicUsize::new(0);

fn combined_server(_: usize) {
    let port = create_msg_port();
    COMBINED_PORT.store(port as usize, Ordering::SeqCst);
    let mut m = null_mut();
    loop {
        // SAFETY: as in `echo_server`; `m` is the message just received, or null at first.
        unsafe {
            m = sys::reply_wait(m, port);
            serve(m);
        }
    }
}

/// What both echo servers do with a message: read every byte when asked to, and answer it.
///
/// # Safety
/// `m` is a benchmark message the caller holds; its `length` covers it.
#[inline(always)]
unsafe fn serve(m: *mut Message) {
    // SAFETY: the caller's promise.
    unsafe {
        let len = (*m).length;
        if SERVER_TOUCH.load(Ordering::Relaxed) != 0 {
            let bytes = core::slice::from_raw_parts(m as *const u8, len);
            let sum = bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b));
            core::hint::black_box(sum);
        }
        answer(m as *mut u8, len);
    }
}

static PONG_TASK: AtomicUsize = AtomicUsize::new(0);
static PING_TASK: AtomicUsize = AtomicUsize::new(0);
const PING: u32 = 1 << 30;

fn ponger(_: usize) {
    // SAFETY: exec calls through the vector table; the benchmark task lives for the whole run.
    unsafe {
        PONG_TASK.store(sys::find_task(None) as usize, Ordering::SeqCst);
        loop {
            sys::wait(PING);
            sys::signal(PING_TASK.load(Ordering::Relaxed) as *mut Task, PING);
        }
    }
}

/// Waits until `cell` is set by a task started at a lower priority.
fn await_start(cell: &AtomicUsize) {
    while cell.load(Ordering::SeqCst) == 0 {
        // Let the lower-priority task run once.
        // SAFETY: null is the caller itself.
        unsafe { crate::task::set_task_pri(null_mut(), -1) };
        // SAFETY: as above.
        unsafe { crate::task::set_task_pri(null_mut(), 0) };
    }
}

/// Runs every benchmark (exec's, then `extra`, which call [`measure`] themselves, then the
/// scale rows, exec's and `scale_extra`'s at each load), then exits QEMU.
pub fn run(extra: &[fn()], scale_extra: &[fn(usize)]) -> ! {
    kprintln!("bench begin mode={} tsc_hz={}", crate::BUILD_MODE, crate::time::tsc_hz());
    // What the timing itself costs (a TSC read; the sample is stored after the second): in
    // every figure.
    measure("empty", 0, false, count(10_000), || {});
    let row = |row: Row, size: usize, touch: bool, n: usize| checked_row(row, row.name(), size, size, touch, n);
    for size in SIZES {
        let n = samples_for(size);
        row(Row::OwnPort, size, false, n);
        for touch in [false, true] {
            row(Row::RoundTrip, size, touch, n);
        }
        for touch in [false, true] {
            row(Row::RoundTripCombined, size, touch, n);
        }
    }
    row(Row::SignalPingPong, 0, false, count(10_000));
    row(Row::NullCall, 0, false, count(10_000));
    for f in extra {
        f();
    }
    scale(scale_extra);
    kprintln!("bench end");
    qemu::exit(qemu::ExitCode::Success)
}

/// Runs `row` with `size` bytes of body and prints its line as `name` with `label` in the size
/// field, or `bench missing` with why it has no figures.
fn checked_row(row: Row, name: &str, size: usize, label: usize, touch: bool, n: usize) {
    let before = Events::now();
    match run_row(row, size, touch, n) {
        Ok(figures) => print_line(name, label, touch, n, figures, Events::now().since(before), runs(n)),
        Err(RowError::Wrong(wrong)) => wrong_results(name, label, wrong, runs(n)),
        Err(RowError::NoMemory) => kprintln!("bench missing name={name} size={label}: no memory for its message"),
    }
}

/// The scale rows: the 64-byte round trips again with 10, 100 and 1,000 more tasks (each
/// waiting for good), as many more public ports (one per task) and as many messages queued at
/// one of them that nobody takes. Nothing on the path walks a list whose length a task
/// controls, so the figures should stay flat. Printed as `scale_round_trip` and
/// `scale_round_trip_combined`, the size field holding the number of extras (and `extra`'s rows
/// at each load). Runs last: the extra tasks stay.
fn scale(extra: &[fn(usize)]) {
    let mut extras = 0;
    for level in [0usize, 10, 100, 1000] {
        while extras < level {
            let t = sys::add_task("bench-idle", 0, idle_with_port, 0, crate::task::MIN_STACK);
            if t.is_null() {
                kprintln!("bench missing name=scale_round_trip size={level}: no memory for the tasks");
                return;
            }
            extras += 1;
        }
        // Wait until every extra task has made its port and queued its message.
        while SCALE_READY.load(Ordering::SeqCst) < extras {
            // SAFETY: null is the caller itself (lets the lower-priority tasks run once).
            unsafe {
                crate::task::set_task_pri(null_mut(), -1);
                crate::task::set_task_pri(null_mut(), 0);
            }
        }
        for (row, name) in [(Row::RoundTrip, "scale_round_trip"), (Row::RoundTripCombined, "scale_round_trip_combined")] {
            checked_row(row, name, 64, level, false, count(10_000));
        }
        for f in extra {
            f(level);
        }
    }
}

/// Extra tasks of the scale rows that are ready (port made, message queued).
static SCALE_READY: AtomicUsize = AtomicUsize::new(0);
/// The port the scale rows' messages wait at (the first extra task's), 0 before.
static SCALE_SINK: AtomicUsize = AtomicUsize::new(0);

/// An extra task of the scale rows: a public port of its own, a message queued at the first
/// such port (nobody takes them), then a wait that never ends.
fn idle_with_port(_: usize) {
    let port = crate::port::create_port(Some("bench-idle"), 0);
    let m = alloc_mem(size_of::<Message>(), MemFlags::PUBLIC | MemFlags::CLEAR) as *mut Message;
    if !port.is_null() && !m.is_null() {
        let _ = SCALE_SINK.compare_exchange(0, port as usize, Ordering::SeqCst, Ordering::SeqCst);
        // SAFETY: a fresh block for the header; the sink is a live port (its task waits for
        // good); the message is never taken, so never replied.
        unsafe {
            m.write(Message::new(null_mut(), size_of::<Message>()));
            sys::put_msg(SCALE_SINK.load(Ordering::SeqCst) as *mut MsgPort, m);
        }
    }
    SCALE_READY.fetch_add(1, Ordering::SeqCst);
    // A signal nobody sends: the port's own signal (set by every message) does not wake it.
    sys::wait(crate::signal::SIGF_CTRL_D);
}

fn sys_add(name: &str, entry: fn(usize)) {
    let t = sys::add_task(name, 0, entry, 0, 16 * 1024);
    assert!(!t.is_null(), "no memory for {name}");
}
