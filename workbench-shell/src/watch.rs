//! CLI 1's watcher (mmu build). The shell runs in ring 3, where a fault of its own removes it
//! as it would any task, and the console would be left without a shell. A ring-0 task,
//! `shell.watch`, starts the shell, hears of its end from exec, and starts a new one unless it
//! ended at the user's word (Ctrl-D: the shell says goodbye to the jobs service, which keeps
//! that in ring-0 memory, out of the commands' reach), at most
//! [`RESTARTS_MAX`] times, as `dos.watch` does for the DOS handlers. (In the flat build the
//! shell runs in ring 0, where a fault of its own stops the machine: nothing to watch.)

use core::sync::atomic::Ordering;

use exec::signal::SIGF_CTRL_F;
use exec::task::Task;

use crate::jobs::{SAID_GOODBYE, SHELL_TASK, SharedState};

/// How often a shell that ended by a fault is started again; then it stays gone (a shell that
/// faults at once would otherwise be started for ever).
pub const RESTARTS_MAX: u32 = 3;

/// How a watched shell starts: a task given the shared state, or null without memory. Called
/// under Forbid.
pub type StartShell = fn(SharedState) -> *mut Task;

/// Starts the shell with `start`, and again each time it ends without saying goodbye (a
/// fault), at most [`RESTARTS_MAX`] times. Each new shell is the one the jobs service answers
/// ([`SHELL_TASK`]). After each end the CLI table loses the entries of ended tasks (the shell's
/// among them), and the shell's foreground job, if it still runs, becomes a background one.
/// Returns when the shell said goodbye, could not start, or ended once more than allowed.
/// Result: how often it started. Ring 0 only; not callable from an interrupt.
pub fn keep_running(state: SharedState, start: StartShell) -> u32 {
    let mut starts = 0;
    loop {
        // Under Forbid: the jobs service knows the new shell's number, and exec whom to tell
        // of its end, before it can run.
        exec::sched::forbid();
        let t = start(state);
        // SAFETY: a live task (it cannot have ended under our Forbid), or null.
        let number = unsafe { t.as_ref() }.map_or(0, |t| t.id());
        if !t.is_null() {
            SHELL_TASK.store(number, Ordering::SeqCst);
            // SAFETY: as above.
            unsafe { exec::task::notify_on_end(t, exec::task::find_task(None), SIGF_CTRL_F) };
        }
        exec::sched::permit();
        if t.is_null() {
            exec::kprintln!("Shell: no memory for CLI 1's task.");
            return starts;
        }
        starts += 1;
        while exec::task::task_alive(number) {
            exec::signal::wait(SIGF_CTRL_F);
        }
        crate::jobs::orphan(number);
        state.with(|s| {
            for c in s.clis().into_iter().filter(|c| !exec::task::task_alive(c.task)) {
                s.remove_cli(c.task);
            }
            s.redraw.set("");
        });
        if SAID_GOODBYE.load(Ordering::SeqCst) == number {
            return starts;
        }
        if starts > RESTARTS_MAX {
            exec::kprintln!("Shell: CLI 1 ended without saying goodbye again: no new one ({starts} started).");
            return starts;
        }
        exec::kprintln!("Shell: CLI 1 ended without saying goodbye (a fault, or no console); a new one starts.");
    }
}
