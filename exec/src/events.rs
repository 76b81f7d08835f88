//! Event counters: what an instruction count hides. Under QEMU TCG a CR3 load is one
//! instruction; on hardware without PCID it also empties the TLB (all but the kernel heap's
//! global entries, in the mmu build), and every later access pays for the walk. `make bench` prints each row's events per operation beside its instructions.
//!
//! Each counter is bumped where its event happens, with no lock (a single CPU; an increment is
//! one instruction, which an interrupt cannot split). The protection events (gate calls, CR3
//! loads, TLB flushes, page-table entries, bytes copied) happen only in the mmu build: the flat
//! build contains none of the code that counts them. Context switches are exec's own dispatch
//! count.

use core::sync::atomic::{AtomicU64, Ordering};

/// Gate calls (ring 3 into the kernel through `syscall`).
pub static GATE_CALLS: AtomicU64 = AtomicU64::new(0);
/// Loads of CR3 (the syscall and trap entries and exits, the first entry into ring 3, and
/// the kernel's own loads).
pub static CR3_LOADS: AtomicU64 = AtomicU64::new(0);
/// TLB entries flushed one by one (`invlpg`).
pub static TLB_FLUSHES: AtomicU64 = AtomicU64::new(0);
/// Page-table entries written (a page mapped, unmapped, or its access changed).
pub static PTE_WRITES: AtomicU64 = AtomicU64::new(0);
/// Bytes the kernel copied between address spaces (message bodies there and back).
pub static BYTES_COPIED: AtomicU64 = AtomicU64::new(0);

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events {
    pub switches: u64,
    pub gate_calls: u64,
    pub cr3_loads: u64,
    pub tlb_flushes: u64,
    pub pte_writes: u64,
    pub bytes_copied: u64,
}

impl Events {
    /// The counters now.
    pub fn now() -> Events {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Events {
            switches: crate::execbase::counters().disp_count,
            gate_calls: load(&GATE_CALLS),
            cr3_loads: load(&CR3_LOADS),
            tlb_flushes: load(&TLB_FLUSHES),
            pte_writes: load(&PTE_WRITES),
            bytes_copied: load(&BYTES_COPIED),
        }
    }

    /// What happened from `earlier` to `self`.
    pub fn since(self, earlier: Events) -> Events {
        Events {
            switches: self.switches - earlier.switches,
            gate_calls: self.gate_calls - earlier.gate_calls,
            cr3_loads: self.cr3_loads - earlier.cr3_loads,
            tlb_flushes: self.tlb_flushes - earlier.tlb_flushes,
            pte_writes: self.pte_writes - earlier.pte_writes,
            bytes_copied: self.bytes_copied - earlier.bytes_copied,
        }
    }
}

/// Counts `n` of event `counter`.
#[inline(always)]
pub fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}
