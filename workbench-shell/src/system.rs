//! The system service: what a command may not do from ring 3, done on request by a ring-0
//! task. REBOOT, SHUTDOWN, BENCH and CRASHTEST are ring-3 commands in the mmu build; each
//! sends a [`Request`] to the public port `system` (a message, like any request to a server)
//! and waits for the answer. The service restarts the machine, ends QEMU, times one of exec's
//! rows in ring 0 (BENCH measures exec's own paths, not the gate's) and answers the figures, or
//! runs a CRASHTEST scenario (it starts and watches the culprits from the kernel) and answers
//! its report.
//! The flat build takes the same path, so both builds run one code.
//!
//! A second ring-0 task serves the public port `jobs` (see `job_service`): the shell asks it
//! to start its commands, to break them and how they ended, so that the shell itself can run
//! in ring 3 (mmu build). Its own port, so that a long BENCH or CRASHTEST never holds up the
//! next command line.
//!
//! A request from ring 3 is a *claim*: the service gets a copy in kernel memory and checks
//! its length and every field before it acts. And not every task may ask: a ring-3 sender
//! must be the task of a job the jobs service started for the command that asks (REBOOT for a
//! reboot, and so on), or for the jobs service's own kinds the shell's task itself (a
//! SETTING's, a job whose command the setting belongs to: `settings.rs`), by the sender's
//! task number that the kernel keeps for the copy. A ring-3 task that sends SHUTDOWN
//! itself is refused ([`ERR_NOT_ALLOWED`]), and the machine goes on. A ring-0 sender is kernel
//! code, trusted as any. (The flat build has no rings: any task may ask.)

use exec::bench::Row;
use exec::port::{Message, MsgPort};
use exec::sys;

/// The service's public port.
pub const PORT_NAME: &str = "system";

/// What a request asks.
pub const REBOOT: u64 = 1;
pub const SHUTDOWN: u64 = 2;
pub const BENCH: u64 = 3;
pub const CRASHTEST: u64 = 4;
/// The jobs service's (port [`JOBS_PORT_NAME`]): start a command, how a foreground one ended,
/// break one.
pub const START: u64 = 5;
pub const RESULT: u64 = 6;
pub const BREAK_JOB: u64 = 7;
/// The shell ends at the user's word: its watcher starts no new one.
pub const GOODBYE: u64 = 8;
/// A command's change to the shell's state (`settings.rs`), which commands map read-only.
pub const SETTING: u64 = 9;

/// The jobs service's public port.
pub const JOBS_PORT_NAME: &str = "jobs";

/// Bytes of report text an answer carries.
pub const TEXT_MAX: usize = 1024;

/// Answers in [`Request::error`].
pub const ANSWERED: u64 = 0;
/// A field out of range, an unknown kind, or a message too short to be a request.
pub const ERR_BAD_REQUEST: u64 = 1;
/// The sender may not ask this.
pub const ERR_NOT_ALLOWED: u64 = 2;
/// No memory for BENCH's message.
pub const ERR_NO_MEMORY: u64 = 3;
/// BENCH's exchanges came back wrong (another message, or its contents altered).
pub const ERR_WRONG_RESULT: u64 = 4;
/// START of a background job: the CLI table is full, or not enough memory is left for
/// another (RUN keeps a reserve).
pub const ERR_NO_ROOM: u64 = 5;
/// RESULT of a job whose task still runs; START of a foreground job while the asker's last
/// one runs.
pub const ERR_RUNNING: u64 = 6;
/// A SETTING refused for its values (a text too long, no room, no such alias): the answer's
/// text says why.
pub const ERR_REFUSED: u64 = 7;
/// Not answered (what a request holds until the service writes its answer).
pub const UNANSWERED: u64 = u64::MAX;

/// A request and, once answered, its answer.
#[repr(C)]
pub struct Request {
    pub msg: Message,
    pub kind: u64,
    /// BENCH: the row (its place in `Row::ALL`), the message size, the samples, and whether
    /// the server reads the body.
    pub row: u64,
    pub size: u64,
    pub count: u64,
    pub read: u64,
    /// BENCH's answer: median and p99 less what timing costs, and that cost.
    pub median: u64,
    pub p99: u64,
    pub overhead: u64,
    pub error: u64,
    /// CRASHTEST: the scenario (its place in `Scenario::ALL`); the answer: whether it was
    /// contained (1) and the report, `text_len` bytes of `text`.
    pub scenario: u64,
    pub contained: u64,
    pub text_len: u64,
    pub text: [u8; TEXT_MAX],
    /// START: the command (its place in `COMMANDS`), its CLI number, [`FOREGROUND`] and
    /// [`APPEND`], the signal mask the shell gets when a foreground job's task ends, and the
    /// lengths of the argument line, the output and the input file names, which follow one
    /// another in `text`.
    pub command: u64,
    pub cli: u64,
    pub flags: u64,
    pub mask: u64,
    pub args_len: u64,
    pub output_len: u64,
    pub input_len: u64,
    /// START's answer and RESULT's and BREAK_JOB's question: the job's task number. (A ring-0
    /// START names here the task to signal at the end; a ring-3 one's is its sender.)
    pub number: u64,
    /// RESULT's answer: the command's return code (as i32), its error, and 1 if it finished
    /// rather than being removed.
    pub rc: u64,
    pub dos_error: u64,
    pub finished: u64,
    /// SETTING: which (`state::Setting`'s number); its texts are `args_len` and then
    /// `output_len` bytes of `text`, its switch `flags` (0 or 1), and a ring-0 asker names
    /// its own task in `number`.
    pub setting: u64,
}

/// START flags: a foreground job (the shell waits for it and collects its result); `>>`.
pub const FOREGROUND: u64 = 1;
pub const APPEND: u64 = 2;

impl Request {
    /// A request of `kind` (its BENCH fields zero), answering to `reply`.
    pub fn new(kind: u64, reply: *mut MsgPort) -> Request {
        Request {
            msg: Message::new(reply, size_of::<Request>()),
            kind,
            row: 0,
            size: 0,
            count: 0,
            read: 0,
            median: 0,
            p99: 0,
            overhead: 0,
            error: UNANSWERED,
            scenario: 0,
            contained: 0,
            text_len: 0,
            text: [0; TEXT_MAX],
            command: 0,
            cli: 0,
            flags: 0,
            mask: 0,
            args_len: 0,
            output_len: 0,
            input_len: 0,
            number: 0,
            rc: 0,
            dos_error: 0,
            finished: 0,
            setting: 0,
        }
    }

    /// The report text of the answer (what fits of it, as UTF-8).
    pub fn text(&self) -> &str {
        let n = (self.text_len as usize).min(TEXT_MAX);
        core::str::from_utf8(&self.text[..n]).unwrap_or("")
    }
}

/// Keeps the services' names from every ring-3 task (mmu build; boot does it before the first
/// ring-3 task starts), so that no ring-3 task (a DOS handler gone astray) can make a port the
/// shell or a command would take for a service. Ring 0 only.
#[cfg(feature = "mmu")]
pub fn keep_names() {
    mmu_mode::msg::keep_from_ring3(PORT_NAME);
    mmu_mode::msg::keep_from_ring3(JOBS_PORT_NAME);
}

/// The services' ports, once each has made its own (for [`start`] to see them up).
static PORTS: [core::sync::atomic::AtomicPtr<MsgPort>; 2] = [const { core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()) }; 2];

/// Starts the two services, `system` and `jobs` (the shell's start does, before the shell),
/// at priority 0, and waits (up to a second, for a caller at priority 0) until each has made
/// its port. Result: whether both ports are up. Ring 0 only.
pub fn start() -> bool {
    use core::sync::atomic::Ordering;
    let system = !exec::task::add_task("system", 0, serve, 0, 32 * 1024).is_null();
    if !system || exec::task::add_task("jobs", 0, serve, 1, 32 * 1024).is_null() {
        return false;
    }
    let up = || PORTS.iter().all(|p| !p.load(Ordering::SeqCst).is_null());
    for _ in 0..exec::time::TICK_HZ {
        if up() {
            return true;
        }
        exec::time::wait_ticks(1);
    }
    up()
}

/// The kinds each service's port takes: `system` (0) and `jobs` (1).
fn serves(which: usize, kind: u64) -> bool {
    if which == 0 { matches!(kind, REBOOT | SHUTDOWN | BENCH | CRASHTEST) } else { matches!(kind, START | RESULT | BREAK_JOB | GOODBYE | SETTING) }
}

fn serve(which: usize) {
    let name = if which == 0 { PORT_NAME } else { JOBS_PORT_NAME };
    // A second service of the name (a test starts them again) would be found after the first:
    // it ends at once.
    if !exec::port::find_port(name).is_null() {
        return;
    }
    let port = exec::port::create_port(Some(name), 0);
    if port.is_null() {
        return;
    }
    PORTS[which].store(port, core::sync::atomic::Ordering::SeqCst);
    // SAFETY: our own live port, which lives as long as the service.
    #[cfg(feature = "mmu")]
    unsafe {
        mmu_mode::msg::open_to_ring3(port)
    };
    loop {
        // SAFETY: our own port; a message stays ours until we reply it.
        unsafe {
            sys::wait_port(port);
            let m = sys::get_msg(port);
            if !m.is_null() {
                answer(m, which);
                sys::reply_msg(m);
            }
        }
    }
}

/// Serves one request in place, at service `which`.
///
/// # Safety
/// `m` is a message the service took and has not replied: `length` bytes of it are readable
/// and writable (a ring-3 request is the kernel's copy; a ring-0 one, the sender's).
unsafe fn answer(m: *mut Message, which: usize) {
    // SAFETY: per the contract: the header is there; the rest only once the length says so.
    unsafe {
        if (*m).length < size_of::<Request>() {
            return; // too short to hold an answer: it goes back as it came (UNANSWERED)
        }
        let r = &mut *(m as *mut Request);
        if !serves(which, r.kind) {
            r.error = ERR_BAD_REQUEST;
            return;
        }
        r.error = match (r.kind, allowed(m, r.kind)) {
            (_, false) => ERR_NOT_ALLOWED,
            (REBOOT, true) => exec::arch::x86_64::cpu::reboot(),
            (SHUTDOWN, true) => exec::arch::x86_64::qemu::exit(exec::arch::x86_64::qemu::ExitCode::Success),
            (BENCH, true) => bench(r),
            (CRASHTEST, true) => crashtest(r),
            (START, true) => crate::job_service::start(r, sender(m)),
            (RESULT, true) => crate::job_service::result(r, sender(m)),
            (BREAK_JOB, true) => crate::job_service::break_job(r),
            (GOODBYE, true) => crate::job_service::goodbye(sender(m)),
            (SETTING, true) => crate::settings::change(r, sender(m)),
            _ => ERR_BAD_REQUEST,
        };
    }
}

/// The ring-3 task that sent `m` (its number), `None` for a ring-0 sender (and in the flat
/// build, which has no rings).
#[cfg_attr(not(feature = "mmu"), allow(unused_variables, reason = "the flat build has no rings"))]
fn sender(m: *mut Message) -> Option<u64> {
    #[cfg(feature = "mmu")]
    return mmu_mode::msg::ring3_sender(m);
    #[cfg(not(feature = "mmu"))]
    None
}

/// The command that may ask for `kind` (none for a kind there is not).
#[cfg(feature = "mmu")]
fn command_for(kind: u64) -> Option<&'static str> {
    match kind {
        REBOOT => Some("REBOOT"),
        SHUTDOWN => Some("SHUTDOWN"),
        BENCH => Some("BENCH"),
        CRASHTEST => Some("CRASHTEST"),
        _ => None,
    }
}

/// Whether the sender of `m` may ask for `kind`: ring 0 may; a ring-3 sender only if it is the
/// task of a job the jobs service started for the command that asks, or, for the jobs
/// service's kinds, the shell itself. (A SETTING's asker is checked with what it asks, in
/// `settings::change`.)
#[cfg_attr(not(feature = "mmu"), allow(unused_variables, reason = "the flat build has no rings to check"))]
fn allowed(m: *mut Message, kind: u64) -> bool {
    #[cfg(feature = "mmu")]
    if let Some(sender) = mmu_mode::msg::ring3_sender(m) {
        if kind == SETTING {
            return true;
        }
        if matches!(kind, START | RESULT | BREAK_JOB | GOODBYE) {
            return sender == crate::jobs::SHELL_TASK.load(core::sync::atomic::Ordering::SeqCst);
        }
        return command_for(kind).is_some_and(|c| crate::jobs::command_of(sender) == Some(c));
    }
    true
}

/// BENCH: the row, checked, timed on this (ring-0) task.
fn bench(r: &mut Request) -> u64 {
    let Some(&row) = usize::try_from(r.row).ok().and_then(|i| Row::ALL.get(i)) else { return ERR_BAD_REQUEST };
    if r.size > 1 << 20 || !(1..=100_000).contains(&r.count) || r.read > 1 {
        return ERR_BAD_REQUEST;
    }
    let (median, p99) = match exec::bench::run_row(row, r.size as usize, r.read == 1, r.count as usize) {
        Ok(figures) => figures,
        Err(exec::bench::RowError::NoMemory) => return ERR_NO_MEMORY,
        Err(exec::bench::RowError::Wrong(_)) => return ERR_WRONG_RESULT,
    };
    r.overhead = exec::bench::timing_overhead();
    (r.median, r.p99) = (median.saturating_sub(r.overhead), p99.saturating_sub(r.overhead));
    ANSWERED
}

/// CRASHTEST: the scenario, checked, run and watched from this (ring-0) task; its report
/// into the answer.
fn crashtest(r: &mut Request) -> u64 {
    let Some(&s) = usize::try_from(r.scenario).ok().and_then(|i| crate::crashtest::Scenario::ALL.get(i)) else { return ERR_BAD_REQUEST };
    let mut report = alloc::string::String::new();
    r.contained = u64::from(crate::crashtest::run(&mut report, s));
    let n = report.len().min(TEXT_MAX);
    r.text[..n].copy_from_slice(&report.as_bytes()[..n]);
    r.text_len = n as u64;
    ANSWERED
}

/// Sends `req` to the service and waits for the answer (in `req`). Result: the answer's
/// error, [`UNANSWERED`] if there is no service or no port to wait at. Not callable from an
/// interrupt.
pub fn ask(req: &mut Request) -> u64 {
    ask_at(PORT_NAME, req)
}

/// [`ask`] of the service at public port `name` (the jobs service's, [`JOBS_PORT_NAME`]).
pub fn ask_at(name: &str, req: &mut Request) -> u64 {
    let port = sys::find_port(name);
    let reply = sys::create_msg_port();
    if port.is_null() || reply.is_null() {
        // SAFETY: ours, or null (nothing happens).
        unsafe { sys::delete_msg_port(reply) };
        return UNANSWERED;
    }
    req.msg = Message::new(reply, size_of::<Request>());
    req.error = UNANSWERED;
    // SAFETY: the service's live port (it never ends) and our own reply port; the request
    // lives in the caller's frame until it is back.
    unsafe {
        sys::do_msg(port, &mut req.msg);
        sys::delete_msg_port(reply);
    }
    req.error
}
