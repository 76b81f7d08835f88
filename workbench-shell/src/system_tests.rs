//! In-kernel tests of the system and jobs services (mmu build): a ring-3 task that is no job
//! of the shell's asks the system service to shut the machine down, reboot it, time a row and
//! run a CRASHTEST scenario, and is refused each time (the machine goes on); a request too
//! short to answer comes back unanswered; a ring-0 caller's request is checked field by field
//! and answered. The jobs service answers only the shell's task in ring 3, checks every field
//! of a START, and signals a job's end to the ring-3 shell that asked, never to a task the
//! request names.

use exec::ktest::{Test, TestResult};
use exec::signal::SIGF_CTRL_F;
use exec::{ensure, ensure_eq};

use crate::system::{
    ANSWERED, BENCH, BREAK_JOB, CRASHTEST, ERR_BAD_REQUEST, ERR_NOT_ALLOWED, ERR_RUNNING, FOREGROUND, JOBS_PORT_NAME, REBOOT, RESULT, Request, SHUTDOWN, START,
    TEXT_MAX, UNANSWERED, ask, ask_at,
};

pub static TESTS: &[Test] = &[
    Test::new("shell.system_service_checks_who_asks", system_service_checks_who_asks),
    Test::new("shell.who_runs_what_is_the_shells_record", who_runs_what_is_the_shells_record),
    Test::new("shell.jobs_service_checks_each_field", jobs_service_checks_each_field),
    Test::new("shell.jobs_service_answers_only_the_shell", jobs_service_answers_only_the_shell),
    Test::new("shell.watcher_starts_a_faulting_shell_again", watcher_starts_a_faulting_shell_again),
];

/// A ring-3 command may rewrite its job's pages at will (they are mapped writable into its
/// space): the command a job runs, which the system service asks before it shuts the machine
/// down for a SHUTDOWN command, is the shell's own record, not the job's `command` field. The
/// test runs WAIT as a job, rewrites that field as the command could (to SHUTDOWN, then to
/// garbage that a ring-0 reader would fault on), and checks what the service would be told.
fn who_runs_what_is_the_shells_record() -> TestResult {
    use crate::jobs::{Job, Pages, SharedState, reap_jobs, spawn};
    use exec::signal::SIGF_CTRL_C;
    let wait = crate::commands::find_command("WAIT").ok_or("no WAIT")?;
    let shutdown = crate::commands::find_command("SHUTDOWN").ok_or("no SHUTDOWN")?;
    // SAFETY: zero bytes are an empty state; kept for good, as the shell keeps its own.
    let state = unsafe { SharedState::new(Pages::<crate::state::ShellState>::zeroed().ok_or("no memory")?.leak()) };
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let job = Pages::new(Job::new(9, wait, "30", state.view(), None, None).ok_or("no job")?).ok_or("no memory")?;
    let fields = job.ptr();
    // Under Forbid, so that the command does not start before its field is put back.
    exec::sched::forbid();
    let number = spawn(job, state, exec::task::find_task(None), SIGF_CTRL_F, false);
    let checks = rewritten(number, fields, shutdown);
    // Put back before the task can read it, whatever the checks found (a job that did not
    // start was dropped with its pages: nothing to put back).
    if number != 0 {
        // SAFETY: the job's pages live until the task has ended and been reaped.
        unsafe { core::ptr::addr_of_mut!((*fields).command).write(wait) };
    }
    exec::sched::permit();
    let number = checks?;
    let t = exec::task::task_by_number(number);
    ensure!(!t.is_null(), "WAIT ended early");
    // SAFETY: a live task (just found).
    unsafe { exec::signal::signal(t, SIGF_CTRL_C) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    reap_jobs();
    ensure_eq!(crate::jobs::command_of(number), None, "an ended job is still known");
    Ok(())
}

/// The checks of [`who_runs_what_is_the_shells_record`] on the job of task `number`, whose
/// fields are at `fields` (the caller puts the field back). Result: the task's number.
fn rewritten(number: u64, fields: *mut crate::jobs::Job, shutdown: &'static crate::commands::Command) -> Result<u64, alloc::string::String> {
    ensure!(number != 0, "WAIT did not start");
    ensure_eq!(crate::jobs::command_of(number), Some("WAIT"));
    // SAFETY: the job's pages live until the task has ended and been reaped; the field is
    // written as the command itself could write it.
    unsafe { core::ptr::addr_of_mut!((*fields).command).write(shutdown) };
    ensure_eq!(crate::jobs::command_of(number), Some("WAIT"), "a rewritten job became SHUTDOWN");
    // SAFETY: as above: garbage, which the shell must never follow.
    unsafe { (core::ptr::addr_of_mut!((*fields).command) as *mut u64).write(0xdead_0000_0000_0000) };
    ensure_eq!(crate::jobs::command_of(number), Some("WAIT"), "after garbage");
    ensure_eq!(crate::jobs::command_of(number ^ (1 << 32)), None, "a number of no job");
    Ok(number)
}

/// What the ring-3 task was answered: SHUTDOWN, REBOOT, BENCH, CRASHTEST, and a request cut
/// short.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Answers {
    parent: u64,
    got: [u64; 5],
}

/// Ring 3, no job of the shell's: asks for everything the service does.
extern "C" fn intruder(block: u64) -> ! {
    let a = block as *mut Answers;
    // SAFETY: our own block; every exec call goes through the gate.
    unsafe {
        for (i, kind) in [SHUTDOWN, REBOOT, BENCH, CRASHTEST].into_iter().enumerate() {
            let mut req = Request::new(kind, core::ptr::null_mut());
            req.count = 10;
            (*a).got[i] = ask(&mut req);
        }
        // A request whose header says it is shorter than a request: nothing is read past it.
        let port = exec::sys::find_port(crate::system::PORT_NAME);
        let reply = exec::sys::create_msg_port();
        let mut req = Request::new(SHUTDOWN, reply);
        req.msg.length = size_of::<exec::port::Message>() + 8;
        exec::sys::do_msg(port, &mut req.msg);
        (*a).got[4] = req.error;
        exec::sys::signal(exec::sys::task_by_number((*a).parent), SIGF_CTRL_F);
        exec::sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Starts the system and jobs services unless they run (the suite runs before the shell).
pub(crate) fn services_up() -> TestResult {
    if exec::sys::find_port(crate::system::JOBS_PORT_NAME).is_null() {
        ensure!(crate::system::start(), "the services did not start");
        while exec::sys::find_port(crate::system::PORT_NAME).is_null() || exec::sys::find_port(crate::system::JOBS_PORT_NAME).is_null() {
            exec::time::wait_ticks(1);
        }
    }
    Ok(())
}

fn system_service_checks_who_asks() -> TestResult {
    services_up()?;
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let me = crate::my_task_number();
    let Some((_, block)) = mmu_mode::user::add_user_task_with("r3-intruder", 0, intruder, Answers { parent: me, got: [0; 5] }) else {
        return Err("no memory for the task".into());
    };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task's memory is exec memory the kernel reads.
    let a = unsafe { (block as *const Answers).read() };
    ensure_eq!(a.got, [ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, ERR_NOT_ALLOWED, UNANSWERED], "the machine is still here to say so");
    // Ring 0 may ask; each field is checked all the same.
    let mut req = Request::new(BENCH, core::ptr::null_mut());
    (req.row, req.size, req.count) = (0, 64, 50);
    ensure_eq!(ask(&mut req), ANSWERED);
    ensure!(req.median > 0 && req.p99 >= req.median && req.overhead > 0, "{} {} {}", req.median, req.p99, req.overhead);
    for (row, size, count, read) in [(99, 64, 10, 0), (0, (1 << 20) + 1, 10, 0), (0, 64, 0, 0), (0, 64, 100_001, 0), (0, 64, 10, 2), (u64::MAX, 64, 10, 0)] {
        let mut req = Request::new(BENCH, core::ptr::null_mut());
        (req.row, req.size, req.count, req.read) = (row, size, count, read);
        ensure_eq!(ask(&mut req), ERR_BAD_REQUEST, "row {row} size {size} count {count} read {read}");
    }
    let mut req = Request::new(77, core::ptr::null_mut());
    ensure_eq!(ask(&mut req), ERR_BAD_REQUEST, "an unknown kind");
    let mut req = Request::new(CRASHTEST, core::ptr::null_mut());
    req.scenario = 999;
    ensure_eq!(ask(&mut req), ERR_BAD_REQUEST, "no such scenario");
    Ok(())
}

/// A START of WAIT (`args`) as the shell sends it, in the foreground, the end to be signalled
/// to task `notify` with `mask`.
fn start_request(args: &str, notify: u64, mask: u32) -> Request {
    let mut req = Request::new(START, core::ptr::null_mut());
    req.command = crate::commands::COMMANDS.iter().position(|c| c.name == "WAIT").unwrap_or(usize::MAX) as u64;
    req.cli = 1;
    req.flags = FOREGROUND;
    req.mask = u64::from(mask);
    req.number = notify;
    req.text[..args.len()].copy_from_slice(args.as_bytes());
    req.args_len = args.len() as u64;
    req
}

/// Ring 0 may ask the jobs service, which checks every field all the same: a START wrong in
/// one field each (RUN, the shell's own, among them) is refused and starts nothing; a good one
/// starts the job, which runs until broken, and a second foreground one of the same asker
/// meanwhile is refused; RESULT says it runs, then, once it has ended, how it ended, once.
fn jobs_service_checks_each_field() -> TestResult {
    services_up()?;
    let me = crate::my_task_number();
    let tasks_before = exec::ktest_util::task_count();
    type Spoil = fn(&mut Request);
    let bad: [(&str, Spoil); 11] = [
        ("no such command", |r| r.command = crate::commands::COMMANDS.len() as u64),
        ("RUN, the shell's own", |r| r.command = crate::commands::COMMANDS.iter().position(|c| c.name == "RUN").unwrap_or(0) as u64),
        ("a command far out", |r| r.command = u64::MAX),
        ("CLI 0", |r| r.cli = 0),
        ("a CLI number past the table", |r| r.cli = crate::state::MAX_CLIS as u64 + 2),
        ("an unknown flag", |r| r.flags |= 4),
        ("a mask wider than a signal word", |r| r.mask = 1 << 32),
        ("arguments past the text", |r| r.args_len = TEXT_MAX as u64 + 1),
        ("texts that together pass it", |r| (r.output_len, r.input_len) = (TEXT_MAX as u64 - 1, 2)),
        ("arguments that are not UTF-8", |r| r.text[0] = 0xff),
        ("an output name too long for a job", |r| r.output_len = crate::state::DIR_MAX as u64 + 1),
    ];
    for (what, spoil) in bad {
        let mut req = start_request("30", me, SIGF_CTRL_F);
        spoil(&mut req);
        ensure_eq!(ask_at(JOBS_PORT_NAME, &mut req), ERR_BAD_REQUEST, "{what}");
    }
    ensure_eq!(exec::ktest_util::task_count(), tasks_before, "a refused START started a task");
    let mut req = Request::new(RESULT, core::ptr::null_mut());
    req.number = me;
    ensure_eq!(ask_at(JOBS_PORT_NAME, &mut req), ERR_BAD_REQUEST, "RESULT of a task that is no job");
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let mut req = start_request("30", me, SIGF_CTRL_F);
    ensure_eq!(ask_at(JOBS_PORT_NAME, &mut req), ANSWERED);
    let number = req.number;
    ensure_eq!(crate::jobs::command_of(number), Some("WAIT"));
    let mut again = start_request("30", me, SIGF_CTRL_F);
    ensure_eq!(ask_at(JOBS_PORT_NAME, &mut again), ERR_RUNNING, "a second foreground job of the same asker");
    let mut res = Request::new(RESULT, core::ptr::null_mut());
    res.number = number;
    ensure_eq!(ask_at(JOBS_PORT_NAME, &mut res), ERR_RUNNING);
    for mask in [0, u64::from(exec::signal::SIGF_CTRL_C) | 1 << 16, 1 << 40] {
        let mut brk = Request::new(BREAK_JOB, core::ptr::null_mut());
        (brk.number, brk.mask) = (number, mask);
        ensure_eq!(ask_at(JOBS_PORT_NAME, &mut brk), ERR_BAD_REQUEST, "BREAK_JOB with mask {mask:#x}");
    }
    ensure!(exec::task::task_alive(number), "a refused BREAK_JOB broke the job");
    crate::job_service::ask_break(number, exec::signal::SIGF_CTRL_C);
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure!(!exec::task::task_alive(number), "signalled before the job's task ended");
    let (rc, _, finished) = crate::job_service::ask_result(number).map_err(|e| alloc::format!("RESULT answered {e}"))?;
    ensure!(finished, "WAIT did not say it finished");
    ensure_eq!(rc, crate::shell::RC_WARN, "a broken WAIT");
    ensure_eq!(crate::job_service::ask_result(number), Err(ERR_BAD_REQUEST), "a result collected twice");
    Ok(())
}

/// What the ring-3 tasks of [`jobs_service_answers_only_the_shell`] were answered.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct JobAnswers {
    parent: u64,
    /// The job RESULT asks for: one a ring-0 asker started (its end already signalled).
    result_of: u64,
    /// START, RESULT, BREAK_JOB.
    got: [u64; 3],
    /// The job a START that was answered started.
    number: u64,
    /// What the job's end signalled this task with.
    signals: u64,
}

/// Ring 3: asks the jobs service to start WAIT (its end to be signalled to the parent, a task
/// of its choosing), for a result and a break; then, if a job started, waits for the end.
extern "C" fn job_asker(block: u64) -> ! {
    let a = block as *mut JobAnswers;
    // SAFETY: our own block; every exec call goes through the gate.
    unsafe {
        let parent = (*a).parent;
        let mut req = start_request("1 TICKS", parent, exec::signal::SIGF_CTRL_E);
        (*a).got[0] = ask_at(JOBS_PORT_NAME, &mut req);
        (*a).number = if (*a).got[0] == ANSWERED { req.number } else { 0 };
        let mut res = Request::new(RESULT, core::ptr::null_mut());
        res.number = (*a).result_of;
        (*a).got[1] = ask_at(JOBS_PORT_NAME, &mut res);
        let mut brk = Request::new(BREAK_JOB, core::ptr::null_mut());
        (brk.number, brk.mask) = (parent, u64::from(exec::signal::SIGF_CTRL_C));
        (*a).got[2] = ask_at(JOBS_PORT_NAME, &mut brk);
        if (*a).number != 0 {
            while exec::sys::task_alive((*a).number) {
                (*a).signals |= u64::from(exec::sys::wait(exec::signal::SIGF_CTRL_E));
            }
            // A job that ended before the first wait left its signal pending.
            (*a).signals |= u64::from(exec::sys::set_signal(0, exec::signal::SIGF_CTRL_E) & exec::signal::SIGF_CTRL_E);
        }
        exec::sys::signal(exec::sys::task_by_number(parent), SIGF_CTRL_F);
        exec::sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-3 task that is not the shell is refused START, RESULT and BREAK_JOB; the shell's
/// task (the asker made the shell for the test) is answered, and the end of the job it
/// started signals the asker itself, not the task its request named. Its RESULT of a job a
/// ring-0 asker started (and has not collected) is refused as no job of its own, and leaves the
/// record for the ring-0 asker.
fn jobs_service_answers_only_the_shell() -> TestResult {
    use core::sync::atomic::Ordering;
    services_up()?;
    let me = crate::my_task_number();
    exec::signal::set_signal(0, exec::signal::SIGF_CTRL_D);
    let mut ours = start_request("1 TICKS", me, exec::signal::SIGF_CTRL_D);
    ensure_eq!(ask_at(JOBS_PORT_NAME, &mut ours), ANSWERED, "a ring-0 asker's START");
    let ours = ours.number;
    let mut ticks = 0;
    while exec::signal::set_signal(0, 0) & exec::signal::SIGF_CTRL_D == 0 && ticks < 5 * exec::time::TICK_HZ {
        exec::time::wait_ticks(1);
        ticks += 1;
    }
    ensure!(!exec::task::task_alive(ours), "the ring-0 asker's job did not end in 5 s");
    exec::signal::set_signal(0, exec::signal::SIGF_CTRL_D);
    for as_shell in [false, true] {
        exec::signal::set_signal(0, SIGF_CTRL_F | exec::signal::SIGF_CTRL_E);
        // Under Forbid: the asker is the shell (or not) before it can ask.
        exec::sched::forbid();
        let answers = JobAnswers { parent: me, result_of: ours, ..JobAnswers::default() };
        let started = mmu_mode::user::add_user_task_with("r3-job-asker", 0, job_asker, answers);
        let was = crate::jobs::SHELL_TASK.load(Ordering::SeqCst);
        if let (Some((t, _)), true) = (started, as_shell) {
            // SAFETY: a live task (it cannot have run under our Forbid).
            crate::jobs::SHELL_TASK.store(unsafe { (*t).id() }, Ordering::SeqCst);
        }
        exec::sched::permit();
        let Some((_, block)) = started else {
            return Err("no memory for the task".into());
        };
        // At most 5 s, so that a job that never ends fails the test rather than hanging it.
        let limit = 5 * exec::time::TICK_HZ;
        let mut ticks = 0;
        while exec::signal::set_signal(0, 0) & SIGF_CTRL_F == 0 && ticks < limit {
            exec::time::wait_ticks(1);
            ticks += 1;
        }
        crate::jobs::SHELL_TASK.store(was, Ordering::SeqCst);
        // SAFETY: written before the signal (or as far as the task got); the task's memory is
        // exec memory the kernel reads.
        let a = unsafe { (block as *const JobAnswers).read() };
        let alive = exec::task::task_alive(a.number);
        ensure!(ticks < limit, "the asker did not report in 5 s: answers {:?}, job {} (alive: {alive}), signals {:#x}", a.got, a.number, a.signals);
        exec::signal::set_signal(0, SIGF_CTRL_F);
        if as_shell {
            ensure_eq!(a.got, [ANSWERED, ERR_BAD_REQUEST, ANSWERED], "the shell's START, a RESULT of a ring-0 asker's job, a BREAK_JOB of no job");
            ensure!(a.number != 0, "no job started");
            ensure_eq!(a.signals, u64::from(exec::signal::SIGF_CTRL_E), "the end signalled the asker");
            ensure_eq!(exec::signal::set_signal(0, 0) & exec::signal::SIGF_CTRL_E, 0, "the end signalled the task the request named");
            ensure_eq!(crate::job_service::ask_result(a.number).map(|r| r.2), Ok(true), "the job's result");
        } else {
            ensure_eq!(a.got, [ERR_NOT_ALLOWED; 3], "a ring-3 task that is not the shell");
            ensure_eq!(a.number, 0);
        }
    }
    let (rc, _, finished) = crate::job_service::ask_result(ours).map_err(|e| alloc::format!("the ring-0 asker's RESULT answered {e}"))?;
    ensure!(finished && rc == 0, "the ring-0 asker's WAIT: rc {rc}, finished {finished}");
    Ok(())
}

/// Ring 3, a stand-in for the shell under its watcher: counts its starts in the shared state's
/// `last_rc`, and in `message_task` the starts at which the jobs service took it for the shell
/// (a RESULT of no job refused as a bad request, not as not allowed); lists itself as CLI 1;
/// on the start numbered `last_error` it says goodbye and ends, before that it faults (a write
/// to page 0).
extern "C" fn stand_in(arg: u64) -> ! {
    // SAFETY: the state the watcher gave us, open to us.
    let state = unsafe { crate::jobs::SharedState::new(arg as *mut crate::state::ShellState) };
    let me = crate::my_task_number();
    let taken = crate::job_service::ask_result(me) == Err(ERR_BAD_REQUEST);
    let done = state.with(|s| {
        s.last_rc += 1;
        s.message_task += u64::from(taken);
        s.add_cli(1, me, "stand-in");
        s.last_rc as u32 >= s.last_error
    });
    if done {
        crate::job_service::ask_goodbye();
        // SAFETY: ends the calling task.
        unsafe { exec::sys::rem_task(core::ptr::null_mut()) };
    }
    // SAFETY: a deliberate fault: page 0 is never mapped, and the fault removes only this task.
    unsafe { core::ptr::write_volatile(0x100 as *mut u64, 1) };
    unreachable!()
}

fn start_stand_in(state: crate::jobs::SharedState) -> *mut exec::task::Task {
    let shared = [(state.addr(), crate::jobs::Pages::<crate::state::ShellState>::LEN as u64, mmu_mode::pte::Access::ReadWrite)];
    mmu_mode::user::add_user_task_sharing("stand-in", 0, stand_in, state.addr(), &shared, mmu_mode::user::USER_STACK)
}

/// The watcher starts a shell that ended by a fault again, and stops when it says goodbye:
/// two faults then a goodbye make three starts. One that always faults is started
/// RESTARTS_MAX times more, then left. Each start is the shell the jobs service answers; the
/// ended ones leave no CLI entry.
fn watcher_starts_a_faulting_shell_again() -> TestResult {
    use core::sync::atomic::Ordering;
    use crate::watch::{RESTARTS_MAX, keep_running};
    services_up()?;
    // SAFETY: zero bytes are an empty state; kept for good, as the shell's own is.
    let state = unsafe { crate::jobs::SharedState::new(crate::jobs::Pages::<crate::state::ShellState>::zeroed().ok_or("no memory")?.leak()) };
    let was = crate::jobs::SHELL_TASK.load(Ordering::SeqCst);
    let mut results = alloc::vec::Vec::new();
    for good_at in [3, 100] {
        state.with(|s| (s.last_rc, s.last_error, s.message_task) = (0, good_at, 0));
        exec::signal::set_signal(0, SIGF_CTRL_F);
        let starts = keep_running(state, start_stand_in);
        results.push((starts, state.with(|s| (s.last_rc, s.message_task, s.clis().iter().filter(|c| c.number == 1).count()))));
    }
    crate::jobs::SHELL_TASK.store(was, Ordering::SeqCst);
    ensure_eq!(results[0], (3, (3, 3, 0)), "two faults, then goodbye: (starts, (counted, taken for the shell, CLI 1 entries))");
    let all = RESTARTS_MAX + 1;
    ensure_eq!(results[1], (all, (all as i32, u64::from(all), 0)), "a shell that always faults");
    Ok(())
}
