//! In-kernel tests of the system service (mmu build): a ring-3 task that is no job of the
//! shell's asks it to shut the machine down, reboot it, time a row and run a CRASHTEST
//! scenario, and is refused each time (the machine goes on); a request too short to answer comes back unanswered; a ring-0
//! caller's request is checked field by field and answered.

use exec::ktest::{Test, TestResult};
use exec::signal::SIGF_CTRL_F;
use exec::{ensure, ensure_eq};

use crate::system::{ANSWERED, BENCH, CRASHTEST, ERR_BAD_REQUEST, ERR_NOT_ALLOWED, REBOOT, Request, SHUTDOWN, UNANSWERED, ask};

pub static TESTS: &[Test] = &[
    Test::new("shell.system_service_checks_who_asks", system_service_checks_who_asks),
    Test::new("shell.who_runs_what_is_the_shells_record", who_runs_what_is_the_shells_record),
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
    let job = Pages::new(Job::new(9, wait, "30", state, None, None).ok_or("no job")?).ok_or("no memory")?;
    let fields = job.ptr();
    // Under Forbid, so that the command does not start before its field is put back.
    exec::sched::forbid();
    let number = spawn(job, exec::task::find_task(None), SIGF_CTRL_F, false);
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

fn system_service_checks_who_asks() -> TestResult {
    if exec::sys::find_port(crate::system::PORT_NAME).is_null() {
        ensure!(crate::system::start(), "the service did not start");
        while exec::sys::find_port(crate::system::PORT_NAME).is_null() {
            exec::time::wait_ticks(1);
        }
    }
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
