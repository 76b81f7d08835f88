//! Command tasks: the job record each one gets, starting it in the right ring, and freeing
//! the records of tasks that have ended.
//!
//! A command learns what to do from its [`Job`], a record in pages of its own that the jobs
//! service (`job_service`, a ring-0 task) keeps until the command's task has ended and the
//! shell has collected how it ended. In the mmu build a command marked `Command::ring3` runs
//! in ring 3 in an address space of its own, where only its job record (read-write) and the
//! shell's shared state ([`ShellState`], read-only: a command asks the service for a change,
//! `settings.rs`) are open to it besides its own stack and memory; the others run in
//! ring 0, as every command does in the flat build. The shell itself (ring 3 in the mmu build)
//! never touches a job's pages: it asks the service to start a command, to break it, and how
//! it ended.

use alloc::collections::BTreeMap;
#[cfg(feature = "mmu")]
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use exec::global::Global;
use exec::sched::{forbid, permit};
use exec::task::Task;

use crate::commands::Command;
use crate::state::{DIR_MAX, FixedStr, ShellState};

/// Longest argument string a command takes (a whole line at most).
pub const ARGS_MAX: usize = crate::lineedit::MAX_LINE;

/// Stack of every ring-0 command task.
const COMMAND_STACK: usize = 32 * 1024;

/// Exec memory a running command takes, a little over what was measured: its stack, task and
/// job record (about 45 KiB), and in the mmu build its address space and the heap of a ring-3
/// task (about 320 KiB).
#[cfg(not(feature = "mmu"))]
const JOB_MEMORY: usize = COMMAND_STACK + 16 * 1024;
#[cfg(feature = "mmu")]
const JOB_MEMORY: usize = exec::user_heap::USER_HEAP_SIZE + 128 * 1024;

/// Kept free by RUN: room for the foreground commands that get you out of a full memory
/// (STATUS, BREAK, AVAIL, WHY) and for the shell itself; in the mmu build above the reserve
/// the kernel keeps from every ring-3 request, or those commands could not start either.
#[cfg(not(feature = "mmu"))]
const RESERVE: usize = 4 * JOB_MEMORY;
#[cfg(feature = "mmu")]
const RESERVE: usize = 4 * JOB_MEMORY + mmu_mode::policy::MEMORY_RESERVE as usize;
/// Kernel heap kept free by RUN (the shell's and ring-0 commands' own allocations; in the mmu
/// build, above the kernel's own reserve).
#[cfg(not(feature = "mmu"))]
const HEAP_RESERVE: u64 = 256 * 1024;
#[cfg(feature = "mmu")]
const HEAP_RESERVE: u64 = 256 * 1024 + mmu_mode::policy::HEAP_RESERVE;

/// Whether RUN may start another job and still leave the reserve.
pub fn room_for_job() -> bool {
    exec::memory::avail_mem(exec::memory::MemFlags::LARGEST) >= JOB_MEMORY + RESERVE && exec::heap::stats().free >= HEAP_RESERVE
}

/// One command to run: what, where, and how it ended. It holds no pointer into the shell's
/// memory: the command (constant) and the shared state's pages.
#[repr(C)]
pub struct Job {
    pub cli: u32,
    pub command: &'static Command,
    args: [u8; ARGS_MAX],
    args_len: usize,
    /// The state the shell shares with its commands, read-only to the command.
    pub state: StateView,
    /// What the command sets as it ends, and the shell reads: integers (any bits the command
    /// writes are a value; `done` is not a bool for that reason: non-zero is done).
    pub rc: AtomicI32,
    pub error: AtomicU32,
    done: AtomicU32,
    /// Where the command's output goes (`>` or `>>`): a file name, empty for the console.
    output: FixedStr<DIR_MAX>,
    /// `>>`: appended to the file rather than replacing it.
    append: bool,
    /// Where the command's input comes from (`<`): a file name, empty for the console.
    input: FixedStr<DIR_MAX>,
}

// A job's pages are dropped after a ring-3 command may have written any bits into them: its
// drop must read nothing.
const _: () = assert!(!core::mem::needs_drop::<Job>());

impl Job {
    /// A job for `command` with `args` (at most [`ARGS_MAX`] bytes, else `None`).
    /// `output` is where `>` (or, appending, `>>`) sends the output, `input` where `<` takes
    /// the input from; `None` (also returned) when the arguments or a file name are too long.
    pub fn new(cli: u32, command: &'static Command, args: &str, state: StateView, output: Option<(&str, bool)>, input: Option<&str>) -> Option<Job> {
        if args.len() > ARGS_MAX {
            return None;
        }
        let mut out = FixedStr::empty();
        if !out.set(output.map_or("", |o| o.0)) {
            return None;
        }
        let mut inp = FixedStr::empty();
        if !inp.set(input.unwrap_or("")) {
            return None;
        }
        let mut buf = [0u8; ARGS_MAX];
        buf[..args.len()].copy_from_slice(args.as_bytes());
        Some(Job {
            cli,
            command,
            args: buf,
            args_len: args.len(),
            state,
            rc: AtomicI32::new(0),
            error: AtomicU32::new(0),
            done: AtomicU32::new(0),
            output: out,
            append: output.is_some_and(|o| o.1),
            input: inp,
        })
    }

    /// Where `>` sends the output, and whether `>>` appends; `None` for the console.
    pub fn output(&self) -> Option<(&str, bool)> {
        Some((self.output.as_str(), self.append)).filter(|o| !o.0.is_empty())
    }

    /// Where `<` takes the input from; `None` for the console.
    pub fn input(&self) -> Option<&str> {
        Some(self.input.as_str()).filter(|i| !i.is_empty())
    }

    /// Whether the command runs in ring 3 (the mmu build, a command marked so).
    pub fn in_ring3(&self) -> bool {
        cfg!(feature = "mmu") && self.command.ring3
    }

    /// The command's arguments.
    pub fn args(&self) -> &str {
        core::str::from_utf8(&self.args[..self.args_len.min(ARGS_MAX)]).unwrap_or("")
    }
}

const PAGE: usize = 4096;

/// A `T` in whole pages of exec memory of its own (so that they can be opened to a ring-3
/// task without exposing anything else). Freed when dropped.
pub struct Pages<T> {
    mem: *mut u8,
    size: usize,
    at: *mut T,
}

impl<T> Pages<T> {
    /// Bytes the value takes, in whole pages.
    pub const LEN: usize = size_of::<T>().div_ceil(PAGE) * PAGE;

    /// `value` in pages of its own; `None` without memory.
    pub fn new(value: T) -> Option<Pages<T>> {
        let size = Self::LEN + PAGE;
        let mem = exec::memory::alloc_mem(size, exec::memory::MemFlags::PUBLIC | exec::memory::MemFlags::CLEAR);
        if mem.is_null() {
            return None;
        }
        let at = (mem as usize).next_multiple_of(PAGE) as *mut T;
        // SAFETY: page-aligned inside the fresh block, which has LEN bytes from there.
        unsafe { at.write(value) };
        Some(Pages { mem, size, at })
    }

    /// A `T` of zero bytes in pages of its own, made in place (the shell's state is too large
    /// to pass through a stack); `None` without memory.
    ///
    /// # Safety
    /// Zero bytes are a valid `T`.
    pub unsafe fn zeroed() -> Option<Pages<T>> {
        let size = Self::LEN + PAGE;
        let mem = exec::memory::alloc_mem(size, exec::memory::MemFlags::PUBLIC | exec::memory::MemFlags::CLEAR);
        if mem.is_null() {
            return None;
        }
        let at = (mem as usize).next_multiple_of(PAGE) as *mut T;
        Some(Pages { mem, size, at })
    }

    pub fn ptr(&self) -> *mut T {
        self.at
    }

    /// Keeps the pages for good (the shell's shared state, which commands may map as long
    /// as they run).
    pub fn leak(self) -> *mut T {
        let at = self.at;
        core::mem::forget(self);
        at
    }
}

impl<T> Drop for Pages<T> {
    fn drop(&mut self) {
        // SAFETY: our block from alloc_mem with this size; nothing uses the value any more
        // (a job's task has ended: see `reap_jobs` and `collect`). A Job has no drop glue
        // (asserted below its definition): nothing of a field a command rewrote is followed.
        unsafe {
            core::ptr::drop_in_place(self.at);
            exec::memory::free_mem(self.mem, self.size);
        }
    }
}

// SAFETY: a job's pages are exec memory owned by whoever holds the Pages; the Job in them is
// shared with its command's task by design, which reads its fixed fields and writes only its
// atomics.
unsafe impl Send for Pages<Job> {}

/// The service's own record of a started command, in its own (ring-0) memory: who runs what
/// is read from here, never from the job's pages, which a ring-3 command may rewrite at will.
struct Started {
    /// The task's number (not given again until its slot has been reused 2^31 times).
    number: u64,
    /// The command it runs, as the service started it.
    command: &'static str,
    /// A foreground job's record stays after its task has ended, until the shell collects
    /// how it ended ([`collect`]) or its owner starts the next one; a background job's goes
    /// with its task.
    foreground: bool,
    /// The number of the task that waits for a foreground job (the shell), else 0.
    owner: u64,
    /// The shell's state the job was started with: what its settings change.
    state: SharedState,
    job: Pages<Job>,
}

/// Every started command by its task's number, kept until its task has ended (and, for a
/// foreground one, until the shell has collected its result or started the next): a job is
/// found in O(log n) (SETTING, RESULT, BREAK_JOB, from any asker). The service lets each owner
/// (a live task) run one foreground job at a time and refuses background ones past the CLI
/// table, so the walks below (START's, and the shell's own lists) are bounded whatever the
/// shell asks. Forbid ([`with_jobs`]); ring-0 memory (the jobs service's).
static JOBS: Global<BTreeMap<u64, Started>> = Global::new(BTreeMap::new());

impl Started {
    /// Takes the job's task off the CLI list of the state it was started with.
    fn unlist(&self) {
        self.state.with(|st| st.remove_cli(self.number));
    }
}

/// Runs `f` on the records of started commands, under Forbid.
fn with_jobs<R>(f: impl FnOnce(&mut BTreeMap<u64, Started>) -> R) -> R {
    forbid();
    // SAFETY: Forbid held; `f` gets the only reference meanwhile.
    let r = f(unsafe { &mut *JOBS.get() });
    permit();
    r
}

/// The shell's shared state: pages made once, before the shell first starts, and kept for
/// good. Written once (by [`shared_state`]); ring-0 memory (the shell in ring 3 gets the
/// address as its argument).
static STATE: core::sync::atomic::AtomicPtr<ShellState> = core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The shell's shared state, made on first use (colour on, the default prompt). Ring 0 only.
/// Result: `None` without memory.
pub fn shared_state() -> Option<SharedState> {
    forbid();
    if STATE.load(Ordering::SeqCst).is_null() {
        // SAFETY: zero bytes are a valid ShellState (empty texts, free CLI slots).
        if let Some(pages) = unsafe { Pages::<ShellState>::zeroed() } {
            // SAFETY: fresh pages, ours alone until published below.
            unsafe {
                (*pages.ptr()).set_color(true);
                let _ = (*pages.ptr()).prompt.set(crate::cli::DEFAULT_PROMPT);
            }
            STATE.store(pages.leak(), Ordering::SeqCst);
        }
    }
    let at = STATE.load(Ordering::SeqCst);
    permit();
    // SAFETY: made above and kept for good.
    (!at.is_null()).then(|| unsafe { SharedState::new(at) })
}

/// The number of the shell's task (CLI 1), the one task in ring 3 that may ask the jobs
/// service; 0 before it starts. Written under Forbid by `shell::start` (flat build) or the
/// shell's watcher (mmu build); ring-0 memory.
pub static SHELL_TASK: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The shell's shared state as the shell and ring 0 reach it: pages ring 0 made before the
/// shell started and keeps for good ([`Pages::leak`]), mapped into the ring-3 shell
/// read-write and into each ring-3 command read-only (as a [`StateView`]).
#[derive(Clone, Copy)]
pub struct SharedState(*mut ShellState);

// SAFETY: the state lives for good (`SharedState::new`'s contract) and every access to it
// holds Forbid, whichever task makes it: the jobs service keeps it in its records.
unsafe impl Send for SharedState {}

impl SharedState {
    /// # Safety
    /// `at` is the shell's shared state, which lives for good.
    pub unsafe fn new(at: *mut ShellState) -> SharedState {
        SharedState(at)
    }

    /// Where the state's pages begin (to open them to a ring-3 command).
    pub fn addr(self) -> u64 {
        self.0 as u64
    }

    /// Runs `f` on the state, under Forbid (taken through exec's table, so from either ring).
    /// The shell's and ring 0's: a command's mapping is read-only ([`StateView`]).
    pub fn with<R>(self, f: impl FnOnce(&mut ShellState) -> R) -> R {
        exec::sys::forbid();
        // SAFETY: the state lives for good (`new`'s contract); under Forbid no other task
        // touches it meanwhile, and `f` gets the only reference.
        let r = f(unsafe { &mut *self.0 });
        exec::sys::permit();
        r
    }

    /// The same state as its commands see it: read-only.
    pub fn view(self) -> StateView {
        StateView(self.0)
    }
}

/// The shell's shared state as a command sees it: mapped read-only into a ring-3 command, so
/// that no command can spoil what the shell and the other commands read. A change is a
/// request to the jobs service (`settings::ask_change`).
#[derive(Clone, Copy)]
pub struct StateView(*const ShellState);

impl StateView {
    /// Runs `f` on the state, under Forbid (so that a change the service or the shell makes
    /// meanwhile is seen whole). From either ring.
    pub fn read<R>(self, f: impl FnOnce(&ShellState) -> R) -> R {
        exec::sys::forbid();
        // SAFETY: made from a SharedState (whose state lives for good); its writers (the
        // shell, the jobs service) write under Forbid, so nothing changes it meanwhile.
        let r = f(unsafe { &*self.0 });
        exec::sys::permit();
        r
    }

    /// Where the state's pages begin.
    pub fn addr(self) -> u64 {
        self.0 as u64
    }
}

/// Runs the job's command and reports: results, then `done`. (The shell hears of the end from
/// exec, which signals it when the task has gone however it went; the CLI entry goes once the
/// task has: `reap_jobs`, `collect`, `forget_ended_clis`.)
fn run_job(job: &Job) {
    let (rc, error) = crate::commands::run(job);
    job.rc.store(rc, Ordering::SeqCst);
    job.error.store(error, Ordering::SeqCst);
    job.done.store(1, Ordering::SeqCst);
}

fn command_entry(arg: usize) {
    // SAFETY: the jobs service keeps the job until this task has ended.
    run_job(unsafe { &*(arg as *const Job) });
}

/// A ring-3 command (mmu build).
#[cfg(feature = "mmu")]
extern "C" fn command_entry_ring3(arg: u64) -> ! {
    // SAFETY: the jobs service keeps the job until this task has ended; it is open to us.
    run_job(unsafe { &*(arg as *const Job) });
    // SAFETY: ends the calling task.
    unsafe { exec::sys::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// Starts `job`'s command as a task named after it and lists it as CLI `job.cli`; `notify`
/// gets `notify_mask` when the task ends, however it ends. A `foreground` job's record stays
/// until [`collect`] takes it. Result: the task's number (read before it can run: a short
/// command may have ended by the time this returns), or 0 without memory (the job is
/// dropped). Ring 0 (the jobs service, and tests).
pub fn spawn(job: Pages<Job>, state: SharedState, notify: *mut Task, notify_mask: u32, foreground: bool) -> u64 {
    #[cfg(feature = "mmu")]
    return spawn_as(job, state, notify, notify_mask, foreground, command_entry_ring3);
    #[cfg(not(feature = "mmu"))]
    spawn_as(job, state, notify, notify_mask, foreground)
}

/// What a ring-3 job's task is opened: its job record read-write, the shell's state (`state`,
/// whose pages begin there) read-only.
#[cfg(feature = "mmu")]
fn job_shares(job: *mut Job, state: u64) -> [(u64, u64, mmu_mode::pte::Access); 2] {
    use mmu_mode::pte::Access;
    [(job as u64, Pages::<Job>::LEN as u64, Access::ReadWrite), (state, Pages::<ShellState>::LEN as u64, Access::Read)]
}

/// [`spawn`], a ring-3 job's task starting at `entry` (the command's own in all but tests).
/// `state` is the shell's state the job's `state` views.
#[allow(clippy::not_unsafe_ptr_arg_deref, reason = "`notify` is only recorded: exec signals it only while it is a live task")]
pub(crate) fn spawn_as(
    job: Pages<Job>,
    state: SharedState,
    notify: *mut Task,
    notify_mask: u32,
    foreground: bool,
    #[cfg(feature = "mmu")] entry: extern "C" fn(u64) -> !,
) -> u64 {
    // SAFETY: the pages hold a job made by Job::new.
    let (command, cli) = unsafe { ((*job.ptr()).command, (*job.ptr()).cli) };
    forbid(); // list the task before it can run (and end)
    // SAFETY: a live task or null (the caller's); Forbid held.
    let owner = if foreground && !notify.is_null() { unsafe { (*notify).id() } } else { 0 };
    if foreground {
        // The shell runs one foreground job at a time: an earlier one of the same owner that
        // it never collected (it ended meanwhile) is dropped here, so that such records
        // cannot pile up.
        drop_ended(|s| s.foreground && s.owner == owner);
    }
    #[cfg(feature = "mmu")]
    // SAFETY: as above.
    let ring3 = unsafe { (*job.ptr()).in_ring3() };
    #[cfg(feature = "mmu")]
    let t = if ring3 {
        mmu_mode::user::add_user_task_sharing(command.name, 0, entry, job.ptr() as u64, &job_shares(job.ptr(), state.addr()), mmu_mode::user::USER_STACK)
    } else {
        exec::task::add_task(command.name, 0, command_entry, job.ptr() as usize, COMMAND_STACK)
    };
    #[cfg(not(feature = "mmu"))]
    let t = exec::task::add_task(command.name, 0, command_entry, job.ptr() as usize, COMMAND_STACK);
    let mut number = 0;
    if !t.is_null() {
        // SAFETY: a live task: it cannot have run (and ended) under our Forbid.
        unsafe { exec::task::notify_on_end(t, notify, notify_mask) };
        #[cfg(feature = "mmu")]
        if ring3 && crate::commands::reaches_jobs(command) {
            // SAFETY: as above; the grant is made before the task runs.
            unsafe { mmu_mode::policy::grant(t, &cli_task_numbers()) };
        }
        // SAFETY: a live task (as above).
        number = unsafe { (*t).id() };
        state.with(|s| s.add_cli(cli, number, command.name));
        let old = with_jobs(|jobs| jobs.insert(number, Started { number, command: command.name, foreground, owner, state, job }));
        // A number comes back only after 2^31 reuses of its slot (`exec::handles`), long after
        // any record of it: were one still here, its CLI entry would go with it.
        if let Some(old) = old {
            old.unlist();
        }
    }
    permit();
    number
}

/// The numbers of the tasks in the shell's CLI table, as the service knows them in its own
/// memory: the shell and every job's task (what BREAK and CHANGETASKPRI may reach from ring
/// 3). Forbid held.
#[cfg(feature = "mmu")]
fn cli_task_numbers() -> Vec<u64> {
    let mut ids: Vec<u64> = with_jobs(|jobs| jobs.keys().copied().filter(|&n| exec::task::task_alive(n)).collect());
    ids.push(SHELL_TASK.load(Ordering::SeqCst));
    ids
}

/// The command a job runs, by its task's number (the task is live and is that job's: a
/// live task's number names no other); `None` for a task that is not a live job's. From the service's
/// own record: nothing the command could have written in its job's pages.
pub fn command_of(id: u64) -> Option<&'static str> {
    job_of(id).map(|j| j.command)
}

/// A live job, as the service started it: its command, whether it runs in the foreground,
/// and the shell's state it was started with.
#[derive(Clone, Copy)]
pub struct LiveJob {
    pub command: &'static str,
    pub foreground: bool,
    pub state: SharedState,
}

/// The live job whose task is numbered `id`: who asks a setting, and what it changes. From
/// the service's own record.
pub fn job_of(id: u64) -> Option<LiveJob> {
    with_jobs(|jobs| {
        let s = jobs.get(&id)?;
        exec::task::task_alive(id).then_some(LiveJob { command: s.command, foreground: s.foreground, state: s.state })
    })
}

/// How a foreground job ended, once its task has: (rc, error, whether the command finished
/// rather than being removed for a fault). Its record is freed. `owner`: the task that must
/// have started the job (a ring-3 asker), or `None` (ring 0 may collect any). Result:
/// `Err(true)` while the task still runs, `Err(false)` for a number that is no foreground job's
/// (or was collected, or is another owner's).
pub fn collect(id: u64, owner: Option<u64>) -> Result<(i32, u32, bool), bool> {
    let mine = |s: &&Started| s.foreground && owner.is_none_or(|o| s.owner == o);
    with_jobs(|jobs| match jobs.get(&id).filter(mine) {
        None => Err(false),
        Some(_) if exec::task::task_alive(id) => Err(true),
        Some(_) => {
            let Some(s) = jobs.remove(&id) else { return Err(false) };
            s.unlist();
            let p = s.job.ptr();
            // SAFETY: the task has ended: nothing else uses the job's pages. Only the three
            // integer fields are read, in place (no reference to the whole Job, whose other
            // fields a ring-3 command may have filled with bits no `bool` or reference holds).
            let (rc, error, done) = unsafe {
                (
                    (*core::ptr::addr_of!((*p).rc)).load(Ordering::SeqCst),
                    (*core::ptr::addr_of!((*p).error)).load(Ordering::SeqCst),
                    (*core::ptr::addr_of!((*p).done)).load(Ordering::SeqCst),
                )
            };
            Ok((rc, error, done != 0))
        }
    })
}

/// Whether `owner` has a foreground job whose task still runs.
pub fn foreground_running(owner: u64) -> bool {
    with_jobs(|jobs| jobs.values().any(|s| s.foreground && s.owner == owner && exec::task::task_alive(s.number)))
}

/// Background jobs on the record (their tasks live, once [`reap_jobs`] has run).
pub fn background_jobs() -> usize {
    with_jobs(|jobs| jobs.values().filter(|s| !s.foreground).count())
}

/// Sends `mask` to the live task of job `id`. Result: whether there was one.
pub fn break_job(id: u64, mask: u32) -> bool {
    with_jobs(|jobs| {
        let t = if jobs.contains_key(&id) { exec::task::task_by_number(id) } else { core::ptr::null_mut() };
        if !t.is_null() {
            // SAFETY: a live task, found under Forbid (with_jobs's).
            unsafe { exec::signal::signal(t, mask) };
        }
        !t.is_null()
    })
}

/// The number of the shell that said goodbye (GOODBYE, sent as it ends at the user's word):
/// its watcher starts no new one. Written by the jobs service; ring-0 memory, so that no
/// command can forge or undo it.
pub static SAID_GOODBYE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The foreground jobs of `owner`, a shell that ended without collecting them, become
/// background ones: freed once their tasks end ([`reap_jobs`]).
pub fn orphan(owner: u64) {
    with_jobs(|jobs| {
        for s in jobs.values_mut().filter(|s| s.foreground && s.owner == owner) {
            (s.foreground, s.owner) = (false, 0);
        }
    });
}

/// Frees the records of background jobs whose tasks have ended, and takes them off the CLI
/// list. Ring 0 (the service).
pub fn reap_jobs() {
    drop_ended(|s| !s.foreground);
}

/// Frees the records that `which` picks whose tasks have ended, taking them off the CLI list.
fn drop_ended(which: impl Fn(&Started) -> bool) {
    with_jobs(|jobs| {
        jobs.retain(|_, s| {
            let keep = !which(s) || exec::task::task_alive(s.number);
            if !keep {
                s.unlist();
            }
            keep
        })
    });
}

/// Takes off the CLI list every command whose task has ended (the jobs service does so only
/// when next asked: the shell calls this before it lists or numbers its CLIs). From either
/// ring.
pub fn forget_ended_clis(state: SharedState) {
    state.with(|s| {
        for c in s.clis() {
            if c.number != 1 && !exec::sys::task_alive(c.task) {
                s.remove_cli(c.task);
            }
        }
    });
}
