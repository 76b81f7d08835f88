//! The timer queue: pending requests ordered by deadline, equal deadlines in arrival order.
//!
//! An intrusive red-black tree keyed by (deadline, arrival number), so the order is total:
//! insert and remove are O(log n), the next request due is the tree's front, and nothing is
//! allocated (the tick pops from an interrupt). The tree links [`Entry`]s that live inside the
//! requests (timer.rs's `TimeRequest` says why there) and owns none of them, hence `UnsafeRef`.

use intrusive_collections::{KeyAdapter, RBTree, RBTreeLink, UnsafeRef, intrusive_adapter};

/// A request's place in the queue: kernel-private, embedded in the request.
pub struct Entry {
    link: RBTreeLink,
    deadline: u64,
    /// Arrival number: equal deadlines complete first come, first served.
    seq: u64,
}

impl Entry {
    pub const fn new() -> Self {
        Entry { link: RBTreeLink::new(), deadline: 0, seq: 0 }
    }

    /// When the entry is (or was last) due.
    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// The queue's order: by deadline, equal deadlines by arrival. Unique while queued.
    fn key(&self) -> (u64, u64) {
        (self.deadline, self.seq)
    }
}

impl Default for Entry {
    fn default() -> Self {
        Self::new()
    }
}

intrusive_adapter!(ByDeadline = UnsafeRef<Entry>: Entry { link => RBTreeLink });

impl<'a> KeyAdapter<'a> for ByDeadline {
    type Key = (u64, u64);
    fn get_key(&self, e: &'a Entry) -> (u64, u64) {
        e.key()
    }
}

/// Entries waiting for their deadline.
pub struct DeadlineQueue {
    tree: RBTree<ByDeadline>,
    /// Entries in the tree (it keeps no count of its own).
    len: usize,
    next_seq: u64,
}

impl DeadlineQueue {
    pub const fn new() -> Self {
        DeadlineQueue { tree: RBTree::new(ByDeadline::NEW), len: 0, next_seq: 0 }
    }

    /// Queues `e` to fall due at `deadline`, after every entry due at or before then.
    ///
    /// The entry is rewritten whole first, whatever its bytes held (see `remove`).
    ///
    /// # Safety
    /// `e` is valid for writes, not queued, and stays live and in place until it leaves the
    /// queue (popped or removed).
    pub unsafe fn insert(&mut self, e: *mut Entry, deadline: u64) {
        // SAFETY: valid and not in any tree (caller), so no link to it is lost.
        unsafe { e.write(Entry { link: RBTreeLink::new(), deadline, seq: self.next_seq }) };
        self.next_seq += 1;
        // SAFETY: live and in place while queued (caller).
        self.tree.insert(unsafe { UnsafeRef::from_raw(e) });
        self.len += 1;
    }

    /// Takes `e` out of the queue, in O(log n). False if it was not queued.
    ///
    /// The entry is looked up by its key rather than trusted from its link: one that is not
    /// queued may hold any bytes (a stale copy of a queued one, or in mmu-mode a ring-3 task's
    /// request copied over the shadow, which a task's end may abort before it is started).
    ///
    /// # Safety
    /// `e` is valid for reads; if it is queued, it is queued here.
    pub unsafe fn remove(&mut self, e: *mut Entry) -> bool {
        // SAFETY: valid for reads (caller); an Entry is pointers and integers, so any bytes are valid.
        let key = unsafe { (*e).key() };
        // Keys are unique, so a queued entry is the one found under its key.
        let mut at = self.tree.find_mut(&key);
        if at.get().is_none_or(|found| !core::ptr::eq(found, e)) {
            return false;
        }
        at.remove();
        self.len -= 1;
        true
    }

    /// Takes the first entry if it is due at `now` (every entry is due at `u64::MAX`).
    pub fn pop_due(&mut self, now: u64) -> Option<*mut Entry> {
        let mut front = self.tree.front_mut();
        if front.get()?.deadline > now {
            return None;
        }
        let e = front.remove()?;
        self.len -= 1;
        Some(UnsafeRef::into_raw(e))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for DeadlineQueue {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
// SAFETY (every unsafe block in these tests): entries live in boxes that outlive the queue and
// are queued once at a time.
mod tests {
    use super::*;

    #[repr(C)]
    struct Req {
        entry: Entry,
        id: usize,
    }

    fn reqs(n: usize) -> Vec<Box<Req>> {
        (0..n).map(|id| Box::new(Req { entry: Entry::new(), id })).collect()
    }

    fn entry(r: &mut Req) -> *mut Entry {
        &mut r.entry
    }

    /// Pops every entry due at `now`, as ids.
    fn drain(q: &mut DeadlineQueue, now: u64) -> Vec<usize> {
        core::iter::from_fn(|| q.pop_due(now)).map(|e| unsafe { (*(e as *mut Req)).id }).collect()
    }

    #[test]
    fn sorted_by_deadline_fifo_among_equals() {
        let deadlines = [50u64, 10, 50, 30, 10, 90, 0, 50];
        let mut rs = reqs(deadlines.len());
        let mut q = DeadlineQueue::new();
        for (r, &d) in rs.iter_mut().zip(&deadlines) {
            unsafe { q.insert(entry(r), d) };
        }
        assert_eq!(q.len(), 8);
        assert_eq!(drain(&mut q, 9), vec![6], "only what is due by 9");
        assert_eq!(drain(&mut q, 10), vec![1, 4], "due at their deadline, not after");
        assert_eq!(drain(&mut q, 49), vec![3]);
        assert_eq!(q.len(), 4);
        assert_eq!(drain(&mut q, u64::MAX), vec![0, 2, 7, 5]);
        assert!(q.is_empty());
    }

    #[test]
    fn removal_from_the_middle() {
        let deadlines = [10u64, 20, 20, 20, 30, 40];
        let mut rs = reqs(deadlines.len());
        let mut q = DeadlineQueue::new();
        for (r, &d) in rs.iter_mut().zip(&deadlines) {
            unsafe { q.insert(entry(r), d) };
        }
        unsafe {
            assert!(q.remove(entry(&mut rs[2])), "the middle one of three equal deadlines");
            assert!(q.remove(entry(&mut rs[4])));
            assert!(!q.remove(entry(&mut rs[4])), "removed twice");
        }
        assert_eq!(q.len(), 4);
        assert_eq!(drain(&mut q, 20), vec![0, 1, 3]);
        unsafe {
            assert!(!q.remove(entry(&mut rs[0])), "popped, so no longer queued");
            // A removed entry can be queued again; it goes behind its equals.
            q.insert(entry(&mut rs[2]), 40);
        }
        assert_eq!(drain(&mut q, u64::MAX), vec![5, 2]);
        assert!(q.is_empty());
    }

    #[test]
    fn many_equal_deadlines_stay_in_arrival_order() {
        const N: usize = 3000;
        let mut rs = reqs(N);
        let mut q = DeadlineQueue::new();
        // Three deadlines, interleaved, so equals arrive between others.
        for (i, r) in rs.iter_mut().enumerate() {
            unsafe { q.insert(entry(r), [300, 100, 200][i % 3]) };
        }
        // Abort every fourth one.
        for r in rs.iter_mut().step_by(4) {
            assert!(unsafe { q.remove(entry(r)) });
        }
        assert_eq!(q.len(), N - N.div_ceil(4));
        let expect = |k: usize| (0..N).filter(move |i| i % 3 == k && i % 4 != 0);
        let order = drain(&mut q, u64::MAX);
        let want: Vec<usize> = expect(1).chain(expect(2)).chain(expect(0)).collect();
        assert_eq!(order, want);
    }

    #[test]
    fn remove_ignores_an_entry_that_only_looks_queued() {
        let mut rs = reqs(3);
        let mut q = DeadlineQueue::new();
        unsafe {
            q.insert(entry(&mut rs[0]), 7);
            q.insert(entry(&mut rs[1]), 7);
            // Same key and links as a queued entry, but not it; then bytes that look linked.
            core::ptr::copy_nonoverlapping(entry(&mut rs[0]), entry(&mut rs[2]), 1);
            assert!(!q.remove(entry(&mut rs[2])));
            core::ptr::write_bytes(entry(&mut rs[2]) as *mut u8, 0xa5, size_of::<Entry>());
            assert!(!q.remove(entry(&mut rs[2])));
        }
        assert_eq!(q.len(), 2);
        assert_eq!(drain(&mut q, u64::MAX), vec![0, 1]);
    }

    #[test]
    fn insert_ignores_what_the_entry_held() {
        let mut rs = reqs(2);
        let mut q = DeadlineQueue::new();
        // A stale copy of a queued request looks linked; queuing it starts afresh.
        unsafe {
            core::ptr::write_bytes(entry(&mut rs[0]) as *mut u8, 0xa5, size_of::<Entry>());
            q.insert(entry(&mut rs[0]), 5);
            q.insert(entry(&mut rs[1]), 1);
        }
        assert_eq!(drain(&mut q, u64::MAX), vec![1, 0]);
    }
}
