//! mmu-mode's in-kernel tests of a space's page-table work over ranges (`Space::set_access`)
//! and of the checks of alleged ranges (`Space::readable`/`writable`): exact at every page's
//! edge and a 2 MiB region's, and, over megabytes, letting pending interrupts in as they go (a
//! gate call makes them under Forbid with interrupts off); which pages are global; and the
//! kernel's own tables, with SMEP and SMAP on where the CPU has them.

use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::pte::Access;
use crate::space::Space;

pub static TESTS: &[Test] = &[
    Test::new("mmu.door.long_page_table_work_lets_interrupts_in", long_page_table_work_lets_interrupts_in),
    Test::new("mmu.door.long_page_checks_let_interrupts_in", long_page_checks_let_interrupts_in),
    Test::new("mmu.door.page_runs_set_and_checked_exactly", page_runs_set_and_checked_exactly),
    Test::new("mmu.door.a_fresh_copy_block_shows_no_old_bytes", a_fresh_copy_block_shows_no_old_bytes),
    Test::new("mmu.door.only_the_heaps_pages_are_global", only_the_heaps_pages_are_global),
    Test::new("mmu.door.page_runs_at_their_edges", page_runs_at_their_edges),
    Test::new("mmu.smep_smap_where_available", smep_smap_where_available),
    Test::new("mmu.kernel_on_its_own_tables", kernel_on_its_own_tables),
];

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;

/// Bytes of the block the holder allocates: two runs of 2 MiB (an arena: the suite runs in
/// 32 MiB machines too).
pub(crate) const BLOCK: u64 = 4 << 20;

#[repr(C)]
#[derive(Clone, Copy)]
struct Holder {
    parent: *mut Task,
    block: u64,
}

/// Ring 3: allocates [`BLOCK`] bytes, says where, and waits to be ended.
extern "C" fn holder(block: u64) -> ! {
    let h = block as *mut Holder;
    // SAFETY: our own block; the parent is alleged to the gate.
    unsafe {
        (*h).block = exec::sys::alloc_mem(BLOCK as usize, MemFlags::ANY) as u64;
        exec::sys::signal((*h).parent, SIGF_CTRL_F);
        exec::sys::wait(SIGF_CTRL_E);
        exec::sys::rem_task(core::ptr::null_mut());
    }
    unreachable!()
}

/// Page-table changes over megabytes, as a gate call makes them (under Forbid, interrupts off,
/// no Disable held), let pending interrupts in every 2 MiB: the clock ticks on while they go
/// (until three ticks came, or 2 s passed).
fn long_page_table_work_lets_interrupts_in() -> TestResult {
    on_a_big_block("r3-big-holder", |s, start| s.set_access(start, start + BLOCK, Access::ReadWrite))
}

/// The checks of a long range a task alleges (a message of megabytes: its leaf entries read in runs)
/// let pending interrupts in as they go, as the copies do.
fn long_page_checks_let_interrupts_in() -> TestResult {
    let refused = core::sync::atomic::AtomicBool::new(false);
    on_a_big_block("r3-big-checked", |s, start| {
        if s.readable(start, BLOCK).is_none() || s.writable(start, BLOCK).is_none() {
            refused.store(true, core::sync::atomic::Ordering::Relaxed);
        }
    })?;
    ensure!(!refused.into_inner(), "the holder's own block was refused");
    Ok(())
}

/// Starts a ring-3 holder of a [`BLOCK`]-byte block, and repeats `work` on its space and block
/// under Forbid with interrupts off, until three ticks came (or 2 s passed: with interrupts
/// held off throughout, none would).
fn on_a_big_block(name: &str, work: impl Fn(&mut Space, u64)) -> TestResult {
    let (t, block) = hostile(name, 0, holder, Holder { parent: me3(), block: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the holder waits.
    let start = unsafe { (block as *const Holder).read() }.block;
    exec::sched::forbid();
    exec::arch::x86_64::cpu::disable_interrupts();
    let (t0, began) = (exec::time::ticks(), exec::time::uptime_ns());
    let mut runs = 0;
    // SAFETY: the holder is live and waits (Forbid held): its space is ours to change, and
    // its block stays open to it as it was.
    let space = unsafe { ((*t).space() as *mut Space).as_mut() };
    if let Some(s) = space
        && start != 0
    {
        while exec::time::ticks() - t0 < 3 && exec::time::uptime_ns() - began < 2_000_000_000 {
            work(s, start);
            runs += 1;
        }
    }
    let ticks = exec::time::ticks() - t0;
    exec::arch::x86_64::cpu::enable_interrupts();
    exec::sched::permit();
    // SAFETY: live, waiting.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone(name, 500), "the holder did not end");
    ensure!(start != 0 && runs > 0, "no block to work on");
    ensure!(ticks >= 3, "{ticks} ticks in {runs} runs over {BLOCK} bytes: interrupts were held off");
    Ok(())
}


/// A range's page-table work and checks, made a 2 MiB region at a time, are exact at every
/// edge: five pages made read-only across a region's boundary, and one page closed alone at
/// the block's end, change those pages and no others (the pages either side keep their
/// access); a check of a long range (read in runs) or a short one (a walk a page) fails for a
/// range that takes in one changed page anywhere, and passes for one that ends just before it
/// or starts just after; set back, the whole block checks again.
fn page_runs_set_and_checked_exactly() -> TestResult {
    holding("r3-pages-exact", |s, start| {
        let end = start + BLOCK;
        // The first region boundary at least 8 pages into the block (so at most 2 MiB + 8
        // pages in: at least 8 pages of the 4 MiB block lie above it).
        let b = (start + 8 * PAGE).div_ceil(HUGE) * HUGE;
        ensure!(b + 8 * PAGE <= end, "block {start:#x}: no boundary inside it");
        ensure!(s.writable(start, BLOCK).is_some() && s.readable(start, BLOCK).is_some(), "the block is not the holder's");
        let (lo, hi) = (b - 3 * PAGE, b + 2 * PAGE);
        s.set_access(lo, hi, Access::Read);
        for p in (lo - PAGE..hi + PAGE).step_by(PAGE as usize) {
            let want = if (lo..hi).contains(&p) { Access::Read } else { Access::ReadWrite };
            ensure_eq!(s.access_of(p), Some(want), "page {p:#x} (read-only from {lo:#x} to {hi:#x})");
        }
        ensure!(s.writable(start, BLOCK).is_none(), "a long check missed read-only pages");
        ensure!(s.readable(start, BLOCK).is_some(), "a long read check refused read-only pages");
        ensure!(s.writable(start, lo - start).is_some(), "the pages below the change were refused");
        ensure!(s.writable(hi, end - hi).is_some(), "the pages above the change were refused");
        ensure!(s.writable(start, lo - start + 1).is_none(), "a long check missed the first read-only page");
        ensure!(s.writable(hi - 1, end - hi + 1).is_none(), "a long check missed the last read-only page");
        ensure!(s.writable(lo - 1, 2).is_none() && s.writable(hi - 1, 2).is_none(), "a short check missed an edge");
        ensure!(s.readable(lo, hi - lo).is_some() && s.writable(lo, hi - lo).is_none());
        s.set_access(lo, hi, Access::ReadWrite);
        ensure!(s.writable(start, BLOCK).is_some(), "set back, the block was refused");
        // One page alone (its own short way), the block's last.
        s.set_access(end - PAGE, end, Access::Kernel);
        ensure_eq!(s.access_of(end - PAGE), Some(Access::Kernel));
        ensure_eq!(s.access_of(end - 2 * PAGE), Some(Access::ReadWrite));
        ensure!(s.readable(start, BLOCK).is_none() && s.writable(start, BLOCK).is_none(), "a long check missed the closed last page");
        ensure!(s.writable(start, BLOCK - PAGE).is_some(), "the pages below the closed one were refused");
        s.set_access(end - PAGE, end, Access::ReadWrite);
        ensure!(s.writable(start, BLOCK).is_some(), "set back, the block was refused");
        Ok(())
    })
}

/// A fresh block for a message's copy is not cleared where the copy goes (the caller writes
/// it at once: `Space::alloc_copy`), but the rest of its last page is: pages that held another
/// block's bytes show none of them past the message. (The pages are made dirty as a block of
/// the holder's, freed, and taken again for the copy.)
fn a_fresh_copy_block_shows_no_old_bytes() -> TestResult {
    holding("r3-fresh-copy", |s, _| {
        let len = 2 * PAGE + 100;
        let end = len.div_ceil(PAGE) * PAGE;
        let Some(old) = s.alloc(len) else { return Err("no memory".into()) };
        // SAFETY: the holder's block of `end` bytes, just made; the holder waits.
        unsafe { core::ptr::write_bytes(old as *mut u8, 0xa5, end as usize) };
        ensure!(s.free(old), "the block was not freed");
        let family = s.policy.family;
        let Some(copy) = s.alloc_copy(len, family) else { return Err("no memory for the copy".into()) };
        // SAFETY: the fresh copy block of `end` bytes (whole pages), open to the holder.
        let tail = unsafe { core::slice::from_raw_parts((copy + len) as *const u8, (end - len) as usize) };
        let dirty = tail.iter().filter(|&&b| b != 0).count();
        // The copy as its caller would write it, then retired as a reply does.
        // SAFETY: as above.
        unsafe { core::ptr::write_bytes(copy as *mut u8, 0, len as usize) };
        s.retire_copy(copy, len);
        ensure_eq!(copy, old, "the freed pages were not taken again: nothing shown");
        ensure_eq!(dirty, 0, "bytes of the old block past the message in the copy's last page");
        Ok(())
    })
}

/// A range's page work and checks at the edges the other tests do not reach: a check's
/// 1 MiB runs (a changed page the last of one run or the first of the next is found, and a
/// check that ends before it passes); a 2 MiB page no task had open (checked whole as one
/// entry: refused) split by a run's write, which opens exactly its pages (the others stay
/// closed, in that region and the next); and a page alone in a 2 MiB page not split yet.
fn page_runs_at_their_edges() -> TestResult {
    const RUN: u64 = 1 << 20; // space::access's CHECK_RUN
    let other = exec::memory::alloc_mem(3 * HUGE as usize, MemFlags::ANY) as u64;
    ensure!(other != 0, "no memory for a block the holder never had");
    let result = holding("r3-pages-edges", |s, start| {
        // The check's runs start at the range's first page, one every 1 MiB.
        for (changed, from) in [(start + RUN - PAGE, start), (start + RUN, start), (start + RUN + 100, start + 100)] {
            let changed = changed & !(PAGE - 1);
            s.set_access(changed, changed + PAGE, Access::Read);
            ensure!(s.writable(from, BLOCK - (from - start)).is_none(), "a read-only page at {:#x} in a check from {from:#x}", changed - start);
            ensure!(s.writable(from, changed - from).is_some(), "a check that ends before the read-only page at {:#x}", changed - start);
            ensure!(s.readable(from, BLOCK - (from - start)).is_some());
            s.set_access(changed, changed + PAGE, Access::ReadWrite);
        }
        ensure!(s.writable(start, BLOCK).is_some(), "set back, the block was refused");
        // Two whole 2 MiB pages of ring 0's block, never open to the holder: each one entry.
        let r = other.next_multiple_of(HUGE);
        ensure_eq!(s.access_of(r), Some(Access::Kernel));
        ensure!(s.readable(r, 8 * PAGE).is_none() && s.readable(r - PAGE, HUGE + 2 * PAGE).is_none(), "a 2 MiB page closed to the task passed a long check");
        ensure!(s.readable(r + 5 * PAGE, PAGE).is_none(), "a 2 MiB page closed to the task passed a short check");
        s.set_access(r + PAGE, r + 7 * PAGE, Access::ReadWrite);
        let q = r + HUGE + 9 * PAGE;
        // Ring 0's pages go back closed whatever the checks find (the block is freed after).
        let checked = (|| -> TestResult {
            for p in [r, r + 7 * PAGE, r + HUGE - PAGE, r + HUGE] {
                ensure_eq!(s.access_of(p), Some(Access::Kernel), "page {p:#x} of a split 2 MiB page at {r:#x}");
            }
            for p in (r + PAGE..r + 7 * PAGE).step_by(PAGE as usize) {
                ensure_eq!(s.access_of(p), Some(Access::ReadWrite), "page {p:#x} of a split 2 MiB page at {r:#x}");
            }
            ensure!(s.writable(r + PAGE, 6 * PAGE).is_some(), "the opened run was refused");
            ensure!(s.writable(r + PAGE, 7 * PAGE).is_none() && s.writable(r, 7 * PAGE).is_none(), "a check ran past the opened run");
            // The next 2 MiB page, split by a page alone.
            s.set_access(q, q + PAGE, Access::Read);
            ensure_eq!(s.access_of(q), Some(Access::Read));
            ensure_eq!(s.access_of(q - PAGE), Some(Access::Kernel));
            ensure_eq!(s.access_of(q + PAGE), Some(Access::Kernel));
            Ok(())
        })();
        s.set_access(r + PAGE, r + 7 * PAGE, Access::Kernel);
        s.set_access(q, q + PAGE, Access::Kernel);
        checked?;
        ensure!(s.readable(r, 2 * HUGE).is_none());
        Ok(())
    });
    // SAFETY: ring 0's block, closed to the holder again whatever the checks found (the
    // holder's own block is its own).
    unsafe { exec::memory::free_mem(other as *mut u8, 3 * HUGE as usize) };
    result
}

/// Global pages (CR4.PGE on where the CPU has it) are the kernel heap's whole 2 MiB pages
/// and nothing else, in the kernel's tables and in a task's alike; pages of exec memory
/// opened to a task and closed again (as a transfer does, a page alone or a range) never
/// become global, so no translation a CR3 load keeps can differ between spaces.
fn only_the_heaps_pages_are_global() -> TestResult {
    use exec::arch::x86_64::paging::{global_range, leaf_flags_of};
    use x86_64::registers::control::{Cr4, Cr4Flags};
    use x86_64::structures::paging::PageTableFlags as F;
    if !exec::arch::x86_64::cpu::features().pge {
        return exec::ktest::skip("the CPU has no global pages");
    }
    ensure!(Cr4::read().contains(Cr4Flags::PAGE_GLOBAL), "CR4.PGE is off");
    let (gs, ge) = global_range();
    let heap = exec::heap::stats();
    ensure!(gs < ge && gs >= heap.start && ge <= heap.start + heap.size, "global {gs:#x}..{ge:#x}, heap at {:#x} ({:#x} bytes)", heap.start, heap.size);
    ensure!(gs.is_multiple_of(HUGE) && ge.is_multiple_of(HUGE));
    // The kernel's tables (a ring-0 task runs on them).
    let nx = if exec::arch::x86_64::cpu::features().nx { F::NO_EXECUTE } else { F::empty() };
    for at in (0..4u64 << 30).step_by(HUGE as usize) {
        let flags = leaf_flags_of(at).unwrap_or(F::empty());
        ensure_eq!(flags.contains(F::GLOBAL), (gs..ge).contains(&at), "the kernel's page at {at:#x}");
        if flags.contains(F::GLOBAL) {
            // As every task's tables map it.
            ensure!(flags.contains(F::WRITABLE | nx) && !flags.contains(F::USER_ACCESSIBLE), "the kernel's global page at {at:#x}: {flags:?}");
        }
    }
    let regions = (ge - gs) / HUGE;
    holding("r3-global", |s, start| {
        ensure_eq!(s.global_pages(), (regions, 0), "a task's space");
        s.set_access(start, start + 3 * PAGE, Access::Kernel);
        s.set_access(start + 5 * PAGE, start + 6 * PAGE, Access::Kernel);
        ensure_eq!(s.access_of(start + 5 * PAGE), Some(Access::Kernel));
        ensure_eq!(s.global_pages(), (regions, 0), "exec memory closed to the task");
        s.set_access(start, start + 6 * PAGE, Access::ReadWrite);
        ensure_eq!(s.global_pages(), (regions, 0), "exec memory opened again");
        Ok(())
    })
}

/// Starts a ring-3 holder of a [`BLOCK`]-byte block and runs `work` once on its space and
/// block under Forbid (the holder waits meanwhile; `work` leaves the block as it found it).
fn holding(name: &str, work: impl FnOnce(&mut Space, u64) -> TestResult) -> TestResult {
    let (t, block) = hostile(name, 0, holder, Holder { parent: me3(), block: 0 })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: written before the signal; the holder waits.
    let start = unsafe { (block as *const Holder).read() }.block;
    exec::sched::forbid();
    // SAFETY: the holder is live and waits (Forbid held): its space is ours to look at and
    // change for the while.
    let space = unsafe { ((*t).space() as *mut Space).as_mut() };
    let result = match space {
        Some(s) if start != 0 => work(s, start),
        _ => Err("no block to work on".into()),
    };
    exec::sched::permit();
    // SAFETY: live, waiting.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone(name, 500), "the holder did not end");
    result
}

/// SMEP and SMAP are on wherever the CPU has them (the kernel runs on its own tables, where no
/// page is a user page); skipped on a CPU with neither (QEMU's default), where CR4 shows
/// nothing to check.
fn smep_smap_where_available() -> TestResult {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let f = exec::arch::x86_64::cpu::features();
    if !f.smep && !f.smap {
        return exec::ktest::skip("the CPU has neither SMEP nor SMAP");
    }
    let cr4 = Cr4::read();
    ensure_eq!(cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION), f.smep);
    ensure_eq!(cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION), f.smap);
    Ok(())
}

/// The kernel runs on its own tables (no page there is a user page).
fn kernel_on_its_own_tables() -> TestResult {
    ensure_eq!(exec::arch::x86_64::cpu::cr3(), exec::sched::kernel_cr3());
    Ok(())
}
