//! mmu-mode's in-kernel tests of ring-3 tasks that hoard the kernel's records: each thing a
//! task makes the kernel keep for it (a port, a library open, a device request's shadow) is
//! bounded per task and by the kernel heap's reserve, and a public name in use cannot be
//! taken twice. Written as `ktests_attacks.rs` says (a hostile program, its block, a test).

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::sys;
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};

pub static TESTS: &[Test] = &[
    Test::new("mmu.attack.ports_and_opens_are_bounded", ports_and_opens_are_bounded),
    Test::new("mmu.task_list_counts_to_its_cap", task_list_counts_to_its_cap),
    Test::new("mmu.sem.orphan_record_is_taken_over", orphan_record_is_taken_over),
    Test::new("mmu.attack.semaphore_handles_are_checked", crate::ktests_sem::semaphore_handles_are_checked),
    Test::new("mmu.attack.shared_holds_stay_on_the_books", crate::ktests_sem::shared_holds_stay_on_the_books),
    Test::new("mmu.mem.ring3_churn_leaves_exec_memory_whole", ring3_churn_leaves_exec_memory_whole),
    Test::new("mmu.mem.large_blocks_cost_their_pages", large_blocks_cost_their_pages),
    Test::new("mmu.attack.public_names_are_bounded_per_family", public_names_are_bounded_per_family),
];

/// How many of each the hoarder tries (more than it may hold).
const TRIES: usize = 48;

#[repr(C)]
#[derive(Clone, Copy)]
struct Hoard {
    parent: *mut Task,
    /// Ports made, each after the signal of the one before was freed.
    ports: u64,
    /// dos.library opens that succeeded.
    opens: u64,
    /// A second public port of a name it holds, and one named like CON:'s: refused (1).
    twice_refused: u64,
    con_refused: u64,
    /// A free name another ring-0 task keeps for the tasks it starts: refused (1).
    kept_refused: u64,
    /// Whether "jobs" (the shell's jobs service's, kept from all of ring 3 at boot) was refused
    /// while free: the ring-0 service has not started when these tests run.
    service_refused: u64,
}

/// The name [`keeper`] keeps.
const KEPT: &str = "kept-for-another";

/// Ring 0: keeps [`KEPT`] for the tasks it would start, and ends.
fn keeper(_: usize) {
    crate::msg::reserve_name(KEPT);
}

/// Ring 3: tries to take a public name twice, CON:'s name and a name kept for another's tasks;
/// makes ports, freeing each one's
/// signal so that signals do not bound it; opens dos.library again and again. Then waits to be
/// ended with all of it held.
extern "C" fn hoarder(block: u64) -> ! {
    let b = block as *mut Hoard;
    // SAFETY: our own block; everything else is alleged to the gate.
    unsafe {
        let first = sys::create_port(Some("r3-hoard"), 0);
        (*b).twice_refused = (!first.is_null() && sys::create_port(Some("r3-hoard"), 0).is_null()) as u64;
        (*b).con_refused = sys::create_port(Some("CON"), 5).is_null() as u64;
        (*b).kept_refused = sys::create_port(Some(KEPT), 0).is_null() as u64;
        (*b).service_refused = (!sys::find_port("jobs").is_null() || sys::create_port(Some("jobs"), 0).is_null()) as u64;
        (*b).ports = !first.is_null() as u64;
        for _ in 0..TRIES {
            let p = sys::create_port(None, 0);
            if !p.is_null() {
                (*b).ports += 1;
            }
            for bit in 16..32 {
                sys::free_signal(bit);
            }
        }
        for _ in 0..TRIES {
            if !sys::open_library("dos.library", 0).is_null() {
                (*b).opens += 1;
            }
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A hoarder stops at 16 ports and 32 library opens, cannot take a public name in use (its
/// own, or CON:'s) or one another ring-0 task keeps for its own tasks, and once ended leaves the kernel heap and exec memory as they were. The
/// real CON: is still the one found by name. Run twice: the first run may grow the kernel's
/// tables for good (their high-water mark); the second must leave everything exactly as the
/// first left it.
fn ports_and_opens_are_bounded() -> TestResult {
    let con = exec::port::find_port("CON");
    ensure!(!con.is_null(), "no CON: to stand in for");
    ensure!(!exec::task::add_task("r0-keeper", 1, keeper, 0, 8192).is_null());
    ensure!(gone("r0-keeper", 200));
    let mut after_first = None;
    for _ in 0..2 {
        let heap0 = exec::heap::stats().free;
        let mem0 = exec::memory::avail_mem(MemFlags::ANY);
        let (t, block) = hostile("r3-hoarder", 0, hoarder, Hoard { parent: me3(), ports: 0, opens: 0, twice_refused: 0, con_refused: 0, kept_refused: 0, service_refused: 0 })?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: the hoarder wrote its figures before signalling, and waits.
        let b = unsafe { (block as *const Hoard).read() };
        ensure_eq!(b.ports, crate::msg::PORTS_PER_TASK as u64, "ports made");
        ensure_eq!(b.opens, crate::libs::OPENS_PER_TASK as u64, "library opens");
        ensure_eq!(b.twice_refused, 1, "a public name taken twice");
        ensure_eq!(b.con_refused, 1, "CON:'s name taken");
        ensure_eq!(b.kept_refused, 1, "a name kept for another's tasks taken while free");
        ensure_eq!(b.service_refused, 1, "a service's name, kept from ring 3 at boot, taken while free");
        ensure_eq!(exec::port::find_port("CON"), con, "CON: is no longer the one found");
        // SAFETY: the hoarder is live and waits.
        unsafe { exec::task::rem_task(t) };
        ensure!(gone("r3-hoarder", 200));
        devices::timer_sleep_ms(30);
        ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
        let heap = exec::heap::stats().free;
        if let Some(first) = after_first {
            ensure_eq!(heap, first, "kernel heap back to where the first run left it");
        }
        ensure!(heap0 - heap.min(heap0) <= 1024, "the first run kept {} bytes of kernel heap", heap0 - heap.min(heap0));
        after_first = Some(heap);
    }
    Ok(())
}

/// What the lister was told: the count for a short buffer, and for one with room for all.
#[repr(C)]
#[derive(Clone, Copy)]
struct Listed {
    parent: *mut Task,
    short: u64,
    full: u64,
    /// Entries of the full listing with a task number (all of them, if all were written).
    numbered: u64,
}

/// Room the lister's second buffer has.
const LIST_ROOM: usize = 400;

/// Ring 3: TaskList into a buffer for 4, then into one for [`LIST_ROOM`], as TASKLIST does
/// (asks again with room for the count it was told).
extern "C" fn lister(block: u64) -> ! {
    use exec::snapshot::TaskEntry;
    let b = block as *mut Listed;
    let buf = sys::alloc_mem(LIST_ROOM * size_of::<TaskEntry>(), MemFlags::ANY | MemFlags::CLEAR) as *mut TaskEntry;
    // SAFETY: our own block and buffer (null: nothing listed, the test says so).
    unsafe {
        if !buf.is_null() {
            (*b).short = sys::task_list(buf, 4) as u64;
            let full = sys::task_list(buf, LIST_ROOM);
            (*b).full = full as u64;
            (*b).numbered = (0..full.min(LIST_ROOM)).filter(|&i| (*buf.add(i)).id != 0).count() as u64;
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// How many tasks there are.
fn live_tasks() -> u64 {
    let mut n = 0;
    exec::task::for_each_task(|_| n += 1);
    n
}

fn sleeper(_: usize) {
    exec::signal::wait(exec::signal::SIGF_CTRL_C);
}

/// TaskList from ring 3 with more tasks than its 256-record cap: the count it gives is the
/// cap, so that a caller that asks again with room for the count gets every record it is told
/// of, each a real one (it used to say how many there were in all, and a caller read records
/// never written).
fn task_list_counts_to_its_cap() -> TestResult {
    let cap = crate::gate::RECORDS_MAX;
    let mut sleepers = alloc::vec::Vec::new();
    while (live_tasks()) < cap + 20 {
        let t = exec::task::add_task("r0-many", -1, sleeper, 0, 4096);
        if t.is_null() {
            break;
        }
        sleepers.push(t);
    }
    let result = (|| {
        ensure!(live_tasks() > cap, "no memory for {} tasks", cap + 20);
        let (t, block) = hostile("r3-lister", 0, lister, Listed { parent: me3(), short: 0, full: 0, numbered: 0 })?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: written before the signal; the lister waits.
        let b = unsafe { (block as *const Listed).read() };
        // SAFETY: live, waiting.
        unsafe { exec::task::rem_task(t) };
        ensure_eq!(b.short, cap, "the count for a short buffer");
        ensure_eq!(b.full, cap, "the count with room for all");
        ensure_eq!(b.numbered, cap, "records written");
        Ok(())
    })();
    for t in sleepers {
        // SAFETY: our sleepers, live (they wait for CTRL_C, which nobody sends).
        unsafe { exec::task::rem_task(t) };
    }
    result
}

/// Where in the shared page the semaphore tests keep their words: the parent's number, then
/// what C and D were answered.
const WORDS: u64 = 512;

/// The semaphore's name while A holds it public.
const ORPHAN_NAME: &str = "orph.sem";

/// Ring 3, A: makes the semaphore at the shared page's start public, tells the parent, and
/// waits to be ended.
extern "C" fn sem_maker(page: u64) -> ! {
    let sem = page as *mut exec::semaphore::SignalSemaphore;
    // SAFETY: the shared page is open to us; the semaphore is at its start.
    unsafe {
        (*sem).node.set_name(ORPHAN_NAME);
        sys::add_semaphore(sem);
        sys::signal(((page + WORDS) as *const u64).read() as *mut Task, SIGF_CTRL_F);
    }
    loop {
        sys::wait(SIGF_CTRL_E); // nobody sends it: ended by the parent
    }
}

/// Ring 3, B: finds the semaphore and holds it; when told (CTRL_E), ends holding it (exec
/// gives it back: the record, an orphan's, is idle then, and nothing else drops it).
extern "C" fn sem_holder(parent: u64) -> ! {
    // SAFETY: the handle is alleged to the gate.
    unsafe {
        let h = sys::find_semaphore(ORPHAN_NAME);
        sys::obtain_semaphore(h);
        sys::signal(parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::signal(parent as *mut Task, SIGF_CTRL_F);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Ring 3, C or D: init_semaphore on the shared page's start; the answer goes in word `arg`'s
/// slot (1: C, 2: D). C then waits to be ended; D ends.
extern "C" fn sem_initer(arg: u64) -> ! {
    use exec::sys_gate::{Call, raw_call};
    let (page, slot) = (arg & !0xfff, arg & 0xfff);
    let words = (page + WORDS) as *mut u64;
    // SAFETY: the shared page is open to us.
    unsafe {
        words.add(slot as usize).write(raw_call(Call::InitSemaphore, page, 0, 0));
        sys::signal(words.read() as *mut Task, SIGF_CTRL_F);
    }
    if slot == 1 {
        loop {
            sys::wait(SIGF_CTRL_E); // nobody sends it: ended by the parent
        }
    }
    crate::user::exit()
}

/// Ring 3, F: attempts the semaphore at the shared page's start (whose structure still holds
/// the handle A's init wrote); the answer goes in word 3.
extern "C" fn sem_prober(page: u64) -> ! {
    use exec::sys_gate::{Call, raw_call};
    let words = (page + WORDS) as *mut u64;
    // SAFETY: the shared page is open to us.
    unsafe {
        words.add(3).write(raw_call(Call::AttemptSemaphore, page, 0, 0));
        sys::signal(words.read() as *mut Task, SIGF_CTRL_F);
    }
    crate::user::exit()
}

/// A semaphore whose owner (A) ended while B held it keeps its record (an orphan's); F, another
/// task with memory at A's structure (and the handle A's init left there), cannot reach it; B then
/// ends holding it, which leaves the orphan idle: it goes at B's end (else nothing would free
/// it, and A's family would stay charged). C, a task that can write the same memory, may then
/// make a semaphore there; D, while C owns that one, may not.
fn orphan_record_is_taken_over() -> TestResult {
    use exec::sys_gate::ERR_BAD_POINTER;
    let block = exec::memory::alloc_mem(8192, MemFlags::PUBLIC | MemFlags::CLEAR);
    ensure!(!block.is_null(), "no memory for the shared page");
    let page = (block as u64).next_multiple_of(4096);
    let shared = [(page, 4096u64, crate::pte::Access::ReadWrite)];
    let words = (page + WORDS) as *mut u64;
    // SAFETY: our page, open to the tasks below.
    unsafe { words.write(me3() as u64) };
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let before = crate::sem::count();
    let result = (|| {
        let a = crate::user::add_user_task_sharing("r3-sem-a", 0, sem_maker, page, &shared, crate::user::USER_STACK);
        ensure!(!a.is_null());
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        let b = crate::user::add_user_task("r3-sem-b", 0, sem_holder, me3() as u64);
        ensure!(!b.is_null());
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: live; A ends while B holds its semaphore: the record is an orphan's now.
        unsafe { exec::task::rem_task(a) };
        let f = crate::user::add_user_task_sharing("r3-sem-f", 0, sem_prober, page, &shared, crate::user::USER_STACK);
        ensure!(!f.is_null());
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        ensure!(gone("r3-sem-f", 200));
        // SAFETY: written by F before it signalled.
        ensure_eq!(unsafe { words.add(3).read() }, ERR_BAD_POINTER, "a task at the ended owner's structure reached the orphan");
        // SAFETY: live, waiting for CTRL_E.
        unsafe { exec::signal::signal(b, SIGF_CTRL_E) };
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        ensure!(gone("r3-sem-b", 200));
        // B's end left the orphan idle: it went then, not at some later release.
        ensure_eq!(crate::sem::count(), before, "the orphan outlived its last holder");
        let c = crate::user::add_user_task_sharing("r3-sem-c", 0, sem_initer, page | 1, &shared, crate::user::USER_STACK);
        ensure!(!c.is_null());
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        let d = crate::user::add_user_task_sharing("r3-sem-d", 0, sem_initer, page | 2, &shared, crate::user::USER_STACK);
        ensure!(!d.is_null());
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        ensure!(gone("r3-sem-d", 200));
        // SAFETY: live, waiting.
        unsafe { exec::task::rem_task(c) };
        // SAFETY: written by C and D before they signalled.
        let (c_got, d_got) = unsafe { (words.add(1).read(), words.add(2).read()) };
        ensure!(crate::ktests_sem::is_handle(c_got), "C could not make a semaphore where the orphan's structure was: {c_got:#x}");
        ensure_eq!(d_got, ERR_BAD_POINTER, "another task's live record was taken over");
        Ok(())
    })();
    // The tasks sharing it have ended (or never started): the page is ours again.
    devices::timer_sleep_ms(20);
    // SAFETY: from alloc_mem above, with this size.
    unsafe { exec::memory::free_mem(block, 8192) };
    result
}

/// Blocks the churner holds at the end of its churn: every other one of [`CHURN`].
const CHURN: usize = 200;

#[repr(C)]
#[derive(Clone, Copy)]
struct Churn {
    parent: *mut Task,
    /// Blocks it holds when it signals.
    held: u64,
}

/// Ring 3: allocates [`CHURN`] blocks of one to three pages, frees every other one (a hole
/// between each two it keeps), allocates larger ones that fit no hole, and waits.
extern "C" fn churner(block: u64) -> ! {
    let c = block as *mut Churn;
    let mut blocks = [core::ptr::null_mut::<u8>(); CHURN];
    // SAFETY: our own block and memory; the parent is alleged to the gate.
    unsafe {
        for (i, b) in blocks.iter_mut().enumerate() {
            *b = sys::alloc_mem(4096 * (1 + i % 3), MemFlags::ANY);
        }
        for (i, b) in blocks.iter().enumerate().step_by(2) {
            sys::free_mem(*b, 4096 * (1 + i % 3));
        }
        for i in (0..CHURN).step_by(2) {
            blocks[i] = sys::alloc_mem(5 * 4096, MemFlags::ANY);
        }
        (*c).held = blocks.iter().filter(|b| !b.is_null()).count() as u64;
        sys::signal((*c).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A ring-3 task that cuts its memory into holes (hundreds of blocks allocated, every other
/// one freed) leaves exec memory's first-fit lists as they were: its pages come from arenas
/// (`pages`), so every other task's AllocMem walks no more than before. When it ends, the
/// arenas it filled go back.
fn ring3_churn_leaves_exec_memory_whole() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let chunks0 = exec::memory::free_chunks();
    let arenas0 = crate::pages::arenas();
    let (t, block) = hostile("r3-churner", 0, churner, Churn { parent: me3(), held: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the churner wrote its figures before signalling, and waits.
    let c = unsafe { (block as *const Churn).read() };
    ensure_eq!(c.held, CHURN as u64, "blocks held");
    let chunks = exec::memory::free_chunks();
    // An arena taken from exec memory may cut one chunk in two, and the task's own records
    // come from the kernel heap; the holes the task made must not show.
    ensure!(chunks <= chunks0 + 2, "exec memory's free list grew from {chunks0} to {chunks} chunks");
    // SAFETY: live, waiting.
    unsafe { exec::task::rem_task(t) };
    ensure!(gone("r3-churner", 500));
    devices::timer_sleep_ms(20);
    ensure_eq!(crate::pages::arenas(), arenas0, "an emptied arena was kept");
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "exec memory back to its baseline");
    ensure_eq!(exec::memory::free_chunks(), chunks0, "exec memory's free list back as it was");
    Ok(())
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Publisher {
    parent: u64,
    /// Public semaphores made, each found by name afterwards (2).
    sems_ok: u64,
    /// Public ports made of [`PUBLISH_TRIES`] names (the family's bound less the semaphores).
    made: u64,
    /// Private ports made once the bound was reached (1).
    private_ok: u64,
    /// A public port made after one port was taken off the list, after one was deleted, and
    /// after a semaphore was taken off its list (3).
    again_ok: u64,
    /// Ports of a name in use (its first), tried after each: refused ([`PUBLISH_TRIES`]).
    taken_refused: u64,
    /// A third public semaphore at the bound: refused, not found (1).
    sem_refused: u64,
}

/// More names than a family may publish.
const PUBLISH_TRIES: u8 = 12;

/// Ring 3: makes two public semaphores, then public ports of distinct names until refused
/// (after each, one of a name in use), a private one; takes a port off the public list and
/// deletes another, and takes a semaphore off its list, making a public port after each;
/// deletes the port it took off the list; tries a third public semaphore at the bound.
extern "C" fn publisher(block: u64) -> ! {
    use exec::semaphore::SignalSemaphore;
    let b = block as *mut Publisher;
    let mut ports = [core::ptr::null_mut(); PUBLISH_TRIES as usize];
    let name = |i: u8| [b'r', b'3', b'-', b'p', b'u', b'b', b'a' + i];
    // SAFETY: our own block and memory; everything else is alleged to the gate.
    unsafe {
        let sems = sys::alloc_mem(4096, MemFlags::ANY | MemFlags::CLEAR) as *mut SignalSemaphore;
        for (i, n) in ["r3-psa", "r3-psb", "r3-psc"].into_iter().enumerate().take(2) {
            let sem = sems.add(i);
            sem.write(SignalSemaphore::new());
            (*sem).node.set_name(n);
            sys::add_semaphore(sem);
            // Found by its handle: the one the kernel wrote into the structure.
            let found = sys::find_semaphore(n) as u64;
            (*b).sems_ok += u64::from(found != 0 && found == (*sem).ring3_handle);
        }
        for i in 0..PUBLISH_TRIES {
            let n = name(i);
            ports[i as usize] = sys::create_port(core::str::from_utf8(&n).ok(), 0);
            (*b).made += u64::from(!ports[i as usize].is_null());
            // A name in use: refused, and it must not count.
            let first = name(0);
            (*b).taken_refused += u64::from(sys::create_port(core::str::from_utf8(&first).ok(), 0).is_null());
        }
        (*b).private_ok = u64::from(!sys::create_port(None, 0).is_null());
        sys::rem_port(ports[0]);
        let n = name(PUBLISH_TRIES);
        (*b).again_ok += u64::from(!sys::create_port(core::str::from_utf8(&n).ok(), 0).is_null());
        sys::delete_msg_port(ports[1]);
        let n = name(PUBLISH_TRIES + 1);
        (*b).again_ok += u64::from(!sys::create_port(core::str::from_utf8(&n).ok(), 0).is_null());
        sys::rem_semaphore(sems);
        let n = name(PUBLISH_TRIES + 2);
        (*b).again_ok += u64::from(!sys::create_port(core::str::from_utf8(&n).ok(), 0).is_null());
        // The one taken off the list, deleted now: no longer public, so it gives back nothing.
        sys::delete_msg_port(ports[0]);
        let third = sems.add(2);
        third.write(SignalSemaphore::new());
        (*third).node.set_name("r3-psc");
        sys::add_semaphore(third);
        (*b).sem_refused = u64::from(sys::find_semaphore("r3-psc").is_null());
        sys::signal((*b).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// A family publishes at most `FAMILY_PUBLIC_NAMES` ports and semaphores together (every
/// FindPort, FindSemaphore and DOS packet walks exec's public lists); private ports are not
/// bounded by it; a port taken off the list or deleted, or a semaphore taken off its list,
/// makes room for another. A second run (a new family) gets as many again; nothing the task
/// published outlives it, and its family's count goes back to 0.
fn public_names_are_bounded_per_family() -> TestResult {
    let bound = u64::from(crate::policy::FAMILY_PUBLIC_NAMES);
    for _ in 0..2 {
        let (t, block) = hostile("r3-publisher", 0, publisher, Publisher { parent: me3() as u64, ..Publisher::default() })?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: the publisher wrote its figures before signalling, and waits.
        let b = unsafe { (block as *const Publisher).read() };
        ensure_eq!(b.sems_ok, 2, "public semaphores found by name");
        ensure_eq!(b.made, bound - 2, "public ports made of {PUBLISH_TRIES} besides two semaphores");
        ensure_eq!(b.private_ok, 1, "a private port past the public bound");
        ensure_eq!(b.again_ok, 3, "public ports after a port was taken off the list, one deleted, a semaphore taken off");
        ensure_eq!(b.taken_refused, u64::from(PUBLISH_TRIES), "a name in use taken again");
        ensure_eq!(b.sem_refused, 1, "a public semaphore past the bound");
        // SAFETY: live, waiting: its space is not changed meanwhile.
        let family = unsafe { crate::space::policy_of(t) }.map(|p| p.family).ok_or("no policy")?;
        ensure_eq!(u64::from(crate::policy::family_public_names(family)), bound, "the family's count");
        // SAFETY: live, waiting.
        unsafe { exec::task::rem_task(t) };
        ensure!(gone("r3-publisher", 200));
        ensure_eq!(crate::policy::family_public_names(family), 0, "the ended task's public names still counted");
        ensure!(exec::port::find_port("r3-pubc").is_null() && exec::semaphore::find_semaphore("r3-psb").is_null(), "a public name outlived its task");
    }
    Ok(())
}

/// The two large blocks' sizes: over an arena each, together within the family's quota only
/// if each is charged its pages (and the page over), not a power of two.
const LARGE: [usize; 2] = [10 << 20, 12 << 20];

#[repr(C)]
#[derive(Clone, Copy)]
struct Large {
    parent: *mut Task,
    got: [u64; 2],
}

/// Ring 3: allocates the [`LARGE`] blocks, says what it got, and waits to be ended.
extern "C" fn large_allocator(block: u64) -> ! {
    let b = block as *mut Large;
    // SAFETY: our own block; the parent is alleged to the gate.
    unsafe {
        for (i, len) in LARGE.into_iter().enumerate() {
            (*b).got[i] = sys::alloc_mem(len, MemFlags::ANY) as u64;
        }
        sys::signal((*b).parent, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Blocks larger than an arena come from exec memory and cost their pages and the page over:
/// 10 MiB and 12 MiB fit the family's 24 MiB together (charged as powers of two, 16 MiB
/// each, the second would be refused).
fn large_blocks_cost_their_pages() -> TestResult {
    let need: usize = LARGE.iter().sum::<usize>() + (4 << 20);
    if exec::memory::avail_mem(MemFlags::ANY) < need {
        return exec::ktest::skip("too little memory for two large blocks");
    }
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (t, block) = hostile("r3-large", 0, large_allocator, Large { parent: me3(), got: [0; 2] })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the task waits.
    let b = unsafe { (block as *const Large).read() };
    // SAFETY: live and waiting: its space is not changed meanwhile.
    let family = unsafe { crate::space::policy_of(t) }.map(|p| p.family).ok_or("no policy")?;
    let charged = crate::policy::family_bytes(family);
    // SAFETY: live, waiting.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-large", 500), "the task did not end");
    ensure!(b.got.iter().all(|&g| g != 0), "a large block within the quota was refused: got {:x?}", b.got);
    let blocks: u64 = LARGE.iter().map(|&l| l as u64 + 4096).sum();
    ensure!(charged >= blocks && charged < blocks + (1 << 20), "charged {charged} for blocks of {blocks} and a stack");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}
