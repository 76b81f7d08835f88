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

// SAFETY: the queue points at requests that move between tasks by design (a task's request is
// completed by the tick); whoever holds the queue guards it (timer.device: Disable), so the
// links are never touched from two places at once.
unsafe impl Send for DeadlineQueue {}

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
mod tests {
    use super::*;

    /// A request: its entry first, so an entry's address is its request's.
    #[repr(C)]
    struct Req {
        entry: Entry,
        id: usize,
    }

    /// A queue and requests numbered from 0. The requests stay live and in place until the
    /// fixture is dropped, and are reached only through raw pointers, so that no borrow of one
    /// invalidates the queue's pointers to the others.
    struct Fixture {
        reqs: *mut Req,
        n: usize,
        q: DeadlineQueue,
    }

    impl Fixture {
        fn new(n: usize) -> Self {
            let reqs: Box<[Req]> = (0..n).map(|id| Req { entry: Entry::new(), id }).collect();
            Fixture { reqs: Box::into_raw(reqs) as *mut Req, n, q: DeadlineQueue::new() }
        }

        fn entry(&self, i: usize) -> *mut Entry {
            assert!(i < self.n);
            self.reqs.wrapping_add(i) as *mut Entry
        }

        /// Queues request `i`; the tests do so only when it is not queued.
        fn insert(&mut self, i: usize, deadline: u64) {
            // SAFETY: live and in place (the fixture's); not queued (the tests).
            unsafe { self.q.insert(self.entry(i), deadline) }
        }

        fn remove(&mut self, i: usize) -> bool {
            // SAFETY: live (the fixture's); queued, if at all, here.
            unsafe { self.q.remove(self.entry(i)) }
        }

        /// Pops every entry due at `now`, as ids.
        fn drain(&mut self, now: u64) -> Vec<usize> {
            // SAFETY: every queued entry is the first field of a live Req.
            core::iter::from_fn(|| self.q.pop_due(now)).map(|e| unsafe { (*(e as *mut Req)).id }).collect()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            self.q = DeadlineQueue::new();
            // SAFETY: the fixture's requests, which the emptied queue no longer points into.
            drop(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(self.reqs, self.n)) });
        }
    }

    #[test]
    fn sorted_by_deadline_fifo_among_equals() {
        let deadlines = [50u64, 10, 50, 30, 10, 90, 0, 50];
        let mut f = Fixture::new(deadlines.len());
        for (i, &d) in deadlines.iter().enumerate() {
            f.insert(i, d);
        }
        assert_eq!(f.q.len(), 8);
        assert_eq!(f.drain(9), vec![6], "only what is due by 9");
        assert_eq!(f.drain(10), vec![1, 4], "due at their deadline, not after");
        assert_eq!(f.drain(49), vec![3]);
        assert_eq!(f.q.len(), 4);
        assert_eq!(f.drain(u64::MAX), vec![0, 2, 7, 5]);
        assert!(f.q.is_empty());
    }

    #[test]
    fn removal_from_the_middle() {
        let deadlines = [10u64, 20, 20, 20, 30, 40];
        let mut f = Fixture::new(deadlines.len());
        for (i, &d) in deadlines.iter().enumerate() {
            f.insert(i, d);
        }
        assert!(f.remove(2), "the middle one of three equal deadlines");
        assert!(f.remove(4));
        assert!(!f.remove(4), "removed twice");
        assert_eq!(f.q.len(), 4);
        assert_eq!(f.drain(20), vec![0, 1, 3]);
        assert!(!f.remove(0), "popped, so no longer queued");
        // A removed entry can be queued again; it goes behind its equals.
        f.insert(2, 40);
        assert_eq!(f.drain(u64::MAX), vec![5, 2]);
        assert!(f.q.is_empty());
    }

    #[test]
    fn many_equal_deadlines_stay_in_arrival_order() {
        const N: usize = 3000;
        let mut f = Fixture::new(N);
        // Three deadlines, interleaved, so equals arrive between others.
        for i in 0..N {
            f.insert(i, [300, 100, 200][i % 3]);
        }
        // Abort every fourth one.
        for i in (0..N).step_by(4) {
            assert!(f.remove(i));
        }
        assert_eq!(f.q.len(), N - N.div_ceil(4));
        let expect = |k: usize| (0..N).filter(move |i| i % 3 == k && i % 4 != 0);
        let want: Vec<usize> = expect(1).chain(expect(2)).chain(expect(0)).collect();
        assert_eq!(f.drain(u64::MAX), want);
    }

    #[test]
    fn remove_ignores_an_entry_that_only_looks_queued() {
        let mut f = Fixture::new(3);
        f.insert(0, 7);
        f.insert(1, 7);
        // Same key and links as a queued entry, but not it.
        // SAFETY: distinct live entries; any bytes are a valid Entry.
        unsafe { core::ptr::copy_nonoverlapping(f.entry(0), f.entry(2), 1) };
        assert!(!f.remove(2));
        // Bytes that look linked.
        // SAFETY: as above.
        unsafe { core::ptr::write_bytes(f.entry(2) as *mut u8, 0xa5, size_of::<Entry>()) };
        assert!(!f.remove(2));
        assert_eq!(f.q.len(), 2);
        assert_eq!(f.drain(u64::MAX), vec![0, 1]);
    }

    #[test]
    fn insert_ignores_what_the_entry_held() {
        let mut f = Fixture::new(2);
        // A stale copy of a queued request looks linked; queuing it starts afresh.
        // SAFETY: a live entry, not queued; any bytes are a valid Entry.
        unsafe { core::ptr::write_bytes(f.entry(0) as *mut u8, 0xa5, size_of::<Entry>()) };
        f.insert(0, 5);
        f.insert(1, 1);
        assert_eq!(f.drain(u64::MAX), vec![1, 0]);
    }
}
