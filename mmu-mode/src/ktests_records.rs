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

pub static TESTS: &[Test] = &[Test::new("mmu.attack.ports_and_opens_are_bounded", ports_and_opens_are_bounded)];

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
        let (t, block) = hostile("r3-hoarder", 0, hoarder, Hoard { parent: me3(), ports: 0, opens: 0, twice_refused: 0, con_refused: 0, kept_refused: 0 })?;
        ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
        // SAFETY: the hoarder wrote its figures before signalling, and waits.
        let b = unsafe { (block as *const Hoard).read() };
        ensure_eq!(b.ports, crate::msg::PORTS_PER_TASK as u64, "ports made");
        ensure_eq!(b.opens, crate::libs::OPENS_PER_TASK as u64, "library opens");
        ensure_eq!(b.twice_refused, 1, "a public name taken twice");
        ensure_eq!(b.con_refused, 1, "CON:'s name taken");
        ensure_eq!(b.kept_refused, 1, "a name kept for another's tasks taken while free");
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
