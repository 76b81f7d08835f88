//! In-kernel benchmarks (`-append bench`): TSC-timed exec paths, printed one per line as
//! `bench <name> n=<samples> median=<tsc> p99=<tsc> unit=tsc` for the host to collect.
//!
//! What a TSC tick is depends on the machine: under QEMU TCG with `-icount shift=0` it is one
//! guest instruction; under hardware virtualisation a real cycle; under plain TCG, host time.
//! The host-side report labels the figures; this code only counts.

use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::x86_64::{cpu, qemu};
use crate::kprintln;
use crate::port::{Message, MsgPort, create_msg_port, get_msg, put_msg, reply_msg, wait_port};
use crate::task::add_task;

const WARMUP: usize = 1_000;
const SAMPLES: usize = 10_000;

fn report(name: &str, samples: &mut [u64]) {
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    kprintln!("bench {name} n={} median={median} p99={p99} unit=tsc", samples.len());
}

/// Times `f` SAMPLES times after WARMUP untimed runs.
fn measure(name: &str, mut f: impl FnMut()) {
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..WARMUP {
        f();
    }
    for _ in 0..SAMPLES {
        let t0 = cpu::rdtsc();
        f();
        samples.push(cpu::rdtsc() - t0);
    }
    report(name, &mut samples);
}

static SERVER_PORT: AtomicUsize = AtomicUsize::new(0);

fn echo_server(_: usize) {
    let port = create_msg_port();
    SERVER_PORT.store(port as usize, Ordering::SeqCst);
    loop {
        // SAFETY: messages come from the benchmark and stay valid until replied.
        unsafe {
            wait_port(port);
            let m = get_msg(port);
            reply_msg(m);
        }
    }
}

/// Runs every benchmark, then exits QEMU.
pub fn run() -> ! {
    kprintln!("bench begin mode={} tsc_hz={}", crate::BUILD_MODE, crate::time::tsc_hz());
    let reply = create_msg_port();
    let mut msg = Message::new(reply, size_of::<Message>());
    let m: *mut Message = &mut msg;

    // To our own port: put, get; no task switch.
    let own = create_msg_port();
    // SAFETY: `own` and the message live until the end of run().
    unsafe { (*own).action = crate::port::PortAction::Ignore };
    measure("msg_own_port", || unsafe {
        // SAFETY: as above.
        put_msg(own, m);
        get_msg(own);
    });

    // Between two tasks of equal priority: put, switch, get, reply, switch back, get.
    add_task("bench-echo", 0, echo_server, 0, 16 * 1024);
    while SERVER_PORT.load(Ordering::SeqCst) == 0 {
        crate::signal::wait(0);
        crate::task::set_task_pri(null_mut(), -1);
        crate::task::set_task_pri(null_mut(), 0);
    }
    let server = SERVER_PORT.load(Ordering::SeqCst) as *mut MsgPort;
    measure("msg_round_trip_tasks", || unsafe {
        // SAFETY: the server replies every message; ours lives until the end of run().
        put_msg(server, m);
        wait_port(reply);
        get_msg(reply);
    });

    measure("find_task_self", || {
        // SAFETY: a call through the vector table with no pointer arguments.
        core::hint::black_box(unsafe { crate::sys::find_task(None) });
    });
    kprintln!("bench end");
    qemu::exit(qemu::ExitCode::Success)
}
