//! `Records`: the lists mmu-mode keeps in kernel memory about ring-3 tasks' objects.

use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

/// A list of mmu-mode's records, kept in a `Global`. The records hold pointers to exec's
/// objects (tasks, ports, libraries, shadow requests), which exec shares between tasks by
/// design; only the kernel touches the list, under the guard its declaration names.
pub(crate) struct Records<T>(Vec<T>);

// SAFETY: the records are the kernel's own and are touched only under Forbid or Disable on the
// one CPU; the exec objects they point at are shared between tasks by design.
unsafe impl<T> Send for Records<T> {}

impl<T> Records<T> {
    pub(crate) const fn new() -> Self {
        Records(Vec::new())
    }
}

impl<T> Deref for Records<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> DerefMut for Records<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}
