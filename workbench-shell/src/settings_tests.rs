//! In-kernel tests of the settings (mmu build): a ring-3 command sees the shell's state
//! read-only, and changes it only by asking the jobs service, which makes a change only for
//! the command it belongs to and names the asking task from the kernel's record.
//!
//! A stand-in runs as a foreground job of a real command (WAIT, and PROMPT), started the way
//! the service starts every job (`jobs::spawn_as`, with the same pages open to it): it asks
//! for settings with requests right in all but one field, checks each answer against its
//! table, and reports the first that differs in its job's `rc` (its place, from 1) and
//! `error` (the answer). The WAIT stand-in asks too in the name of the PROMPT one, live
//! meanwhile, and then writes to the state's page, which must fault.

use exec::ktest::{Test, TestResult};
use exec::{ensure, ensure_eq};

use core::sync::atomic::Ordering;

use crate::jobs::{Job, Pages, SharedState, spawn_as};
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

/// As a WAIT job (its arguments: the number of a live PROMPT job, which it names in
/// `number`): nothing that is PROMPT's, ALIAS's, COLOR's or CD's, not even in that job's name;
/// a failure and a directory found gone, in its own name whatever `number` says. Every field
/// checked.
fn wait_job_checks(prompt_job: u64) -> alloc::vec::Vec<u64> {
    let none = |_: &mut Request| {};
    alloc::vec![
        asked(Setting::Prompt as u64, b"evil> ", none).0,
        asked(Setting::Prompt as u64, b"evil> ", |r| r.number = prompt_job).0,
        asked(Setting::Alias as u64, b"ll", |r| {
            r.text[2..6].copy_from_slice(b"list");
            r.output_len = 4;
        })
        .0,
        asked(Setting::Unalias as u64, b"ll", none).0,
        asked(Setting::Color as u64, b"", |r| r.flags = 1).0,
        asked(Setting::Dir as u64, b"RAM:evil", none).0,
        asked(0, b"", none).0,
        asked(7, b"", none).0,
        asked(u64::MAX, b"", none).0,
        asked(Setting::Failure as u64, b"x", |r| r.args_len = TEXT_MAX as u64 + 1).0,
        asked(Setting::Failure as u64, b"x", |r| (r.args_len, r.output_len) = (600, 600)).0,
        asked(Setting::Failure as u64, b"x", |r| r.args_len = u64::MAX).0,
        asked(Setting::Failure as u64, b"x", |r| r.output_len = u64::MAX).0,
        asked(Setting::Failure as u64, b"x", |r| r.flags = 2).0,
        asked(Setting::Failure as u64, b"x", |r| r.input_len = 1).0,
        asked(Setting::Failure as u64, b"\xff\xfe", none).0,
        asked(Setting::Failure as u64, b"it broke", |r| r.number = prompt_job).0,
        asked(Setting::Dir as u64, b"", none).0,
    ]
}

const WAIT_EXPECTED: [u64; 18] = [
    ERR_NOT_ALLOWED,
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

/// As a PROMPT job in the background: the prompt (a long one refused, with the state's
/// reason), nothing else of another command's, not even a failure for WHY (the foreground
/// command's).
fn prompt_job_checks() -> alloc::vec::Vec<u64> {
    let none = |_: &mut Request| {};
    let long = [b'p'; PROMPT_MAX + 1];
    let (refused, why) = asked(Setting::Prompt as u64, &long, none);
    alloc::vec![
        asked(Setting::Prompt as u64, b"ok> ", none).0,
        if why == "Prompt too long" { refused } else { u64::MAX - 1 },
        asked(Setting::Alias as u64, b"ll", none).0,
        asked(Setting::Dir as u64, b"RAM:x", none).0,
        asked(Setting::Failure as u64, b"prompt said", none).0,
        asked(Setting::Dir as u64, b"", none).0,
    ]
}

const PROMPT_EXPECTED: [u64; 6] = [ANSWERED, ERR_REFUSED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED];

/// Ring 3, a job's task (its job record at `arg`): runs its command's table of checks (a
/// PROMPT job once it gets Ctrl-C) and reports; as WAIT, then writes to the shell's state
/// (which must fault: `error` says 1 if it did not).
extern "C" fn prober(arg: u64) -> ! {
    // SAFETY: the job the service (here, the test) keeps until this task has ended, open to us.
    let job = unsafe { &*(arg as *const Job) };
    let wait = job.command.name == "WAIT";
    let (got, expected): (alloc::vec::Vec<u64>, &[u64]) = if wait {
        (wait_job_checks(job.args().parse().unwrap_or(0)), &WAIT_EXPECTED)
    } else {
        exec::sys::wait(exec::signal::SIGF_CTRL_C);
        (prompt_job_checks(), &PROMPT_EXPECTED)
    };
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

/// A stand-in job: its task's number and its job record.
type Prober = (u64, *mut Job);

/// Starts the prober as a job of `command` with `args` and `state`: a `foreground` one on CLI
/// 1 (the test's task its owner), else on CLI 2.
fn start_prober(command: &str, args: &str, state: SharedState, foreground: bool) -> Result<Prober, alloc::string::String> {
    let c = crate::commands::find_command(command).ok_or("no such command")?;
    let job = Pages::new(Job::new(if foreground { 1 } else { 2 }, c, args, state.view(), None, None).ok_or("no job")?).ok_or("no memory")?;
    let fields = job.ptr();
    let number = spawn_as(job, state, exec::task::find_task(None), 0, foreground, prober);
    ensure!(number != 0, "the {command} stand-in did not start");
    Ok((number, fields))
}

/// Waits (at most 5 s) for the end of the stand-in; reads its report (rc, error) and frees its
/// record (collected, or reaped if in the background).
fn end_of((number, fields): Prober) -> Result<(i32, u32), alloc::string::String> {
    let limit = 5 * exec::time::TICK_HZ;
    let mut ticks = 0;
    while exec::task::task_alive(number) && ticks < limit {
        exec::time::wait_ticks(1);
        ticks += 1;
    }
    ensure!(ticks < limit, "stand-in {number} did not end in 5 s");
    // SAFETY: the task has ended; its job's pages stay on the service's record until it is
    // collected or reaped below. Only the integers are read.
    let report = unsafe { ((*core::ptr::addr_of!((*fields).rc)).load(Ordering::SeqCst), (*core::ptr::addr_of!((*fields).error)).load(Ordering::SeqCst)) };
    if crate::jobs::collect(number, None).is_err() {
        crate::jobs::reap_jobs();
    }
    Ok(report)
}

fn commands_change_the_state_only_by_asking() -> TestResult {
    crate::system_tests::services_up()?;
    // SAFETY: zero bytes are an empty state (colour off); kept for good, as the shell's own.
    let state = unsafe { SharedState::new(Pages::<ShellState>::zeroed().ok_or("no memory")?.leak()) };
    state.with(|s| {
        let _ = s.prompt.set("orig> ");
        let _ = s.current_dir.set("RAM:here");
        s.add_cli(5, 12345, "other")
    });
    let prompt_prober = start_prober("PROMPT", "", state, false)?;
    let prompt_job = prompt_prober.0;
    let wait_prober = start_prober("WAIT", &alloc::format!("{prompt_job}"), state, true)?;
    let wait = wait_prober.0;
    let report = end_of(wait_prober);
    let read = |s: &ShellState| (alloc::string::String::from(s.prompt.as_str()), alloc::string::String::from(s.dir()), alloc::string::String::from(s.last_message.as_str()), s.message_task, s.color(), s.aliases().len());
    let after_wait = state.view().read(read);
    let t = exec::task::task_by_number(prompt_job);
    if !t.is_null() {
        // SAFETY: a live task (just found; we run at its priority and hold no Forbid, but it
        // waits for this very signal and cannot end before it).
        unsafe { exec::signal::signal(t, exec::signal::SIGF_CTRL_C) };
    }
    let prompt_report = end_of(prompt_prober);
    ensure_eq!(report?, (0, 0), "the WAIT stand-in: (its first wrong answer from 1, the answer; error 1: its write to the state went through)");
    let (prompt, dir, said, by, color, aliases) = after_wait;
    ensure_eq!((prompt.as_str(), dir.as_str(), color, aliases), ("orig> ", "RAM:", false, 0), "only the directory found gone changed");
    ensure_eq!((said.as_str(), by), ("it broke", wait), "the failure told in the stand-in's own name");
    ensure_eq!(prompt_report?, (0, 0), "the PROMPT stand-in: (its first wrong answer from 1, the answer)");
    let (prompt, dir, said, by, _, _) = state.view().read(read);
    ensure_eq!((prompt.as_str(), dir.as_str(), said.as_str(), by), ("ok> ", "RAM:", "it broke", wait), "the background job's own prompt only");
    let clis: alloc::vec::Vec<u64> = state.view().read(|s| s.clis().iter().map(|c| c.task).collect());
    ensure_eq!(clis, [12345], "each job's CLI entry went as its record was freed, no other");
    Ok(())
}
