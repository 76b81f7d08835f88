//! In-kernel benchmarks (`-append bench`): TSC-timed exec paths, printed one per line as
//! `bench name=<entry> size=<bytes> touch=<0|1> n=<samples> median=<tsc> p99=<tsc>
//! ev=<events per operation>` for the host's `make bench` to collect. The events (`events.rs`:
//! context switches, gate calls, CR3 loads, TLB flushes, page-table entries written, bytes
//! copied) are counted over every run of the row, warm-ups included, and divided by their
//! number.
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

/// Message sizes measured (the whole message, header included, at least the header).
pub const SIZES: [usize; 6] = [0, 64, 1024, 4096, 65536, 1 << 20];

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
pub fn measure(name: &str, size: usize, touch: bool, n: usize, f: impl FnMut()) {
    let before = Events::now();
    let mut samples = samples(n, f);
    let events = Events::now().since(before);
    report(name, size, touch, &mut samples, events, runs(n));
}

/// How many times [`samples`] runs its function for `n` samples (warm-ups included).
pub fn runs(n: usize) -> u64 {
    (n.max(1) + n.max(1) / 10) as u64
}

/// What timing itself costs: the median of an empty timed region (two TSC reads and a store),
/// which `make bench` subtracts from every row (its `empty` row) and BENCH too. Not callable
/// from an interrupt.
pub fn timing_overhead() -> u64 {
    median_p99(&mut samples(1000, || {})).0
}

/// `f` timed `n` times (at least once) after `n / 10` untimed runs.
fn samples(n: usize, mut f: impl FnMut()) -> Vec<u64> {
    let n = n.max(1);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n / 10 {
        f();
    }
    for _ in 0..n {
        let t0 = cpu::rdtsc();
        f();
        samples.push(cpu::rdtsc() - t0);
    }
    samples
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

/// Runs `row` `n` times, with messages of `size` bytes (the header at least) that the server
/// reads in full when `touch`, in the running system, on the calling task. Result: the median
/// and the 99th percentile in TSC ticks, or `None` without memory for the message. Ring 0
/// only; not from an interrupt.
pub fn run_row(row: Row, size: usize, touch: bool, n: usize) -> Option<(u64, u64)> {
    ensure_servers();
    PING_TASK.store(sys::find_task(None) as usize, Ordering::SeqCst);
    SERVER_TOUCH.store(touch as u32, Ordering::SeqCst);
    let reply = create_msg_port();
    let len = size.max(size_of::<Message>());
    let m = alloc_mem(len, MemFlags::PUBLIC | MemFlags::CLEAR) as *mut Message;
    if m.is_null() || reply.is_null() {
        // SAFETY: ours (or null: nothing happens).
        unsafe {
            free_mem(m as *mut u8, len);
            crate::port::delete_msg_port(reply);
        }
        return None;
    }
    // SAFETY: a fresh block big enough for the header.
    unsafe { m.write(Message::new(reply, len)) };
    let server = SERVER_PORT.load(Ordering::SeqCst) as *mut MsgPort;
    let combined = COMBINED_PORT.load(Ordering::SeqCst) as *mut MsgPort;
    let pong = PONG_TASK.load(Ordering::SeqCst) as *mut Task;
    let mut s = match row {
        Row::NullCall => samples(n, || {
            core::hint::black_box(sys::find_task(None));
        }),
        Row::OwnPort => {
            // To our own port: put, get; no task switch. A signalling port, as the ring-3 rows'
            // own ports are (each put signals us; nothing waits for it).
            let own = create_msg_port();
            let s = samples(n, || unsafe {
                // SAFETY: as above.
                sys::put_msg(own, m);
                sys::get_msg(own);
            });
            // SAFETY: our empty port.
            unsafe { crate::port::delete_msg_port(own) };
            s
        }
        // Between two tasks of equal priority: put, switch, get, reply, switch back, get.
        Row::RoundTrip => samples(n, || unsafe {
            // SAFETY: the server replies every message; ours lives until freed below.
            sys::put_msg(server, m);
            sys::wait_port(reply);
            sys::get_msg(reply);
        }),
        // The same with the combined calls: do_msg (put, wait for that message, take it) and
        // the server's reply_wait; two kernel entries instead of six.
        Row::RoundTripCombined => samples(n, || {
            // SAFETY: as above.
            let back = unsafe { sys::do_msg(combined, m) };
            assert!(back == m, "do_msg returned another message");
        }),
        Row::SignalPingPong => samples(n, || {
            // SAFETY: the ponger lives for good.
            unsafe {
                sys::signal(pong, PING);
                sys::wait(PING);
            }
        }),
    };
    // SAFETY: the message is back with us and no longer used; our port is empty.
    unsafe {
        free_mem(m as *mut u8, len);
        crate::port::delete_msg_port(reply);
    }
    Some(median_p99(&mut s))
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
            if SERVER_TOUCH.load(Ordering::Relaxed) != 0 {
                let bytes = core::slice::from_raw_parts(m as *const u8, (*m).length);
                let sum = bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b));
                core::hint::black_box(sum);
            }
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
            if SERVER_TOUCH.load(Ordering::Relaxed) != 0 {
                let bytes = core::slice::from_raw_parts(m as *const u8, (*m).length);
                let sum = bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b));
                core::hint::black_box(sum);
            }
        }
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
    let row = |row: Row, size: usize, touch: bool, n: usize| {
        let before = Events::now();
        let figures = run_row(row, size, touch, n).expect("no memory for a benchmark's message");
        print_line(row.name(), size, touch, n, figures, Events::now().since(before), runs(n));
    };
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
            let before = Events::now();
            let n = count(10_000);
            let figures = run_row(row, 64, false, n).expect("no memory for a benchmark's message");
            print_line(name, level, false, n, figures, Events::now().since(before), runs(n));
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
