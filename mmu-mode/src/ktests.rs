//! mmu-mode's in-kernel tests: ring-3 tasks, the gate, and faults contained.

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::{ensure, ensure_eq};

use crate::gate::{BAD_ALLEGATIONS, ERR_BAD_POINTER, FAULTS_CONTAINED};
use crate::user::{add_user_task, exit, find_self, signal};

/// Every in-kernel test of mmu-mode.
pub static TESTS: &[Test] = &[
    Test::new("mmu.user_task_calls_the_gate", user_task_calls_the_gate),
    Test::new("mmu.gate_keeps_callee_saved_registers", gate_keeps_callee_saved_registers),
    Test::new("mmu.bad_pointer_refused_at_gate", bad_pointer_refused),
    Test::new("mmu.fault.write_kernel_memory", write_kernel_memory),
    Test::new("mmu.fault.null_dereference", null_dereference),
    Test::new("mmu.fault.divide_by_zero", divide_by_zero),
    Test::new("mmu.fault.invalid_opcode", invalid_opcode),
    Test::new("mmu.fault.jump_into_data", jump_into_data),
    Test::new("mmu.fault.write_to_code", write_to_code),
    Test::new("mmu.fault.stack_overflow", stack_overflow),
    Test::new("mmu.gate_fuzz_100000_calls", gate_fuzz),
    Test::new("mmu.msg.copy_round_trip", copy_round_trip),
    Test::new("mmu.msg.transfer_round_trip", transfer_round_trip),
    Test::new("mmu.msg.held_messages_return_on_fault", held_messages_return_on_fault),
    Test::new("mmu.uaccess_window_and_bounds", uaccess_window_and_bounds),
    Test::new("mmu.sched.preempted_in_ring3", preempted_in_ring3),
    Test::new("mmu.fault.semaphore_waiter_gets_it", semaphore_waiter_gets_it),
];

/// Ring 3: finds itself through the gate, then signals its parent (arg) CTRL_F.
extern "C" fn hello(parent: u64) -> ! {
    if find_self() != 0 {
        signal(parent, SIGF_CTRL_F);
    }
    exit()
}

/// The running test's number, as ring 3 names it (for the ring-3 tasks that signal it).
fn me() -> u64 {
    crate::user::ring3_name(exec::task::find_task(None)) as u64
}

fn user_task_calls_the_gate() -> TestResult {
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let t = add_user_task("user-hello", 1, hello, me());
    ensure!(!t.is_null());
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    exec::time::wait_ticks(2);
    ensure!(exec::task::find_task(Some("user-hello")).is_null(), "the task did not end");
    Ok(())
}

/// Ring 3: alleges a bogus task pointer, then reports CTRL_E if it was refused.
extern "C" fn alleges(parent: u64) -> ! {
    if signal(0xdead_beef_0000, SIGF_CTRL_F) == ERR_BAD_POINTER {
        signal(parent, SIGF_CTRL_E);
    }
    signal(parent, SIGF_CTRL_F);
    exit()
}

fn bad_pointer_refused() -> TestResult {
    let before = BAD_ALLEGATIONS.load(Ordering::SeqCst);
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    add_user_task("user-alleges", 1, alleges, me());
    exec::signal::wait(SIGF_CTRL_F);
    ensure!(exec::signal::set_signal(0, SIGF_CTRL_E) & SIGF_CTRL_E != 0, "the bad pointer was not refused");
    ensure_eq!(BAD_ALLEGATIONS.load(Ordering::SeqCst), before + 1);
    Ok(())
}

/// Starts `body` in ring 3 and checks that it faulted, was removed, and that the system (this
/// test task) goes on.
fn contained(name: &str, body: extern "C" fn(u64) -> !, arg: u64, vector: u64) -> TestResult {
    let before = FAULTS_CONTAINED.load(Ordering::SeqCst);
    let alerts = exec::execbase::counters().alert_count;
    let t = add_user_task(name, 1, body, arg);
    ensure!(!t.is_null());
    exec::time::wait_ticks(2);
    ensure_eq!(FAULTS_CONTAINED.load(Ordering::SeqCst), before + 1, "no fault was contained");
    ensure_eq!(crate::gate::LAST_FAULT_VECTOR.load(Ordering::SeqCst), vector, "another exception than expected");
    ensure!(exec::task::find_task(Some(name)).is_null(), "the faulting task is still there");
    ensure_eq!(exec::execbase::counters().alert_count, alerts);
    Ok(())
}

extern "C" fn write_at(addr: u64) -> ! {
    // SAFETY: deliberately wild: the address is not the task's.
    unsafe { (addr as *mut u64).write_volatile(0x6666) };
    exit()
}

fn write_kernel_memory() -> TestResult {
    let victim = alloc::boxed::Box::new(0x1234u64);
    let addr = &*victim as *const u64 as u64;
    contained("user-wild-write", write_at, addr, 14)?;
    ensure_eq!(*victim, 0x1234, "the write got through");
    contained("user-kernel-task", write_at, exec::task::find_task(None) as u64, 14)?;
    Ok(())
}

fn null_dereference() -> TestResult {
    contained("user-null", write_at, 0, 14)
}

extern "C" fn divide(zero: u64) -> ! {
    core::hint::black_box(exec::arch::x86_64::probe::raw_divide(1000, zero));
    exit()
}

fn divide_by_zero() -> TestResult {
    contained("user-divide", divide, 0, 0)
}

extern "C" fn ud(_: u64) -> ! {
    exec::arch::x86_64::cpu::invalid_opcode();
    exit()
}

fn invalid_opcode() -> TestResult {
    contained("user-ud2", ud, 0, 6)
}

extern "C" fn jump(_: u64) -> ! {
    let code = [0xc3u8; 16]; // `ret`s on the stack: data, so not executable
    // SAFETY: deliberately jumps into data.
    let f: extern "C" fn() = unsafe { core::mem::transmute(code.as_ptr()) };
    f();
    exit()
}

fn jump_into_data() -> TestResult {
    if !exec::arch::x86_64::cpu::features().nx {
        return exec::ktest::skip("the CPU has no NX: data is executable, nothing to contain");
    }
    contained("user-jump-data", jump, 0, 14)
}

fn write_to_code() -> TestResult {
    contained("user-write-code", write_at, hello as *const () as u64, 14)
}

extern "C" fn recurse(depth: u64) -> ! {
    let buf = core::hint::black_box([depth as u8; 512]);
    if buf[0] != 7 || depth < u64::MAX {
        recurse(depth + 1)
    }
    exit()
}

fn stack_overflow() -> TestResult {
    contained("user-overflow", recurse, 0, 14)
}

/// Ring 3: gate calls with random numbers (every call, and some past the last) and random
/// values in all five argument registers (xorshift from `seed`), until one of them ends it
/// (exit, a dead-end alert, rem_task) or its parent removes it.
extern "C" fn fuzz(seed: u64) -> ! {
    let mut x = seed | 1;
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let nr = x % (exec::sys_gate::Call::ALL.len() as u64 + 4);
        let (a, b, c, d, e) = (x.rotate_left(11), x.rotate_left(23), x.rotate_left(37), x.rotate_left(47), x.rotate_left(59));
        // SAFETY: this task runs in ring 3.
        core::hint::black_box(unsafe { exec::arch::x86_64::usermode::gate_call5(nr, a, b, c, d, e) });
    }
}

/// The state of task `t` if it is still a task.
fn state_of(t: *mut exec::task::Task) -> Option<exec::task::TaskState> {
    let mut state = None;
    exec::task::for_each_task(|task| {
        if core::ptr::eq(task, t) {
            state = Some(task.state);
        }
    });
    state
}

/// 100,000 gate calls with random numbers and arguments, from a chain of ring-3 tasks (one
/// ends when a call ends it; the next goes on with a new seed). A task that waits is woken
/// with every signal, so waits end too. The kernel raises no alert but those the tasks asked
/// for, every task ends, and exec memory comes back.
fn gate_fuzz() -> TestResult {
    use crate::gate::{ALERTS_REQUESTED, GATE_CALLS};
    let alerts = exec::execbase::counters().alert_count;
    let requested = ALERTS_REQUESTED.load(Ordering::SeqCst);
    let avail = exec::memory::avail_mem(exec::memory::MemFlags::ANY);
    let start = GATE_CALLS.load(Ordering::SeqCst);
    let (mut seed, mut tasks, mut wakes) = (0x9e37_79b9_7f4a_7c15u64, 0u64, 0u64);
    while GATE_CALLS.load(Ordering::SeqCst) - start < 100_000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // Above this task: it runs until it waits or ends, then this loop looks at it.
        let t = add_user_task("user-fuzz", 1, fuzz, seed);
        ensure!(!t.is_null(), "no memory for a fuzzing task after {tasks}");
        tasks += 1;
        let mut woken_here = 0;
        while let Some(state) = state_of(t) {
            if state == exec::task::TaskState::Removed {
                break;
            }
            ensure!(woken_here < 10_000, "fuzzing task {tasks} (seed {seed:#x}) stays blocked");
            // SAFETY: a live task (just seen in the task lists).
            unsafe { exec::signal::signal(t, u32::MAX) };
            woken_here += 1;
            wakes += 1;
        }
    }
    devices::timer_sleep_ms(20);
    let calls = GATE_CALLS.load(Ordering::SeqCst) - start;
    exec::kprintln!("({calls} calls from {tasks} tasks, {wakes} wakes)");
    ensure_eq!(
        exec::execbase::counters().alert_count - alerts,
        ALERTS_REQUESTED.load(Ordering::SeqCst) - requested,
        "the kernel raised an alert of its own"
    );
    ensure_eq!(exec::memory::avail_mem(exec::memory::MemFlags::ANY), avail, "exec memory was lost");
    Ok(())
}

/// Ring 3 server: creates a port, tells its parent (CTRL_F), then answers messages: adds 1 to the word after the header and notes the
/// address it received the message at; a value of u64::MAX ends it.
extern "C" fn msg_server(parent: u64) -> ! {
    let port = crate::user::create_port();
    signal(parent, SIGF_CTRL_F);
    loop {
        let m = crate::user::wait_get(port);
        let body = (m + size_of::<exec::port::Message>() as u64) as *mut u64;
        // SAFETY: the message is open to us while we hold it.
        let v = unsafe { body.read_volatile() };
        let opened = open_in(m + 1024);
        // SAFETY: as above.
        unsafe {
            body.write_volatile(v.wrapping_add(1));
            body.add(1).write_volatile(m);
            body.add(2).write_volatile(opened);
        }
        crate::user::reply_msg(m);
        if v == u64::MAX {
            exit();
        }
    }
}

/// Ring 3: opens timer.device on a request at `at` (inside a message it holds) and closes it
/// again. Result: the gate's answer to the open (0: opened).
fn open_in(at: u64) -> u64 {
    use exec::sys_gate::{Call, raw_call5};
    const NAME: &str = "timer.device";
    let req = at as *mut exec::device::IoRequest;
    // SAFETY: inside the message the caller holds, open to it.
    unsafe { req.write(exec::device::IoRequest::new(core::ptr::null_mut(), size_of::<exec::device::IoRequest>())) };
    let r = raw_call5(Call::OpenDevice, NAME.as_ptr() as u64, NAME.len() as u64, devices::timer::UNIT_MICROHZ as u64, at, 0);
    if r == 0 {
        raw_call5(Call::CloseDevice, at, 0, 0, 0, 0);
    }
    r
}

/// Parameters and results of a client, in its own memory: server port, mode, parent, then
/// what it found.
#[repr(C)]
struct ClientBlock {
    server: u64,
    how: u64,
    parent: u64,
    value_ok: u64,
    seen_at: u64,
    msg: u64,
    kernel_pointer_refused: u64,
    double_reply_refused: u64,
    /// What the server's open of a device request inside the message was answered.
    open_in_message: u64,
}

impl ClientBlock {
    /// A block telling a client to send to `server` by `how`, reporting to the caller.
    fn new(server: u64, how: u64) -> Self {
        ClientBlock { server, how, parent: me(), value_ok: 0, seen_at: 0, msg: 0, kernel_pointer_refused: 0, double_reply_refused: 0, open_in_message: u64::MAX }
    }
}

extern "C" fn msg_client(block: u64) -> ! {
    let b = block as *mut ClientBlock;
    // SAFETY: the block is in our own memory (set up by the test before we started).
    unsafe {
        let reply = crate::user::create_port();
        let msg = crate::user::alloc_mem(8192);
        (msg as *mut exec::port::Message).write(exec::port::Message::new(reply as *mut exec::port::MsgPort, 8192));
        let body = (msg + size_of::<exec::port::Message>() as u64) as *mut u64;
        body.write_volatile(41);
        let r = crate::user::put_msg((*b).server, msg, (*b).how);
        if r == 0 {
            let back = crate::user::wait_get(reply);
            (*b).value_ok = (back == msg && body.read_volatile() == 42) as u64;
            (*b).seen_at = body.add(1).read_volatile();
            (*b).open_in_message = body.add(2).read_volatile();
            (*b).msg = msg;
            (*b).double_reply_refused = (crate::user::reply_msg(back) == ERR_BAD_POINTER) as u64;
        }
        // A kernel address as a message: refused at the gate.
        (*b).kernel_pointer_refused = (crate::user::put_msg((*b).server, (*b).parent, (*b).how) == ERR_BAD_POINTER) as u64;
        body.write_volatile(u64::MAX);
        crate::user::put_msg((*b).server, msg, crate::msg::PUT_COPY);
        crate::user::wait_get(reply);
        signal((*b).parent, SIGF_CTRL_F);
    }
    exit()
}

fn message_round_trip(how: u64) -> Result<ClientBlock, alloc::string::String> {
    exec::signal::set_signal(0, SIGF_CTRL_F);
    let server = add_user_task("user-server", 1, msg_server, me());
    ensure!(!server.is_null());
    exec::signal::wait(SIGF_CTRL_F);
    let handle = crate::msg::share_port_of(server).ok_or("the server made no port")?;
    let (_, block) = crate::user::add_user_task_with("user-client", 1, msg_client, ClientBlock::new(handle, how))
        .ok_or("no memory for the client")?;
    exec::signal::wait(SIGF_CTRL_F);
    // SAFETY: the client signalled after writing its results; it is still live (exiting).
    let result = unsafe { (block as *const ClientBlock).read() };
    exec::time::wait_ticks(2);
    Ok(result)
}

fn copy_round_trip() -> TestResult {
    let r = message_round_trip(crate::msg::PUT_COPY)?;
    ensure_eq!(r.value_ok, 1, "the reply did not bring the server's change back");
    ensure!(r.seen_at != r.msg, "a copied message arrived at the sender's address");
    // A received copy is in a block the receiver holds: a device request there is pinned.
    ensure_eq!(r.open_in_message, 0, "a device request in a received copy");
    ensure_eq!(r.kernel_pointer_refused, 1);
    ensure_eq!(r.double_reply_refused, 1);
    Ok(())
}

fn transfer_round_trip() -> TestResult {
    let r = message_round_trip(crate::msg::PUT_TRANSFER)?;
    ensure_eq!(r.value_ok, 1, "the reply did not bring the server's change back");
    ensure_eq!(r.seen_at, r.msg, "a transferred message must keep its address");
    // Pages lent by transfer go back at the reply: no device request may live there.
    ensure_eq!(r.open_in_message, ERR_BAD_POINTER, "a device request in pages lent by transfer");
    ensure_eq!(r.kernel_pointer_refused, 1);
    ensure_eq!(r.double_reply_refused, 1);
    Ok(())
}

/// Ring 3: takes one message and faults while holding it.
extern "C" fn faulting_server(parent: u64) -> ! {
    let port = crate::user::create_port();
    signal(parent, SIGF_CTRL_F);
    crate::user::wait_get(port);
    core::hint::black_box(exec::arch::x86_64::probe::raw_divide(1, core::hint::black_box(0)));
    exit()
}

/// Ring 3: sends one message and reports (CTRL_E) whether it came back marked with an error.
extern "C" fn waiting_client(block: u64) -> ! {
    let b = block as *mut ClientBlock;
    // SAFETY: the block is in our own memory.
    unsafe {
        let reply = crate::user::create_port();
        let msg = crate::user::alloc_mem(4096);
        (msg as *mut exec::port::Message).write(exec::port::Message::new(reply as *mut exec::port::MsgPort, 4096));
        crate::user::put_msg((*b).server, msg, (*b).how);
        let back = crate::user::wait_get(reply);
        if back == msg && (*(msg as *const exec::port::Message)).error == exec::port::MSG_ERR_RECEIVER_GONE {
            signal((*b).parent, SIGF_CTRL_E);
        }
        signal((*b).parent, SIGF_CTRL_F);
    }
    exit()
}

/// A receiver that faults while holding a message: the message goes back to its sender
/// marked with an error, so the sender does not wait forever.
fn held_messages_return_on_fault() -> TestResult {
    for how in [crate::msg::PUT_COPY, crate::msg::PUT_TRANSFER] {
        exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
        let server = add_user_task("user-faulty-server", 1, faulting_server, me());
        ensure!(!server.is_null());
        exec::signal::wait(SIGF_CTRL_F);
        let handle = crate::msg::share_port_of(server).ok_or("the server made no port")?;
        let before = FAULTS_CONTAINED.load(Ordering::SeqCst);
        crate::user::add_user_task_with("user-waiting-client", 0, waiting_client, ClientBlock::new(handle, how))
            .ok_or("no memory for the client")?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        ensure_eq!(FAULTS_CONTAINED.load(Ordering::SeqCst), before + 1);
        ensure!(exec::signal::set_signal(0, SIGF_CTRL_E) & SIGF_CTRL_E != 0, "mode {how}: the message did not come back marked");
        exec::time::wait_ticks(2);
    }
    Ok(())
}

/// The one door to task memory: its SMAP window is open (RFLAGS.AC) only where SMAP is on and
/// only inside a copy, closed after it; a part outside a range is refused; copies land.
fn uaccess_window_and_bounds() -> TestResult {
    use crate::uaccess::{UserRead, UserWrite};
    use exec::arch::x86_64::usermode::with_user_access;
    use x86_64::registers::rflags::{self, RFlags};
    let ac = || rflags::read().contains(RFlags::ALIGNMENT_CHECK);
    let smap = exec::arch::x86_64::cpu::features().smap;
    ensure!(!ac(), "the window was open before");
    let open = with_user_access(ac);
    ensure_eq!(open, smap, "the window opens where SMAP is on, only there");
    ensure!(!ac(), "the window stayed open");
    let mut a = [1u8; 32];
    let b = [7u8; 32];
    // SAFETY: kernel buffers of 32 bytes, used only through these ranges here.
    let (to, from) = unsafe { (UserWrite::trusted(a.as_mut_ptr() as u64, 32), UserRead::trusted(b.as_ptr() as u64, 32)) };
    to.copy_from(8, from, 0, 16);
    ensure!(!ac(), "a copy left the window open");
    ensure_eq!(to.read::<u64>(8), u64::from_ne_bytes([7; 8]));
    ensure_eq!(to.read::<u8>(24), 1, "a copy ran past its length");
    ensure!(to.part(16, 16).is_some() && to.part(17, 16).is_none() && from.part(u64::MAX, 2).is_none(), "a part outside its range");
    Ok(())
}

// --- preemption ---------------------------------------------------------------------------

/// Ring 3: counts in its own memory, forever, without ever calling exec.
extern "C" fn spinner(block: u64) -> ! {
    let c = block as *mut u64;
    loop {
        // SAFETY: our own memory.
        unsafe { c.write_volatile(c.read_volatile().wrapping_add(1)) };
    }
}

/// A ring-3 task that never calls exec, at this task's priority: only the timer interrupt,
/// taken in ring 3, can give the CPU back, and round robin shares it.
fn preempted_in_ring3() -> TestResult {
    // SAFETY: the running task is live.
    let pri = unsafe { (*exec::task::find_task(None)).pri() };
    let (t, block) = crate::user::add_user_task_with("r3-spinner", pri, spinner, 0u64).ok_or("no memory")?;
    let start = exec::time::ticks();
    let mut seen = 0;
    for _ in 0..3 {
        exec::time::wait_ticks(10);
        // SAFETY: the spinner's counter, in its memory (live: it never ends by itself).
        let now = unsafe { (block as *const u64).read_volatile() };
        ensure!(now > seen, "the ring-3 task did not run between our turns ({now})");
        seen = now;
    }
    ensure!(exec::time::ticks() >= start + 30, "the timer stopped while ring 3 ran");
    // SAFETY: `t` is a live task this test started.
    unsafe { exec::task::rem_task(t) };
    ensure!(exec::task::find_task(Some("r3-spinner")).is_null());
    Ok(())
}

// --- a holder that faults -----------------------------------------------------------------

/// Where the two tasks of the test below keep their parameters and results.
#[repr(C)]
struct SemFault {
    parent: *mut exec::task::Task,
    sem: exec::semaphore::SignalSemaphore,
    obtained: bool,
}

/// Ring 3: makes "r3.sem.faulty" public, obtains it, tells its parent, waits for CTRL_E and
/// divides by zero while holding it.
extern "C" fn faulty_holder(block: u64) -> ! {
    let b = block as *mut SemFault;
    // SAFETY: our own block; the semaphore is in it.
    unsafe {
        let sem = &raw mut (*b).sem;
        (*sem).node.set_name("r3.sem.faulty");
        exec::sys::add_semaphore(sem);
        exec::sys::obtain_semaphore(sem);
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
    }
    core::hint::black_box(exec::arch::x86_64::probe::raw_divide(1, core::hint::black_box(0)));
    exit()
}

/// Ring 3: waits for "r3.sem.faulty", notes that it got it, tells its parent.
extern "C" fn sem_waiter(block: u64) -> ! {
    let b = block as *mut SemFault;
    // SAFETY: our own block; the handle comes from find_semaphore.
    unsafe {
        let sem = exec::sys::find_semaphore("r3.sem.faulty");
        exec::sys::obtain_semaphore(sem);
        (*b).obtained = true;
        exec::sys::release_semaphore(sem);
        exec::sys::signal((*b).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
    }
    exit()
}

/// A task that faults while holding a semaphore: the task waiting for it gets it (exec gives
/// back what an ending task held), and the semaphore record outlives the holder only while
/// in use.
fn semaphore_waiter_gets_it() -> TestResult {
    let faults = FAULTS_CONTAINED.load(Ordering::SeqCst);
    let alerts = exec::execbase::counters().alert_count;
    let new = || SemFault { parent: crate::user::ring3_name(exec::task::find_task(None)), sem: exec::semaphore::SignalSemaphore::new(), obtained: false };
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let (holder, _) = crate::user::add_user_task_with("r3-faulty-holder", 1, faulty_holder, new()).ok_or("no memory")?;
    exec::signal::wait(SIGF_CTRL_F);
    let (waiter, block) = crate::user::add_user_task_with("r3-sem-waiter", 1, sem_waiter, new()).ok_or("no memory")?;
    exec::time::wait_ticks(2);
    // SAFETY: the waiter is live (blocked on the semaphore).
    ensure!(!unsafe { (*(block as *const SemFault)).obtained }, "obtained while held");
    // SAFETY: a live task waiting for CTRL_E.
    unsafe { exec::signal::signal(holder, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the waiter wrote its result and waits for CTRL_E.
    ensure!(unsafe { (*(block as *const SemFault)).obtained });
    // SAFETY: as above.
    unsafe { exec::signal::signal(waiter, SIGF_CTRL_E) };
    exec::time::wait_ticks(2);
    ensure_eq!(FAULTS_CONTAINED.load(Ordering::SeqCst), faults + 1);
    ensure_eq!(exec::execbase::counters().alert_count, alerts);
    ensure!(exec::semaphore::find_semaphore("r3.sem.faulty").is_null(), "the holder's semaphore stayed public");
    Ok(())
}

// --- the registers the SYSCALL entry leaves to the gate's Rust code ------------------------

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Kept {
    parent: u64,
    /// The bits in which RBX, RBP or R12-R15 came back different: from a call that returns
    /// at once (FindSelf), and from one that blocks while other tasks run (Wait).
    quick: u64,
    blocked: u64,
    /// What the Wait returned.
    woken_by: u64,
}

/// Ring 3: the two calls, with known values in the six registers, then reports.
extern "C" fn register_keeper(block: u64) -> ! {
    let k = block as *mut Kept;
    // SAFETY: our own block; ring 3.
    unsafe {
        let (_, quick) = exec::arch::x86_64::usermode::gate_call_keeps_callee_saved(exec::sys_gate::Call::FindSelf as u64, 0);
        (*k).quick = quick;
        signal((*k).parent, SIGF_CTRL_F);
        let (got, blocked) = exec::arch::x86_64::usermode::gate_call_keeps_callee_saved(exec::sys_gate::Call::Wait as u64, SIGF_CTRL_E as u64);
        (*k).blocked = blocked;
        (*k).woken_by = got;
        signal((*k).parent, SIGF_CTRL_F);
        crate::user::wait(SIGF_CTRL_E);
    }
    exit()
}

/// RBX, RBP and R12-R15, which the SYSCALL entry does not save (the C ABI has the gate's Rust
/// code keep them), reach the task unchanged: after a call that returns at once, and after
/// one that blocks while other tasks run.
fn gate_keeps_callee_saved_registers() -> TestResult {
    let me = crate::ktests_attacks::me3() as u64;
    let (t, block) = crate::ktests_attacks::hostile("r3-keeper", 0, register_keeper, Kept { parent: me, ..Kept::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // Let the keeper block in its Wait, and other tasks run meanwhile.
    devices::timer_sleep_ms(20);
    // SAFETY: a live task, blocked in its Wait.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the keeper wrote its findings before signalling, and waits.
    let k = unsafe { (block as *const Kept).read() };
    // SAFETY: as above.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(crate::ktests_attacks::gone("r3-keeper", 500), "the keeper did not end");
    ensure_eq!(k.quick, 0, "registers changed by a call that returned at once");
    ensure_eq!(k.blocked, 0, "registers changed by a call that blocked");
    ensure_eq!(k.woken_by & SIGF_CTRL_E as u64, SIGF_CTRL_E as u64, "the Wait did not return its signal");
    Ok(())
}
