//! In-kernel tests of exec's own calls made from ring 3: the task bodies below call
//! `exec::sys` exactly as ring-0 code does, and the vector table's gate stubs take them through
//! the gate. Each test starts ring-3 tasks with a block of their own memory for parameters and
//! results, and checks the block when they report back.

use core::sync::atomic::Ordering;

use exec::ktest::{Test, TestResult};
use exec::port::Message;
use exec::semaphore::SignalSemaphore;
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::{ensure, ensure_eq, sys};

use crate::gate::{ALERT_VECTOR, BAD_ALLEGATIONS, FAULTS_CONTAINED, LAST_FAULT_VECTOR, PRIVILEGED_REFUSED};
use crate::user::add_user_task_with;

/// Every test of exec calls from ring 3.
pub static TESTS: &[Test] = &[
    Test::new("mmu.sys.named_port_round_trips", named_port_round_trips),
    Test::new("mmu.sys.semaphores_between_tasks", semaphores_between_tasks),
    Test::new("mmu.sys.library_runs_in_ring3", library_runs_in_ring3),
    Test::new("mmu.sys.privileged_calls_refused", privileged_calls_refused),
    Test::new("mmu.sys.add_task_from_ring3", add_task_from_ring3),
    Test::new("mmu.msg.sender_ends_before_reply", sender_ends_before_reply),
];

/// The running test, as ring 3 names it (its number: for the ring-3 tasks that signal it).
fn me() -> *mut exec::task::Task {
    crate::user::ring3_name(exec::task::find_task(None))
}

/// Starts `body` in ring 3 with `init` as its block, waits for CTRL_F, and returns the block
/// as the task left it (it is still live: it waits for CTRL_E, then ends).
pub(crate) fn run<T: Copy>(name: &str, body: extern "C" fn(u64) -> !, init: T) -> Result<T, alloc::string::String> {
    sys_set_signal_clear();
    let (task, block) = add_user_task_with(name, 0, body, init).ok_or("no memory for the task")?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the task wrote its results before signalling and waits for CTRL_E to end.
    let r = unsafe { (block as *const T).read() };
    // SAFETY: a live task that waits for CTRL_E.
    unsafe { exec::signal::signal(task, SIGF_CTRL_E) };
    devices::timer_sleep_ms(20);
    Ok(r)
}

fn sys_set_signal_clear() {
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
}

/// Ring 3: tell `parent` the results are written, wait to be let go, end.
pub(crate) fn report_and_end(parent: *mut exec::task::Task) -> ! {
    // SAFETY: the parent (a live task) is alleged to the gate, which checks it.
    unsafe {
        sys::signal(parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

// --- ports and messages -------------------------------------------------------------------

/// Ring 3: a public port "r3.echo"; each message's first body word gets 1 added and the
/// second the address it arrived at; a first word of u64::MAX ends it.
extern "C" fn echo_server(parent: u64) -> ! {
    // SAFETY: exec calls with the server's own port and the messages it received.
    unsafe {
        let port = sys::create_port(Some("r3.echo"), 0);
        sys::signal(parent as *mut _, SIGF_CTRL_F);
        loop {
            sys::wait_port(port);
            let m = sys::get_msg(port);
            let body = m.add(1) as *mut u64;
            let v = body.read_volatile();
            body.write_volatile(v.wrapping_add(1));
            body.add(1).write_volatile(m as u64);
            sys::reply_msg(m);
            if v == u64::MAX {
                sys::rem_task(core::ptr::null_mut());
            }
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct PortResults {
    parent: *mut exec::task::Task,
    found: bool,
    block_value: u64,
    block_same_address: bool,
    stack_value: u64,
    stack_same_address: bool,
    /// port_signal of the reply port, whether the reply came with that signal, and what
    /// port_signal answered for the server's port, a made-up handle and null (all refused: 0).
    own_mask: u32,
    woke_on_it: bool,
    others: u32,
}

/// Ring 3: finds "r3.echo", sends a message that is a whole block of its memory (transfer) and
/// one on its stack (copy), and checks what comes back; learns its reply port's signal and
/// waits for that signal alone.
extern "C" fn echo_client(block: u64) -> ! {
    let r = block as *mut PortResults;
    // SAFETY: the block is our own memory; exec calls with our own port and messages.
    unsafe {
        let server = sys::find_port("r3.echo");
        (*r).found = !server.is_null();
        let reply = sys::create_port(None, 0);
        (*r).own_mask = sys::port_signal(reply);
        (*r).others = sys::port_signal(server) | sys::port_signal(0xdead_0000 as *mut _) | sys::port_signal(core::ptr::null_mut());
        let big = sys::alloc_mem(8192, exec::memory::MemFlags::PUBLIC) as *mut Message;
        big.write(Message::new(reply, 8192));
        (big.add(1) as *mut u64).write(41);
        sys::put_msg(server, big);
        (*r).woke_on_it = sys::wait((*r).own_mask) == (*r).own_mask;
        let back = sys::get_msg(reply);
        (*r).block_value = (back.add(1) as *const u64).read();
        (*r).block_same_address = back == big && (big.add(1) as *const u64).add(1).read() == big as u64;

        #[repr(C)]
        struct Small {
            msg: Message,
            body: [u64; 2],
        }
        let mut small = Small { msg: Message::new(reply, size_of::<Small>()), body: [7, 0] };
        let small_at = &mut small as *mut Small as *mut Message;
        sys::put_msg(server, small_at);
        let back = loop {
            let m = sys::get_msg(reply);
            if !m.is_null() {
                break m;
            }
            sys::wait_port(reply);
        };
        (*r).stack_value = core::ptr::read_volatile(&small.body[0]);
        (*r).stack_same_address = back == small_at && core::ptr::read_volatile(&small.body[1]) == small_at as u64;

        (big.add(1) as *mut u64).write(u64::MAX);
        sys::put_msg(server, big);
        sys::wait_port(reply);
        sys::get_msg(reply);
        report_and_end((*r).parent)
    }
}

fn named_port_round_trips() -> TestResult {
    sys_set_signal_clear();
    let server = crate::user::add_user_task("r3-echo", 1, echo_server, me() as u64);
    ensure!(!server.is_null());
    exec::signal::wait(SIGF_CTRL_F);
    ensure!(!exec::port::find_port("r3.echo").is_null(), "the ring-3 port is not public");
    let init = PortResults {
        parent: me(),
        found: false,
        block_value: 0,
        block_same_address: false,
        stack_value: 0,
        stack_same_address: true,
        own_mask: 0,
        woke_on_it: false,
        others: u32::MAX,
    };
    let r = run("r3-client", echo_client, init)?;
    ensure!(r.own_mask.count_ones() == 1 && r.own_mask >= 1 << 16, "port_signal of its own port: {:#x}", r.own_mask);
    ensure!(r.woke_on_it, "the reply did not come with the port's signal");
    ensure_eq!(r.others, 0, "port_signal answered for a port not the caller's");
    ensure!(r.found, "find_port from ring 3 did not find the port");
    ensure_eq!(r.block_value, 42, "the transferred message's reply");
    ensure!(r.block_same_address, "a whole block must travel by transfer, at its own address");
    ensure_eq!(r.stack_value, 8, "the copied message's reply");
    ensure!(!r.stack_same_address, "a message on the stack must travel as a copy");
    ensure!(exec::port::find_port("r3.echo").is_null(), "the port outlived its task");
    Ok(())
}

// --- semaphores ---------------------------------------------------------------------------

#[repr(C)]
struct SemOwner {
    parent: *mut exec::task::Task,
    sem: SignalSemaphore,
}

/// Ring 3: makes "r3.sem" public, obtains it, reports, releases it when told (CTRL_E), then
/// reports again and ends when told.
extern "C" fn sem_owner(block: u64) -> ! {
    let b = block as *mut SemOwner;
    // SAFETY: our own block; the semaphore is in it.
    unsafe {
        let sem = &raw mut (*b).sem;
        (*sem).node.set_name("r3.sem");
        sys::add_semaphore(sem);
        sys::obtain_semaphore(sem);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::release_semaphore(sem);
        report_and_end((*b).parent)
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SemUser {
    parent: *mut exec::task::Task,
    found: bool,
    attempt_while_held: bool,
    obtained: bool,
    second_release_refused: bool,
}

/// Ring 3: finds "r3.sem", attempts it (held by the owner), then waits for it.
extern "C" fn sem_user(block: u64) -> ! {
    let b = block as *mut SemUser;
    // SAFETY: our own block; the semaphore handle comes from find_semaphore.
    unsafe {
        let sem = sys::find_semaphore("r3.sem");
        (*b).found = !sem.is_null();
        (*b).attempt_while_held = sys::attempt_semaphore(sem);
        sys::signal((*b).parent, SIGF_CTRL_E);
        sys::obtain_semaphore(sem);
        (*b).obtained = true;
        sys::release_semaphore(sem);
        sys::release_semaphore(sem); // not held any more: refused (counted by the gate)
        (*b).second_release_refused = true;
        report_and_end((*b).parent)
    }
}

fn semaphores_between_tasks() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    sys_set_signal_clear();
    let (owner, _) = add_user_task_with("r3-sem-owner", 0, sem_owner, SemOwner { parent: me(), sem: SignalSemaphore::new() })
        .ok_or("no memory")?;
    exec::signal::wait(SIGF_CTRL_F);
    ensure!(!exec::semaphore::find_semaphore("r3.sem").is_null(), "the ring-3 semaphore is not public");
    let bad = BAD_ALLEGATIONS.load(Ordering::SeqCst);
    let init = SemUser { parent: me(), found: false, attempt_while_held: true, obtained: false, second_release_refused: false };
    let (user, block) = add_user_task_with("r3-sem-user", 0, sem_user, init).ok_or("no memory")?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_E), SIGF_CTRL_E);
    devices::timer_sleep_ms(20);
    // SAFETY: the user task is live (waiting for the semaphore); its block with it.
    let read = || unsafe { (block as *const SemUser).read() };
    ensure!(!read().obtained, "obtained while the owner held it");
    // SAFETY: a live task waiting for CTRL_E: the owner releases.
    unsafe { exec::signal::signal(owner, SIGF_CTRL_E) };
    let mut ticks = 0;
    while !read().second_release_refused && ticks < 100 {
        devices::timer_sleep_ms(10);
        ticks += 1;
    }
    let r = read();
    // SAFETY: live tasks waiting for CTRL_E.
    unsafe {
        exec::signal::signal(user, SIGF_CTRL_E);
        exec::signal::signal(owner, SIGF_CTRL_E);
    }
    devices::timer_sleep_ms(20);
    ensure!(r.found, "find_semaphore from ring 3");
    ensure!(!r.attempt_while_held, "attempt succeeded while another task held it");
    ensure!(r.obtained && r.second_release_refused, "the waiter did not get the semaphore");
    ensure_eq!(BAD_ALLEGATIONS.load(Ordering::SeqCst), bad + 1, "the second release was not refused");
    ensure_eq!(exec::execbase::counters().alert_count, alerts, "a ring-3 release raised an alert");
    ensure!(exec::semaphore::find_semaphore("r3.sem").is_null(), "the semaphore outlived its owner");
    Ok(())
}

// --- libraries ----------------------------------------------------------------------------

fn add_impl(a: u64, b: u64) -> u64 {
    a + b
}

fn greet_impl(name: &str) -> alloc::string::String {
    alloc::format!("hello, {name}")
}

exec::vector_table! {
    /// A library made for this test.
    pub struct R3TestVectors in R3TEST_VECTORS;
    safe fn add(a: u64, b: u64) -> u64 = add_impl;
    safe fn greet(name: &str) -> alloc::string::String = greet_impl;
}

static R3TEST_LIBRARY: exec::global::Global<exec::library::Library> =
    exec::global::Global::new(exec::library::Library::new("r3test.library", 1, 0, "r3test 1.0", &R3TEST_VECTORS));

#[repr(C)]
#[derive(Clone, Copy)]
struct LibResults {
    parent: *mut exec::task::Task,
    opened: bool,
    sum: u64,
    greeting_ok: bool,
    in_ring3: bool,
}

/// Ring 3: opens r3test.library, calls it (the greeting is a String from this task's own
/// heap), closes it, reports, then calls it once more: a dead-end alert that removes it.
extern "C" fn lib_user(block: u64) -> ! {
    let b = block as *mut LibResults;
    // SAFETY: our own block; calls through a library we open.
    unsafe {
        let lib = sys::open_library("r3test.library", 1);
        (*b).opened = !lib.is_null();
        (*b).sum = add(2, 3);
        (*b).greeting_ok = greet("ring 3") == "hello, ring 3";
        (*b).in_ring3 = exec::arch::x86_64::cpu::in_ring3();
        sys::close_library(lib);
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        core::hint::black_box(add(1, 1));
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

fn library_runs_in_ring3() -> TestResult {
    // SAFETY: a static base, added once (the test may run once per boot; a second add of the
    // same node is avoided by looking first).
    unsafe {
        if exec::library::open_library("r3test.library", 1).is_null() {
            exec::library::add_library(R3TEST_LIBRARY.get());
        } else {
            exec::library::close_library(R3TEST_LIBRARY.get());
        }
    }
    let faults = FAULTS_CONTAINED.load(Ordering::SeqCst);
    let r = run("r3-lib-user", lib_user, LibResults { parent: me(), opened: false, sum: 0, greeting_ok: false, in_ring3: false })?;
    ensure!(r.opened && r.in_ring3);
    ensure_eq!(r.sum, 5);
    ensure!(r.greeting_ok, "the String made in ring 3 was wrong");
    ensure_eq!(FAULTS_CONTAINED.load(Ordering::SeqCst), faults + 1, "the call after close was not stopped");
    ensure_eq!(LAST_FAULT_VECTOR.load(Ordering::SeqCst), ALERT_VECTOR);
    // SAFETY: a live library.
    ensure_eq!(unsafe { (*R3TEST_LIBRARY.get()).open_cnt }, 0, "the library was left open");
    Ok(())
}

// --- what ring 3 may not do ---------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct Privileged {
    parent: *mut exec::task::Task,
    pool_null: bool,
}

extern "C" fn privileged_user(block: u64) -> ! {
    let b = block as *mut Privileged;
    // SAFETY: our own block; every call below is refused before it touches anything.
    unsafe {
        sys::add_int_server(4, core::ptr::null_mut());
        sys::set_function(core::ptr::null_mut(), 0, core::ptr::null());
        sys::rem_task((*b).parent);
        (*b).pool_null = sys::create_pool(exec::memory::MemFlags::PUBLIC, 4096, 1024).is_null();
        sys::disable(); // a Forbid in ring 3: interrupts stay on
        (*b).pool_null &= exec::arch::x86_64::cpu::in_ring3();
        sys::enable();
        report_and_end((*b).parent)
    }
}

fn privileged_calls_refused() -> TestResult {
    let refused = PRIVILEGED_REFUSED.load(Ordering::SeqCst);
    let alerts = exec::execbase::counters().alert_count;
    let r = run("r3-privileged", privileged_user, Privileged { parent: me(), pool_null: false })?;
    ensure!(r.pool_null);
    ensure_eq!(PRIVILEGED_REFUSED.load(Ordering::SeqCst), refused + 4);
    ensure_eq!(exec::execbase::counters().alert_count, alerts);
    Ok(())
}

// --- tasks --------------------------------------------------------------------------------

fn child(parent: usize) {
    // SAFETY: the parent is alleged; the gate checks it.
    unsafe { sys::signal(parent as *mut _, SIGF_CTRL_E) };
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Spawn {
    parent: *mut exec::task::Task,
    started: bool,
}

extern "C" fn spawner(block: u64) -> ! {
    let b = block as *mut Spawn;
    // SAFETY: our own block.
    unsafe {
        (*b).started = !sys::add_task("r3-child", 0, child, (*b).parent as usize, 4096).is_null();
        report_and_end((*b).parent)
    }
}

fn add_task_from_ring3() -> TestResult {
    sys_set_signal_clear();
    let (_, block) = add_user_task_with("r3-spawner", 0, spawner, Spawn { parent: me(), started: false }).ok_or("no memory")?;
    let got = exec::signal::wait(SIGF_CTRL_E | SIGF_CTRL_F);
    let got = if got == SIGF_CTRL_E | SIGF_CTRL_F { got } else { got | exec::signal::wait(SIGF_CTRL_E | SIGF_CTRL_F) };
    ensure_eq!(got, SIGF_CTRL_E | SIGF_CTRL_F, "the child did not signal");
    // SAFETY: the spawner waits for CTRL_E with its block live.
    ensure!(unsafe { (block as *const Spawn).read() }.started);
    let spawner = exec::task::find_task(Some("r3-spawner"));
    // SAFETY: a live task.
    unsafe { exec::signal::signal(spawner, SIGF_CTRL_E) };
    devices::timer_sleep_ms(20);
    ensure!(exec::task::find_task(Some("r3-child")).is_null());
    Ok(())
}

// --- a sender that ends before the reply --------------------------------------------------

/// Ring 3: a port; waits for CTRL_E, then takes the one message, reads it and replies it, as
/// an Exec server does (the block, the server's since its sender ended, cannot be freed while
/// the message is held, and goes with the reply: a free of it afterwards is refused too).
extern "C" fn late_server(parent: u64) -> ! {
    // SAFETY: our own port and the message we take.
    unsafe {
        let port = sys::create_port(Some("r3.late"), 0);
        sys::signal(parent as *mut _, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        let m = sys::get_msg(port);
        let ok = !m.is_null() && (m.add(1) as *const u64).read_volatile() == 0x5EED;
        sys::free_mem(m as *mut u8, 4096); // refused: held (the message's loan)
        sys::reply_msg(m);
        sys::free_mem(m as *mut u8, 4096); // refused: gone with the reply
        if ok {
            sys::signal(parent as *mut _, SIGF_CTRL_F);
        }
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3: sends a whole block to "r3.late", tries to free it while lent, and ends.
extern "C" fn early_sender(_: u64) -> ! {
    // SAFETY: our own memory and port.
    unsafe {
        let reply = sys::create_port(None, 0);
        let m = sys::alloc_mem(4096, exec::memory::MemFlags::PUBLIC) as *mut Message;
        m.write(Message::new(reply, 4096));
        (m.add(1) as *mut u64).write(0x5EED);
        sys::put_msg(sys::find_port("r3.late"), m);
        sys::free_mem(m as *mut u8, 4096); // refused: lent out
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A whole block sent by transfer whose sender ends before the reply: the receiver keeps it
/// until it replies (the reply frees it: nobody to go back to); until then it stays charged
/// to the sender's family, not the receiver's; nothing faults, nothing is lost.
fn sender_ends_before_reply() -> TestResult {
    let faults = FAULTS_CONTAINED.load(Ordering::SeqCst);
    let bad = BAD_ALLEGATIONS.load(Ordering::SeqCst);
    let avail = exec::memory::avail_mem(exec::memory::MemFlags::ANY);
    sys_set_signal_clear();
    let server = crate::user::add_user_task("r3-late-server", 0, late_server, me() as u64);
    ensure!(!server.is_null());
    exec::signal::wait(SIGF_CTRL_F);
    // Each is a family of its own (started from ring 0). Under Forbid the sender cannot run,
    // and so end, before its family is read.
    exec::sched::forbid();
    let sender = crate::user::add_user_task("r3-early-sender", 0, early_sender, 0);
    // SAFETY: live tasks with spaces, not running (Forbid held).
    let family = |t: *mut exec::task::Task| unsafe { crate::space::policy_of(t) }.map(|p| p.family);
    let families = (family(server), if sender.is_null() { None } else { family(sender) });
    exec::sched::permit();
    let (Some(server_family), Some(sender_family)) = families else { return Err("no memory for the tasks".into()) };
    let server_bytes = crate::policy::family_bytes(server_family);
    devices::timer_sleep_ms(20);
    ensure!(exec::task::find_task(Some("r3-early-sender")).is_null(), "the sender did not end");
    // The server holds the block now, but it stays charged to the family that allocated it:
    // one page (from an arena: see `pages`).
    ensure_eq!(crate::policy::family_bytes(server_family), server_bytes, "the receiver's family was charged for a block it did not ask for");
    ensure_eq!(crate::policy::family_bytes(sender_family), 4096, "the ended sender's family no longer counts its block");
    // SAFETY: a live task waiting for CTRL_E.
    unsafe { exec::signal::signal(server, SIGF_CTRL_E) };
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::signal::set_signal(0, SIGF_CTRL_F) & SIGF_CTRL_F, SIGF_CTRL_F, "the server did not get the message intact");
    // The server replied the message: the block went with the reply (freed: nobody to go back
    // to), and the sender's family has nothing left.
    ensure_eq!(crate::policy::family_bytes(sender_family), 0, "the replied block is still charged");
    // SAFETY: as above.
    unsafe { exec::signal::signal(server, SIGF_CTRL_E) };
    devices::timer_sleep_ms(20);
    ensure_eq!(FAULTS_CONTAINED.load(Ordering::SeqCst), faults, "a task faulted");
    ensure_eq!(BAD_ALLEGATIONS.load(Ordering::SeqCst), bad + 3, "a free of a lent block, of a held one or of a replied one was not refused");
    ensure_eq!(exec::memory::avail_mem(exec::memory::MemFlags::ANY), avail, "memory was lost");
    Ok(())
}
