//! `Global`: how exec and its architecture layer keep state in statics.
//!
//! This module sits below both `arch` and the rest of exec: it depends on nothing in the
//! crate. A `Global` is guarded by Exec's own discipline (Forbid or Disable) rather than by a
//! lock, because there is one CPU and Exec's discipline already serialises every access: its
//! declaration says which guard. The lock order is written once, where ExecBase is declared
//! (`crate::execbase`): Disable covers Forbid.

use core::cell::UnsafeCell;

/// A global whose guard is Exec's discipline (Forbid or Disable) rather than a lock; the
/// declaration of each one says which.
///
/// It hands out only a raw pointer: turning that into a reference is the user's `unsafe`,
/// taken under the guard and for no longer than the guard is held, so that no two references
/// from one `Global` overlap.
// Transparent: the assembly fast path addresses ExecBase's fields from the static's symbol.
#[repr(transparent)]
pub struct Global<T>(UnsafeCell<T>);

// SAFETY: a Global is a mutex whose lock is Exec's discipline: Lorraine runs exec on one CPU,
// every access happens under the Forbid or Disable the declaration names, so accesses never
// overlap; and as with a mutex, the value moves between tasks and interrupts, hence `T: Send`.
unsafe impl<T: Send> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new(v: T) -> Self {
        Global(UnsafeCell::new(v))
    }

    /// The raw pointer; dereference only under the guard the declaration names.
    pub const fn get(&self) -> *mut T {
        self.0.get()
    }
}
