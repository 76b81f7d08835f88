//! A task's address space: the same identity map as the kernel's, but every page closed to
//! ring 3 except the image's code (read-execute), its constants (read-only) and the task's own
//! user stack (read-write). 2 MiB pages where nothing is open to the task, 4 KiB tables where
//! something is.

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::arch::x86_64::{cpu, text_and_rodata};
use exec::memory::{MemFlags, alloc_mem, free_mem};

use crate::pte::{Access, Pte, PteFlags, TABLE_FLAGS, leaf_flags};

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;
/// The boot tables map the first 4 GiB; so does every task's space.
const MAPPED: u64 = 4 << 30;

#[repr(C, align(4096))]
struct Table([u64; 512]);

fn table() -> Box<Table> {
    Box::new(Table([0; 512]))
}

/// A task's page tables and its user stack.
pub struct Space {
    pml4: Box<Table>,
    pdpt: Box<Table>,
    pds: Vec<Box<Table>>,
    pts: Vec<Box<Table>>,
    stack: *mut u8,
    stack_alloc: usize,
    /// `[bottom, top)` of the user stack.
    pub stack_range: (u64, u64),
}

impl Space {
    /// The value for CR3 (tables are identity-mapped: their address is their physical one).
    pub fn cr3(&self) -> u64 {
        &*self.pml4 as *const Table as u64
    }

    /// Builds a space with a user stack of `stack_size` bytes (page-aligned, from exec
    /// memory). `None` without memory.
    pub fn new(stack_size: usize) -> Option<Box<Space>> {
        let size = (stack_size as u64).div_ceil(PAGE) * PAGE;
        let alloc = size as usize + PAGE as usize;
        let stack = alloc_mem(alloc, MemFlags::PUBLIC | MemFlags::CLEAR);
        if stack.is_null() {
            return None;
        }
        let bottom = (stack as u64).div_ceil(PAGE) * PAGE;
        let mut s = Box::new(Space {
            pml4: table(),
            pdpt: table(),
            pds: (0..4).map(|_| table()).collect(),
            pts: Vec::new(),
            stack,
            stack_alloc: alloc,
            stack_range: (bottom, bottom + size),
        });
        s.fill();
        Some(s)
    }

    fn access(&self, page: u64, text: (u64, u64), rodata: (u64, u64)) -> Access {
        if (text.0..text.1).contains(&page) {
            Access::ReadExecute
        } else if (rodata.0..rodata.1).contains(&page) {
            Access::Read
        } else if (self.stack_range.0..self.stack_range.1).contains(&page) {
            Access::ReadWrite
        } else {
            Access::Kernel
        }
    }

    fn fill(&mut self) {
        let nx = cpu::features().nx;
        let strip = |f: PteFlags| if nx { f } else { f - PteFlags::NO_EXECUTE };
        let (text, rodata) = text_and_rodata();
        let open = [text, rodata, self.stack_range];
        self.pml4.0[0] = Pte::new(&*self.pdpt as *const Table as u64, PAGE, TABLE_FLAGS).map_or(0, |e| e.0);
        for (i, pd) in self.pds.iter().enumerate() {
            self.pdpt.0[i] = Pte::new(&**pd as *const Table as u64, PAGE, TABLE_FLAGS).map_or(0, |e| e.0);
        }
        for region in 0..(MAPPED / HUGE) {
            let base = region * HUGE;
            let touches = open.iter().any(|&(s, e)| s < base + HUGE && e > base);
            let entry = if touches {
                let mut pt = table();
                for (i, slot) in pt.0.iter_mut().enumerate() {
                    let page = base + i as u64 * PAGE;
                    *slot = Pte::new(page, PAGE, strip(leaf_flags(self.access(page, text, rodata)))).map_or(0, |e| e.0);
                }
                let addr = &*pt as *const Table as u64;
                self.pts.push(pt);
                Pte::new(addr, PAGE, TABLE_FLAGS)
            } else {
                // Kernel code lives in the image's region only: everything else is no-execute.
                Pte::new(base, HUGE, strip(leaf_flags(Access::Kernel)) | PteFlags::HUGE)
            };
            self.pds[(region / 512) as usize].0[(region % 512) as usize] = entry.map_or(0, |e| e.0);
        }
    }
}

impl Drop for Space {
    fn drop(&mut self) {
        // SAFETY: the stack block came from alloc_mem with this size; the task using it ended.
        unsafe { free_mem(self.stack, self.stack_alloc) };
    }
}
