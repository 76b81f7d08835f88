//! The DOS handlers of the mmu build: RAM:, NIL:, CON: and the DOS server in ring 3, each in an
//! address space of its own (their code is `libraries::handlers` and `libraries::dos::server`),
//! so that every file operation crosses protection twice: the client's packet into the
//! handler's memory, and the answer back.
//!
//! A handler that faults is removed, as any ring-3 task is, and its clients get errors back. A
//! watcher task (`dos.watch`, ring 0) hears of each handler's end and starts it again, up to
//! [`RESTARTS_MAX`] times each: a new RAM: starts with an empty disk (its files were in the
//! handler's memory, which went with it), a new DOS server names RAM:'s volume again (its
//! assigns are gone).

use exec::memory::MemFlags;
use exec::signal::{SIGF_CTRL_C, SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;

/// How often each handler is started again after it ended; then it stays gone (a handler that
/// faults at once would otherwise be restarted for ever).
pub const RESTARTS_MAX: u32 = 3;

/// RAM:'s heap: an eighth of exec memory at boot, at least 1 MiB and at most 16 MiB (within a
/// ring-3 family's quota). Its disk is half of it: the rest is room for its records and for
/// the growth of its files' buffers.
fn ram_heap() -> usize {
    (exec::memory::avail_mem(MemFlags::ANY) / 8).clamp(1 << 20, 16 << 20)
}

/// A handler: its task's and port's name, how it starts, and the signal its end sends the
/// watcher.
struct Handler {
    name: &'static str,
    port: &'static str,
    start: fn(usize) -> *mut Task,
    signal: u32,
}

const HANDLERS: [Handler; 4] = [
    Handler {
        name: "RAM",
        port: libraries::handlers::ram::PORT_NAME,
        start: |heap| crate::user::add_user_task_with_heap("RAM", 0, libraries::handlers::ram::entry_ring3, (heap / 2) as u64, heap),
        signal: SIGF_CTRL_C,
    },
    Handler { name: "NIL", port: libraries::handlers::nil::PORT_NAME, start: |_| crate::user::add_user_task("NIL", 0, libraries::handlers::nil::entry_ring3, 0), signal: SIGF_CTRL_D },
    Handler { name: "CON", port: libraries::handlers::con::PORT_NAME, start: |_| crate::user::add_user_task("CON", 0, libraries::handlers::con::entry_ring3, 0), signal: SIGF_CTRL_E },
    Handler {
        name: "dos.list",
        port: libraries::dos::server::PORT_NAME,
        start: |_| crate::user::add_user_task("dos.list", 0, libraries::dos::server::entry_ring3, 0),
        signal: SIGF_CTRL_F,
    },
];

/// RAM:'s heap size, fixed at boot (a restarted RAM: gets the same).
static RAM_HEAP: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Starts RAM:, NIL:, CON: and the DOS server (the list of assigns) in ring 3, and the watcher
/// that starts one again when it ends. Before multitasking (the boot order).
pub fn start_handlers() {
    RAM_HEAP.store(ram_heap(), core::sync::atomic::Ordering::SeqCst);
    // Above the handlers, so that it has asked to hear of a new handler's end before that
    // handler first runs.
    let watcher = exec::task::add_task("dos.watch", 5, watch, 0, 16 * 1024);
    if watcher.is_null() {
        exec::kprintln!("DOS: the handlers' watcher did not start");
    }
    for h in &HANDLERS {
        if !start(h, watcher) {
            exec::kprintln!("DOS: a handler did not start");
        }
    }
}

/// Starts handler `h`; its end signals `watcher` (if there is one). Result: whether it started.
fn start(h: &Handler, watcher: *mut Task) -> bool {
    // Its port's name is the handler's alone, even while it is down.
    crate::msg::reserve_name(h.port);
    let t = (h.start)(RAM_HEAP.load(core::sync::atomic::Ordering::SeqCst));
    if !t.is_null() && !watcher.is_null() {
        // SAFETY: `t` is live (just started; it has not run, being below the caller, or the
        // boot task before multitasking), and so is the watcher.
        unsafe { exec::task::notify_on_end(t, watcher, h.signal) };
    }
    !t.is_null()
}

/// The watcher: each handler's end starts it again (while it has restarts left), once its old
/// port has gone.
fn watch(_: usize) {
    let me = exec::task::find_task(None);
    let all = HANDLERS.iter().fold(0, |m, h| m | h.signal);
    let mut restarts = [0u32; HANDLERS.len()];
    loop {
        let ended = exec::signal::wait(all);
        for (i, h) in HANDLERS.iter().enumerate().filter(|(_, h)| ended & h.signal != 0) {
            if restarts[i] >= RESTARTS_MAX {
                exec::kprintln!("DOS: {} ended; not started again (it was, {RESTARTS_MAX} times)", h.name);
                continue;
            }
            // The old one's port goes with its end; a new one of the same name must not meet it.
            for _ in 0..exec::time::TICK_HZ {
                if exec::port::find_port(h.port).is_null() {
                    break;
                }
                exec::time::wait_ticks(1);
            }
            restarts[i] += 1;
            if !start(h, me) {
                exec::kprintln!("DOS: {} ended and did not start again", h.name);
                continue;
            }
            exec::kprintln!("DOS: {} ended; started again ({} of {RESTARTS_MAX}){}", h.name, restarts[i], if h.name == "RAM" { ": its files are lost" } else { "" });
            if h.port == libraries::dos::server::PORT_NAME {
                rename_ram_volume();
            }
        }
    }
}

/// A new DOS server knows no volumes: RAM:'s is named again once the server's port is there.
fn rename_ram_volume() {
    for _ in 0..2 * exec::time::TICK_HZ {
        if !exec::port::find_port(libraries::dos::server::PORT_NAME).is_null() {
            let named = libraries::dos::add_volume(libraries::handlers::RAM_VOLUME, libraries::handlers::ram::PORT_NAME);
            // The watcher was a DOS process for that packet only.
            libraries::dos::end_process();
            if let Err(e) = named {
                exec::kprintln!("DOS: RAM:'s volume was not named again ({e})");
            }
            return;
        }
        exec::time::wait_ticks(1);
    }
}
