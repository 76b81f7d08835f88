//! In-kernel tests of the settings (mmu build): a ring-3 command sees the shell's state
//! read-only, and changes it only by asking the jobs service, which makes a change only for
//! the command it belongs to and names the asking task from the kernel's record.
//!
//! A stand-in runs as a job of a real command (WAIT, then PROMPT), started the way the
//! service starts every job (`jobs::spawn_as`, with the same pages open to it): it asks for
//! settings with requests right in all but one field, checks each answer against its table,
//! and reports the first that differs in its job's `rc` (its place, from 1) and `error` (the
//! answer). The WAIT stand-in then writes to the state's page, which must fault.

use exec::ktest::{Test, TestResult};
use exec::signal::SIGF_CTRL_F;
use exec::{ensure, ensure_eq};

use core::sync::atomic::Ordering;

use crate::jobs::{Job, Pages, SharedState, reap_jobs, spawn_as};
use crate::state::{PROMPT_MAX, Setting, ShellState};
use crate::system::{ANSWERED, ERR_BAD_REQUEST, ERR_NOT_ALLOWED, ERR_REFUSED, JOBS_PORT_NAME, Request, SETTING, TEXT_MAX, ask_at};

pub static TESTS: &[Test] = &[Test::new("shell.commands_change_the_state_only_by_asking", commands_change_the_state_only_by_asking)];

/// A SETTING request for `setting` with `text` as its first text, as `ask_change` makes it,
/// then changed by `tweak` (one field made wrong); the service's answer, and the answer's text.
fn asked(setting: u64, text: &[u8], tweak: impl FnOnce(&mut Request)) -> (u64, alloc::string::String) {
    let mut req = Request::new(SETTING, core::ptr::null_mut());
    req.text[..text.len()].copy_from_slice(text);
    (req.setting, req.args_len) = (setting, text.len() as u64);
    req.number = crate::my_task_number();
    tweak(&mut req);
    let answer = ask_at(JOBS_PORT_NAME, &mut req);
    (answer, alloc::string::String::from(req.text()))
}

/// The number of a task that is no job (the test's own task, in ring 0): what a forged
/// `number` names.
const FORGED: u64 = 1;

/// As a WAIT job: nothing that is PROMPT's, ALIAS's, COLOR's or CD's; a failure and a
/// directory found gone, in its own name whatever `number` says. Every field checked.
fn wait_job_checks() -> alloc::vec::Vec<u64> {
    let none = |_: &mut Request| {};
    alloc::vec![
        asked(Setting::Prompt as u64, b"evil> ", none).0,
        asked(Setting::Alias as u64, b"ll", |r| r.output_len = 0).0,
        asked(Setting::Unalias as u64, b"ll", none).0,
        asked(Setting::Color as u64, b"", |r| r.flags = 1).0,
        asked(Setting::Dir as u64, b"RAM:evil", none).0,
        asked(0, b"", none).0,
        asked(8, b"", none).0,
        asked(u64::MAX, b"", none).0,
        asked(Setting::Failure as u64, b"x", |r| r.args_len = TEXT_MAX as u64 + 1).0,
        asked(Setting::Failure as u64, b"x", |r| (r.args_len, r.output_len) = (600, 600)).0,
        asked(Setting::Failure as u64, b"x", |r| r.args_len = u64::MAX).0,
        asked(Setting::Failure as u64, b"x", |r| r.output_len = u64::MAX).0,
        asked(Setting::Failure as u64, b"x", |r| r.flags = 2).0,
        asked(Setting::Failure as u64, b"x", |r| r.input_len = 1).0,
        asked(Setting::Failure as u64, b"\xff\xfe", none).0,
        asked(Setting::Failure as u64, b"it broke", |r| r.number = FORGED).0,
        asked(Setting::Dir as u64, b"", none).0,
    ]
}

const WAIT_EXPECTED: [u64; 17] = [
    ERR_NOT_ALLOWED,
    ERR_NOT_ALLOWED,
    ERR_NOT_ALLOWED,
    ERR_NOT_ALLOWED,
    ERR_NOT_ALLOWED,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ERR_BAD_REQUEST,
    ANSWERED,
    ANSWERED,
];

/// As a PROMPT job: the prompt (a long one refused, with the state's reason), nothing else
/// of another command's; its CLI entry ends in its own name.
fn prompt_job_checks() -> alloc::vec::Vec<u64> {
    let none = |_: &mut Request| {};
    let long = [b'p'; PROMPT_MAX + 1];
    let (refused, why) = asked(Setting::Prompt as u64, &long, none);
    alloc::vec![
        asked(Setting::Prompt as u64, b"ok> ", none).0,
        if why == "Prompt too long" { refused } else { u64::MAX - 1 },
        asked(Setting::Alias as u64, b"ll", none).0,
        asked(Setting::Dir as u64, b"RAM:x", none).0,
        asked(Setting::EndCli as u64, b"", |r| r.number = FORGED).0,
    ]
}

const PROMPT_EXPECTED: [u64; 5] = [ANSWERED, ERR_REFUSED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, ANSWERED];

/// Ring 3, a job's task (its job record at `arg`): runs its command's table of checks and
/// reports; as WAIT, then writes to the shell's state (which must fault: `error` says 1 if
/// it did not).
extern "C" fn prober(arg: u64) -> ! {
    // SAFETY: the job the service (here, the test) keeps until this task has ended, open to us.
    let job = unsafe { &*(arg as *const Job) };
    let wait = job.command.name == "WAIT";
    let (got, expected): (alloc::vec::Vec<u64>, &[u64]) = if wait { (wait_job_checks(), &WAIT_EXPECTED) } else { (prompt_job_checks(), &PROMPT_EXPECTED) };
    let wrong = got.iter().zip(expected).position(|(g, e)| g != e);
    job.rc.store(wrong.map_or(0, |i| i as i32 + 1), Ordering::SeqCst);
    job.error.store(wrong.map_or(0, |i| got[i] as u32), Ordering::SeqCst);
    if wait {
        // SAFETY: deliberately wrong: the state's page is open read-only; the fault removes
        // only this task.
        unsafe { core::ptr::write_volatile(job.state.addr() as *mut u8, b'!') };
        job.error.store(1, Ordering::SeqCst);
    }
    // SAFETY: ends the calling task.
    unsafe { exec::sys::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// Runs the prober as a job of `command` on CLI `cli` with `state`; waits (at most 5 s) for
/// its end. Result: its task's number and its report (rc, error).
fn run_prober(command: &str, cli: u32, state: SharedState) -> Result<(u64, i32, u32), alloc::string::String> {
    let c = crate::commands::find_command(command).ok_or("no such command")?;
    let job = Pages::new(Job::new(cli, c, "", state.view(), None, None).ok_or("no job")?).ok_or("no memory")?;
    let fields = job.ptr();
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let number = spawn_as(job, state, exec::task::find_task(None), SIGF_CTRL_F, false, prober);
    ensure!(number != 0, "the {command} stand-in did not start");
    let limit = 5 * exec::time::TICK_HZ;
    let mut ticks = 0;
    while exec::signal::set_signal(0, 0) & SIGF_CTRL_F == 0 && ticks < limit {
        exec::time::wait_ticks(1);
        ticks += 1;
    }
    ensure!(ticks < limit, "the {command} stand-in did not end in 5 s");
    exec::signal::set_signal(0, SIGF_CTRL_F);
    // SAFETY: the task has ended; its job's pages stay on the service's record until reaped
    // below. Only the integers are read.
    let (rc, error) = unsafe { ((*core::ptr::addr_of!((*fields).rc)).load(Ordering::SeqCst), (*core::ptr::addr_of!((*fields).error)).load(Ordering::SeqCst)) };
    reap_jobs();
    Ok((number, rc, error))
}

fn commands_change_the_state_only_by_asking() -> TestResult {
    crate::system_tests::services_up()?;
    // SAFETY: zero bytes are an empty state; kept for good, as the shell keeps its own.
    let state = unsafe { SharedState::new(Pages::<ShellState>::zeroed().ok_or("no memory")?.leak()) };
    state.with(|s| {
        let _ = s.prompt.set("orig> ");
        let _ = s.current_dir.set("RAM:here");
        s.add_cli(5, 12345, "other")
    });
    let (wait, rc, error) = run_prober("WAIT", 9, state)?;
    ensure_eq!((rc, error), (0, 0), "(the WAIT stand-in's first wrong answer from 1, the answer; error 1: its write to the state went through)");
    let (prompt, dir, said, by) = state.with(|s| (alloc::string::String::from(s.prompt.as_str()), alloc::string::String::from(s.dir()), alloc::string::String::from(s.last_message.as_str()), s.message_task));
    ensure_eq!((prompt.as_str(), dir.as_str()), ("orig> ", "RAM:"), "the prompt untouched, the directory found gone");
    ensure_eq!((said.as_str(), by), ("it broke", wait), "the failure told in the stand-in's own name");
    state.with(|s| s.remove_cli(wait)); // it faulted before its end (the shell's forget_ended_clis)
    let (prompt_job, rc, error) = run_prober("PROMPT", 10, state)?;
    ensure_eq!((rc, error), (0, 0), "(the PROMPT stand-in's first wrong answer from 1, the answer)");
    let (prompt, clis) = state.with(|s| (alloc::string::String::from(s.prompt.as_str()), s.clis().iter().map(|c| c.task).collect::<alloc::vec::Vec<_>>()));
    ensure_eq!(prompt.as_str(), "ok> ");
    ensure_eq!(clis, [12345], "the PROMPT job's CLI entry went at its word, no other (job {prompt_job})");
    Ok(())
}
