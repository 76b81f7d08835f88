//! Handles: how one party names another's objects (ring 3 the kernel's ports, a DOS client a
//! handler's locks and files) without ever holding its addresses. A handle is a slot index and the slot's generation, checked in O(1); a slot's
//! generation moves on whenever its object goes, so a stale handle to a reused slot is
//! refused. Pure logic, tested on the host.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// One slot: its generation, and the object while it lives.
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// A table of objects named by handles.
pub struct HandleTable<T> {
    slots: Vec<Slot<T>>,
    /// Slots whose object went, to be used again (with their next generation).
    free: Vec<u32>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> HandleTable<T> {
    pub const fn new() -> Self {
        HandleTable { slots: Vec::new(), free: Vec::new() }
    }

    fn split(handle: u64) -> (usize, u32) {
        ((handle & 0xffff_ffff) as usize, (handle >> 32) as u32)
    }

    /// The slot `handle` names, whatever its generation: the order in which a table's objects
    /// sit (for an index kept beside the table that lists them in that order).
    pub fn slot_of(handle: u64) -> usize {
        Self::split(handle).0
    }

    /// Makes room for `additional` more objects than the table holds, so that the next
    /// inserts allocate nothing (and removals neither: the free list has room too).
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.free.reserve(self.slots.len() + additional);
    }

    /// The first time it is called (the table has never held anything), makes room for `room`
    /// objects ([`HandleTable::reserve`]): a table of kernel records then leaves the kernel
    /// heap as it was while it stays within that room (past it, it grows and keeps its size).
    pub fn reserve_once(&mut self, room: usize) {
        if self.slots.capacity() == 0 {
            self.reserve(room);
        }
    }

    /// How many objects the table holds without growing.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Stores `value`; returns its handle (never 0: generations start at 1).
    pub fn insert(&mut self, value: T) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.slots.push(Slot { generation: 0, value: None });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        // Wraps after 2^31 reuses of one slot; a stale handle that old is not a concern.
        // (1 to 2^31 - 1, never 0: a compare, where a remainder by the constant costs a
        // multiply and shifts on every message's envelope.)
        slot.generation = if slot.generation >= 0x7fff_ffff { 1 } else { slot.generation + 1 };
        slot.value = Some(value);
        ((slot.generation as u64) << 32) | index as u64
    }

    /// The object `handle` names, if it is still there.
    pub fn get(&self, handle: u64) -> Option<&T> {
        let (i, g) = Self::split(handle);
        self.slots.get(i).filter(|s| s.generation == g).and_then(|s| s.value.as_ref())
    }

    /// [`HandleTable::get`], to change it.
    pub fn get_mut(&mut self, handle: u64) -> Option<&mut T> {
        let (i, g) = Self::split(handle);
        self.slots.get_mut(i).filter(|s| s.generation == g).and_then(|s| s.value.as_mut())
    }

    /// Takes the object `handle` names out of the table; the handle is stale from now on.
    pub fn remove(&mut self, handle: u64) -> Option<T> {
        let (i, g) = Self::split(handle);
        let slot = self.slots.get_mut(i).filter(|s| s.generation == g)?;
        let value = slot.value.take()?;
        self.free.push(i as u32);
        Some(value)
    }

    /// Every live object with its handle (for clean-up at a task's end: not a hot path).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.value.as_ref().map(|v| (((s.generation as u64) << 32) | i as u64, v)))
    }

    /// How many objects are live.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether no object is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut t = HandleTable::new();
        let a = t.insert("a");
        let b = t.insert("b");
        assert_ne!(a, 0);
        assert_ne!(a, b);
        assert_eq!(t.get(a), Some(&"a"));
        assert_eq!(t.remove(a), Some("a"));
        assert_eq!(t.get(a), None);
        assert_eq!(t.remove(a), None);
        assert_eq!(t.get(b), Some(&"b"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_stale_handle_to_a_reused_slot_is_refused() {
        let mut t = HandleTable::new();
        let a = t.insert(1);
        t.remove(a);
        let b = t.insert(2);
        assert_eq!(a & 0xffff_ffff, b & 0xffff_ffff, "the slot is reused");
        assert_eq!(t.get(a), None);
        assert_eq!(t.get_mut(a), None);
        assert_eq!(t.remove(a), None);
        assert_eq!(t.get(b), Some(&2));
    }

    #[test]
    fn reserved_room_is_used_without_growing() {
        let mut t = HandleTable::new();
        t.reserve(8);
        let cap = t.capacity();
        assert!(cap >= 8);
        for round in 0..3 {
            let hs: Vec<u64> = (0..8).map(|i| t.insert(round * 8 + i)).collect();
            for h in hs {
                t.remove(h);
            }
        }
        assert_eq!(t.capacity(), cap, "the slots did not grow");
        assert!(t.free.capacity() >= 8, "the free list had its room");
    }

    #[test]
    fn forged_handles_are_refused() {
        let mut t = HandleTable::new();
        let a = t.insert(7);
        for h in [0, 1, a + 1, a ^ (1 << 32), u64::MAX, u64::MAX - 1, a | (0x7fff_ffff << 32)] {
            assert_eq!(t.get(h), None, "{h:#x}");
        }
        assert_eq!(t.get(a), Some(&7));
    }

    #[test]
    fn iter_lists_the_live_ones_with_their_handles() {
        let mut t = HandleTable::new();
        let hs: Vec<u64> = (0..5).map(|i| t.insert(i)).collect();
        t.remove(hs[1]);
        t.remove(hs[3]);
        let live: Vec<(u64, i32)> = t.iter().map(|(h, &v)| (h, v)).collect();
        assert_eq!(live, vec![(hs[0], 0), (hs[2], 2), (hs[4], 4)]);
        assert!(!t.is_empty());
    }
}
