//! CRASHTEST: misbehaving tasks, to show what protection buys. In mmu-mode the culprit runs
//! in ring 3 and is removed at its first fault while the victim and the shell go on; in the
//! flat build the same code runs in ring 0 and does what it does (it may corrupt memory or
//! halt the machine: that is the tradeoff being shown). The culprits are started and watched
//! by the system service (`system.rs`), in ring 0, on the CRASHTEST command's request.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use exec::signal::SIGF_CTRL_C;
use exec::task::{Task, find_task};


pub use crate::scenarios::Scenario;

#[derive(Clone, Copy)]
enum Target {
    VictimMemory,
    KernelMemory,
    Null,
    Code,
    /// The shell's task.
    Shell,
    Nothing,
}

/// What the culprit of `s` runs, and at what.
fn plan(s: Scenario) -> (extern "C" fn(u64) -> !, Target) {
    match s {
        Scenario::WildWrite => (write_at, Target::VictimMemory),
        Scenario::KernelWrite => (write_at, Target::KernelMemory),
        Scenario::NullDeref => (write_at, Target::Null),
        Scenario::JumpIntoData => (jump_into_data, Target::Nothing),
        Scenario::WriteCode => (write_at, Target::Code),
        Scenario::StackOverflow => (recurse, Target::Nothing),
        Scenario::DivideByZero => (divide, Target::Nothing),
        Scenario::DoubleReply => (double_reply, Target::Nothing),
        Scenario::KernelPointerPut => (kernel_pointer_put, Target::KernelMemory),
        Scenario::PortAfterDelete => (port_after_delete, Target::Nothing),
        Scenario::ForgedReply => (crate::attacks::forged_reply, Target::KernelMemory),
        Scenario::ScribbledQueue => (crate::attacks::scribbled_queue, Target::KernelMemory),
        Scenario::FreeWhileLent => (crate::attacks::free_while_lent, Target::Nothing),
        Scenario::TaskBomb => (crate::attacks::task_bomb, Target::Nothing),
        Scenario::MemoryBomb => (crate::attacks::memory_bomb, Target::Nothing),
        Scenario::ForbidSpin => (crate::attacks::forbid_spin, Target::Nothing),
        Scenario::PriorityHijack => (crate::attacks::priority_hijack, Target::Shell),
        Scenario::HandlerFault => (faulty_handler, Target::Nothing),
    }
}

/// handler-fault's culprit: a RAM: disk called CRASHRAM whose handler faults at its 24th
/// packet, while clients wait on it.
extern "C" fn faulty_handler(_: u64) -> ! {
    libraries::handlers::ram::serve_faulty(FAULTY_DEVICE, 64 * 1024, 24);
    finish()
}

const FAULTY_DEVICE: &str = "CRASHRAM";
const CLIENTS: usize = 3;

/// What each handler-fault client saw: the error that stopped it (0: none yet). Atomic:
/// written by the clients, read by CRASHTEST.
static CLIENT_ERRORS: [AtomicU64; CLIENTS] = [const { AtomicU64::new(0) }; CLIENTS];

/// A handler-fault client (ring 0 in both builds, started by the system service): writes to
/// CRASHRAM: until a packet fails, and records the error.
fn faulty_client(i: usize) {
    use libraries::dosdefs::{MODE_NEWFILE, OFFSET_BEGINNING};
    let name = alloc::format!("{FAULTY_DEVICE}:c{i}");
    let e = match libraries::dos::open(&name, MODE_NEWFILE) {
        Ok(mut f) => loop {
            if let Err(e) = f.write(&[i as u8; 256]).and_then(|_| f.seek(0, OFFSET_BEGINNING)) {
                let _ = libraries::dos::close(f);
                break e;
            }
        },
        Err(e) => e,
    };
    CLIENT_ERRORS[i].store(e as u64, Ordering::SeqCst);
    libraries::dos::end_process();
}

/// Starts handler-fault's clients once CRASHRAM: is there. Result: how many started.
fn start_clients() -> usize {
    for e in &CLIENT_ERRORS {
        e.store(0, Ordering::SeqCst);
    }
    for _ in 0..50 {
        if !exec::port::find_port(FAULTY_DEVICE).is_null() {
            break;
        }
        exec::time::wait_ticks(1);
    }
    (0..CLIENTS).filter(|&i| !exec::task::add_task("crash-client", 1, faulty_client, i, 16 * 1024).is_null()).count()
}

/// How many handler-fault clients got an error back (none waits for ever).
fn clients_answered() -> usize {
    CLIENT_ERRORS.iter().filter(|e| e.load(Ordering::SeqCst) != 0).count()
}

/// Exec calls as the culprit makes them: through the gate in mmu-mode, directly when flat.
#[cfg(feature = "mmu")]
mod calls {
    pub fn create_port() -> u64 {
        mmu_mode::user::create_port()
    }
    pub fn delete_port(p: u64) {
        mmu_mode::user::delete_port(p);
    }
    pub fn put(port: u64, msg: u64) {
        mmu_mode::user::put_msg(port, msg, mmu_mode::msg::PUT_COPY);
    }
    pub fn get_wait(port: u64) -> u64 {
        mmu_mode::user::wait_get(port)
    }
    pub fn reply(msg: u64) {
        mmu_mode::user::reply_msg(msg);
    }
}

#[cfg(not(feature = "mmu"))]
mod calls {
    use exec::port::{Message, MsgPort};
    pub fn create_port() -> u64 {
        exec::port::create_msg_port() as u64
    }
    pub fn delete_port(p: u64) {
        // SAFETY: the culprit's own port (or, in port-after-delete, deliberately not).
        unsafe { exec::port::delete_msg_port(p as *mut MsgPort) }
    }
    pub fn put(port: u64, msg: u64) {
        // SAFETY: deliberately unchecked: the flat build trusts its tasks.
        unsafe { exec::port::put_msg(port as *mut MsgPort, msg as *mut Message) }
    }
    pub fn get_wait(port: u64) -> u64 {
        // SAFETY: the culprit's own port.
        unsafe {
            exec::port::wait_port(port as *mut MsgPort);
            exec::port::get_msg(port as *mut MsgPort) as u64
        }
    }
    pub fn reply(msg: u64) {
        // SAFETY: deliberately unchecked.
        unsafe { exec::port::reply_msg(msg as *mut Message) }
    }
}

extern "C" fn double_reply(_: u64) -> ! {
    let port = calls::create_port();
    let mut msg = exec::port::Message::new(port as *mut exec::port::MsgPort, size_of::<exec::port::Message>());
    let m = &mut msg as *mut exec::port::Message as u64;
    calls::put(port, m);
    let got = calls::get_wait(port);
    calls::reply(got);
    let back = calls::get_wait(port);
    calls::reply(back); // the second reply
    calls::delete_port(port);
    finish()
}

extern "C" fn kernel_pointer_put(target: u64) -> ! {
    let port = calls::create_port();
    calls::put(port, target);
    finish()
}

extern "C" fn port_after_delete(_: u64) -> ! {
    let port = calls::create_port();
    calls::delete_port(port);
    let mut msg = exec::port::Message::new(core::ptr::null_mut(), size_of::<exec::port::Message>());
    calls::put(port, &mut msg as *mut exec::port::Message as u64);
    finish()
}

/// Kernel data for kernel-write and kernel-pointer-put to aim at: a canary word, then zeros
/// (as an unqueued message reads, so the flat build's put_msg takes it and links it), big enough
/// for the whole message header, so that what the flat build overwrites is always this and
/// never what the linker placed after it. [`canary_words`] is how it reads untouched.
static KERNEL_CANARY: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
const _: () = assert!(size_of::<exec::port::Message>() <= size_of::<[AtomicU64; 16]>());

fn canary_words() -> impl Iterator<Item = (&'static AtomicU64, u64)> {
    KERNEL_CANARY.iter().enumerate().map(|(i, w)| (w, if i == 0 { CANARY } else { 0 }))
}
const CANARY: u64 = 0x00c0_ffee_c0ff_ee00;
const SMASH: u64 = 0x6666_6666_6666_6666;

/// Never called: write-code aims at it.
#[inline(never)]
extern "C" fn code_target(x: u64) -> u64 {
    core::hint::black_box(x.wrapping_mul(31))
}

/// The culprit ends itself.
#[cfg(feature = "mmu")]
pub(crate) fn finish() -> ! {
    mmu_mode::user::exit()
}

/// The culprit ends itself.
#[cfg(not(feature = "mmu"))]
pub(crate) fn finish() -> ! {
    // SAFETY: null removes the caller itself.
    unsafe { exec::task::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

extern "C" fn write_at(addr: u64) -> ! {
    // SAFETY: deliberately wild: that is the scenario.
    unsafe { (addr as *mut u64).write_volatile(SMASH) };
    finish()
}

extern "C" fn jump_into_data(_: u64) -> ! {
    let code = core::hint::black_box([0xc3u8; 16]); // `ret`, as data on the stack
    // SAFETY: deliberately executes data.
    let f: extern "C" fn() = unsafe { core::mem::transmute(code.as_ptr()) };
    f();
    finish()
}

extern "C" fn recurse(depth: u64) -> ! {
    let buf = core::hint::black_box([depth as u8; 256]);
    if buf[0] != 7 || depth < u64::MAX {
        recurse(depth + 1)
    }
    finish()
}

extern "C" fn divide(zero: u64) -> ! {
    core::hint::black_box(exec::arch::x86_64::probe::raw_divide(1, zero));
    finish()
}

#[cfg(feature = "mmu")]
extern "C" fn victim(_: u64) -> ! {
    mmu_mode::user::wait(SIGF_CTRL_C);
    mmu_mode::user::exit()
}

#[cfg(not(feature = "mmu"))]
extern "C" fn victim(_: u64) -> ! {
    exec::signal::wait(SIGF_CTRL_C);
    finish()
}

/// Starts `body(arg)` as a task: in ring 3 with its own space in mmu-mode, in ring 0 flat.
#[cfg(feature = "mmu")]
fn spawn(name: &str, body: extern "C" fn(u64) -> !, arg: u64) -> *mut Task {
    mmu_mode::user::add_user_task(name, 1, body, arg)
}

#[cfg(not(feature = "mmu"))]
fn spawn(name: &str, body: extern "C" fn(u64) -> !, arg: u64) -> *mut Task {
    fn trampoline(p: usize) {
        // SAFETY: `spawn` leaked this pair for the task.
        let (body, arg) = *unsafe { alloc::boxed::Box::from_raw(p as *mut (extern "C" fn(u64) -> !, u64)) };
        body(arg)
    }
    let pair = alloc::boxed::Box::into_raw(alloc::boxed::Box::new((body, arg)));
    exec::task::add_task(name, 1, trampoline, pair as usize, 16 * 1024)
}

/// Misdeeds caught so far: ring-3 faults contained and pointers refused at the gate in
/// mmu-mode; in the flat build only what exec's own checks catch (recoverable alerts, such as
/// a message replied twice), since a CPU fault there halts the machine.
fn caught() -> u64 {
    #[cfg(feature = "mmu")]
    return mmu_mode::gate::FAULTS_CONTAINED.load(Ordering::SeqCst)
        + mmu_mode::gate::BAD_ALLEGATIONS.load(Ordering::SeqCst)
        + mmu_mode::gate::PRIVILEGED_REFUSED.load(Ordering::SeqCst)
        + mmu_mode::policy::QUOTA_REFUSED.load(Ordering::SeqCst);
    #[cfg(not(feature = "mmu"))]
    return exec::execbase::counters().alert_count;
}

/// Where a task's memory begins that it never touches itself: the slot above its first stack
/// frame (its user stack in mmu-mode, its stack in the flat build).
fn victim_word(t: *mut Task) -> *mut u64 {
    // SAFETY: `t` is live (the caller created it and has not ended it).
    unsafe {
        #[cfg(feature = "mmu")]
        return ((*t).user_stack() + 8) as *mut u64;
        #[cfg(not(feature = "mmu"))]
        return ((*t).sp_upper - 8) as *mut u64;
    }
}

fn alive(t: *mut Task, name: &str) -> bool {
    let mut found = false;
    exec::task::for_each_task(|x| found |= core::ptr::eq(x, t) && x.name() == name);
    found
}

/// The line CRASHTEST prints before the scenario runs (the rest may never come: in the flat
/// build some scenarios halt the machine).
pub fn header(s: Scenario) -> alloc::string::String {
    alloc::format!("CRASHTEST {}: {} ({} build)\n", s.name(), s.what(), exec::BUILD_MODE)
}

/// Runs `s` and says what happened, into `con`. Result: whether it was contained.
pub fn run(con: &mut impl Write, s: Scenario) -> bool {
    let (body, target) = plan(s);
    let v = spawn("crash-victim", victim, 0);
    if v.is_null() {
        let _ = writeln!(con, "No memory for the victim task");
        return false;
    }
    let vw = victim_word(v);
    // SAFETY: the victim never touches this word; the kernel may (ring 0 maps everything).
    unsafe { vw.write_volatile(CANARY) };
    for (w, v) in canary_words() {
        w.store(v, Ordering::SeqCst);
    }
    let target = match target {
        Target::VictimMemory => vw as u64,
        Target::KernelMemory => KERNEL_CANARY.as_ptr() as u64,
        Target::Null => 0,
        Target::Code => code_target as *const () as u64,
        // Its number, the name ring 3 knows a task by (in both builds, for like with like).
        Target::Shell => match find_task(Some("Shell")) {
            t if t.is_null() => 0,
            // SAFETY: a live task (just found; the caller runs, so the shell cannot end now).
            t => unsafe { (*t).id() },
        },
        Target::Nothing => 0,
    };
    // The shell by its number, looked up at each use: in the mmu build a shell may end (and a
    // new one start) meanwhile.
    let shell_pri_now = |id: u64| {
        exec::sched::forbid();
        let t = exec::task::task_by_number(id);
        // SAFETY: a live task (just found, Forbid held).
        let pri = unsafe { t.as_ref() }.map(|t| t.pri());
        exec::sched::permit();
        pri
    };
    let shell = find_task(Some("Shell"));
    // SAFETY: a live task (just found; this task runs) or null.
    let shell_id = unsafe { shell.as_ref() }.map_or(0, |t| t.id());
    let shell_pri = shell_pri_now(shell_id);
    let name = alloc::format!("crash-{}", s.name());
    let caught_before = caught();
    let c = spawn(&name, body, target);
    if c.is_null() {
        let _ = writeln!(con, "No memory for the culprit task");
        return false;
    }
    let clients = if s == Scenario::HandlerFault { start_clients() } else { 0 };
    devices::timer_sleep_ms(300);
    let culprit_gone = find_task(Some(&name)).is_null();
    let victim_alive = alive(v, "crash-victim");
    // SAFETY: the victim is alive (checked), so its stack is still there.
    let victim_intact = victim_alive && unsafe { vw.read_volatile() } == CANARY;
    let kernel_intact = canary_words().all(|(w, v)| w.load(Ordering::SeqCst) == v);
    let _ = writeln!(
        con,
        "  culprit: {}",
        if culprit_gone { "gone (removed at its fault, or it ran to its end)" } else { "still running" }
    );
    let _ = writeln!(
        con,
        "  victim: {}",
        match (victim_alive, victim_intact) {
            (true, true) => "alive, its memory intact",
            (true, false) => "alive, its memory OVERWRITTEN",
            _ => "gone",
        }
    );
    if !kernel_intact {
        let _ = writeln!(con, "  kernel memory: OVERWRITTEN");
    }
    let shell_now = shell_pri_now(shell_id);
    let shell_intact = shell_now == shell_pri;
    if let (false, Some(was), Some(now)) = (shell_intact, shell_pri, shell_now) {
        let _ = writeln!(con, "  shell priority: RAISED from {was} to {now} (put back)");
        exec::sched::forbid();
        let t = exec::task::task_by_number(shell_id);
        if !t.is_null() {
            // SAFETY: a live task (just found, Forbid held).
            unsafe { exec::task::set_task_pri(t, was) };
        }
        exec::sched::permit();
    }
    let was_caught = caught() > caught_before || (cfg!(feature = "mmu") && s.defused_in_mmu());
    let _ = writeln!(
        con,
        "  misdeed: {}",
        if was_caught { "caught (the culprit was removed, or its call refused)" } else { "not caught" }
    );
    let mut clients_ok = true;
    if s == Scenario::HandlerFault {
        let answered = clients_answered();
        clients_ok = clients == CLIENTS && answered == CLIENTS;
        let _ = writeln!(con, "  clients: {answered} of {clients} got an error back{}", if clients_ok { ", none waits" } else { "; the others WAIT" });
    }
    let contained = was_caught && victim_intact && kernel_intact && shell_intact && clients_ok;
    if victim_alive {
        // SAFETY: alive (checked); the signal ends its wait.
        unsafe { exec::signal::signal(v, SIGF_CTRL_C) };
    }
    devices::timer_sleep_ms(50);
    let _ = writeln!(con, "  Result: {}", if contained { "contained" } else { "NOT contained" });
    contained
}
