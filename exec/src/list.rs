//! Exec lists: intrusive, doubly linked lists of [`Node`]s, as on the Amiga.
//!
//! A node lives inside the object it links (a task, a message, a port), so putting an object
//! on a list allocates nothing, and an object can move from list to list by pointer. The list
//! holds head and tail pointers and the end nodes hold null, so an empty or non-empty `List`
//! may be moved freely (nodes never point back at the list).
//!
//! Every operation that takes a node pointer is `unsafe`: the caller promises the node is live,
//! and is on this list (for `remove`, `insert` after it) or on no list (for the adds). The list
//! itself is not locked: the owner says what guards it (Forbid or Disable in exec).

use core::ptr::null_mut;

/// What kind of object a node belongs to (Exec's `ln_Type`). For messages the kind also
/// records where the message is in its life, which is how a double reply is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NodeType {
    Unknown = 0,
    Task = 1,
    Interrupt = 2,
    Device = 3,
    MsgPort = 4,
    /// A message that was put and not yet replied.
    Message = 5,
    /// A message that was never sent, or whose life ended without a reply port.
    FreeMsg = 6,
    /// A message that has been replied.
    ReplyMsg = 7,
    Resource = 8,
    Library = 9,
    Memory = 10,
    SoftInt = 11,
    Semaphore = 15,
    Resident = 16,
}

/// A list node: links, kind, priority and name (Exec's `struct Node`).
#[repr(C)]
#[derive(Debug)]
pub struct Node {
    pub succ: *mut Node,
    pub pred: *mut Node,
    pub kind: NodeType,
    pub pri: i8,
    name: *const u8,
    name_len: usize,
}

impl Node {
    /// A node linked nowhere, with no name.
    pub const fn new(kind: NodeType, pri: i8) -> Self {
        Node { succ: null_mut(), pred: null_mut(), kind, pri, name: core::ptr::null(), name_len: 0 }
    }

    /// A node with a name.
    pub const fn named(kind: NodeType, pri: i8, name: &'static str) -> Self {
        Node { succ: null_mut(), pred: null_mut(), kind, pri, name: name.as_ptr(), name_len: name.len() }
    }

    /// Gives the node a name.
    ///
    /// # Safety
    /// `name` must outlive every use of this node's name (the owner of the node keeps it).
    pub unsafe fn set_name(&mut self, name: &str) {
        self.name = name.as_ptr();
        self.name_len = name.len();
    }

    /// Where in a node its name's address and its name's length lie (two words, any bits
    /// valid): for mmu-mode, which reads a ring-3 task's node through its checked door.
    pub const NAME_AT: usize = core::mem::offset_of!(Node, name);
    pub const NAME_LEN_AT: usize = core::mem::offset_of!(Node, name_len);

    /// The node's name ("" if none).
    pub fn name(&self) -> &str {
        if self.name.is_null() {
            return "";
        }
        // SAFETY: `named`/`set_name` stored a valid str whose owner outlives the node.
        unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.name, self.name_len)) }
    }
}

/// A list of nodes (Exec's `struct List`).
#[repr(C)]
#[derive(Debug)]
pub struct List {
    head: *mut Node,
    tail: *mut Node,
    /// The kind of node this list holds (informational, as `lh_Type`).
    pub kind: NodeType,
}

/// Where a List's first node pointer lies in it (the assembly fast path tests it for empty).
pub const LIST_HEAD: usize = core::mem::offset_of!(List, head);

// SAFETY: a List is plain pointers; whoever shares one guards it (Forbid/Disable in exec).
unsafe impl Send for List {}

// SAFETY: as List's: Exec's nodes move between tasks by design (a message is put by one task
// and got by another); whoever links or reads one holds the guard of its list.
unsafe impl Send for Node {}

impl List {
    /// An empty list.
    pub const fn new(kind: NodeType) -> Self {
        List { head: null_mut(), tail: null_mut(), kind }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// The first node, or null.
    pub fn head(&self) -> *mut Node {
        self.head
    }

    /// The last node, or null.
    pub fn tail(&self) -> *mut Node {
        self.tail
    }

    /// Adds `n` at the front.
    ///
    /// # Safety
    /// `n` is live and on no list.
    pub unsafe fn add_head(&mut self, n: *mut Node) {
        // SAFETY: `n` is live and unlinked (caller); `head` is live if non-null (list invariant).
        unsafe {
            (*n).pred = null_mut();
            (*n).succ = self.head;
            match self.head.as_mut() {
                Some(h) => h.pred = n,
                None => self.tail = n,
            }
        }
        self.head = n;
    }

    /// Adds `n` at the end.
    ///
    /// # Safety
    /// `n` is live and on no list.
    pub unsafe fn add_tail(&mut self, n: *mut Node) {
        // SAFETY: as in `add_head`.
        unsafe {
            (*n).succ = null_mut();
            (*n).pred = self.tail;
            match self.tail.as_mut() {
                Some(t) => t.succ = n,
                None => self.head = n,
            }
        }
        self.tail = n;
    }

    /// Unlinks `n`. Its own links are left as they were (as Exec's Remove leaves them):
    /// nothing reads a node's links once it is off its list, and the hot paths (the ready list,
    /// get_msg) skip two stores.
    ///
    /// # Safety
    /// `n` is live and on this list.
    pub unsafe fn remove(&mut self, n: *mut Node) {
        // SAFETY: `n` and its neighbours are live members of this list (caller).
        unsafe {
            let (pred, succ) = ((*n).pred, (*n).succ);
            match pred.as_mut() {
                Some(p) => p.succ = succ,
                None => self.head = succ,
            }
            match succ.as_mut() {
                Some(s) => s.pred = pred,
                None => self.tail = pred,
            }
        }
    }

    /// The first node of `list`, read in one volatile load: for a task that polls a list an
    /// interrupt may change between two reads.
    ///
    /// # Safety
    /// `list` points to a live list.
    #[inline]
    pub unsafe fn head_volatile(list: *const List) -> *mut Node {
        // SAFETY: per the contract; one aligned pointer load.
        unsafe { core::ptr::read_volatile(&raw const (*list).head) }
    }

    /// Unlinks and returns the first node, or null.
    pub fn rem_head(&mut self) -> *mut Node {
        let n = self.head;
        // SAFETY: the head and its successor are live members of this list; the head has no
        // predecessor, so only its successor's link and the list's ends change.
        unsafe {
            if let Some(head) = n.as_ref() {
                self.head = head.succ;
                match head.succ.as_mut() {
                    Some(s) => s.pred = null_mut(),
                    None => self.tail = null_mut(),
                }
            }
        }
        n
    }

    /// Unlinks and returns the last node, or null.
    pub fn rem_tail(&mut self) -> *mut Node {
        let n = self.tail;
        if !n.is_null() {
            // SAFETY: the tail is a live member of this list.
            unsafe { self.remove(n) };
        }
        n
    }

    /// Inserts `n` after `pred` (at the front if `pred` is null).
    ///
    /// # Safety
    /// `n` is live and on no list; `pred` is null or a live member of this list.
    pub unsafe fn insert(&mut self, n: *mut Node, pred: *mut Node) {
        // SAFETY: per the caller's contract.
        unsafe {
            let Some(p) = pred.as_mut() else { return self.add_head(n) };
            if p.succ.is_null() {
                return self.add_tail(n);
            }
            (*n).pred = pred;
            (*n).succ = p.succ;
            (*p.succ).pred = n;
            p.succ = n;
        }
    }

    /// Inserts `n` by priority: before the first node of lower priority, so after every node
    /// of equal priority (FIFO among equals).
    ///
    /// # Safety
    /// `n` is live and on no list.
    pub unsafe fn enqueue(&mut self, n: *mut Node) {
        // SAFETY: members are live (list invariant); `n` per the caller.
        unsafe {
            let pri = (*n).pri;
            let mut at = self.tail;
            while let Some(node) = at.as_ref() {
                if node.pri >= pri {
                    break;
                }
                at = node.pred;
            }
            self.insert(n, at);
        }
    }

    /// [`enqueue`](Self::enqueue) walking from the head: the same order, for lists whose
    /// low-priority end is the long one (the ready list, with the idle task last), so that
    /// the walk passes only nodes that rank with or above `n`.
    ///
    /// # Safety
    /// `n` is live and on no list.
    #[inline]
    pub unsafe fn enqueue_from_head(&mut self, n: *mut Node) {
        // SAFETY: members are live (list invariant); `n` per the caller.
        unsafe {
            let pri = (*n).pri;
            let mut pred = null_mut();
            let mut at = self.head;
            while let Some(node) = at.as_ref() {
                if node.pri < pri {
                    break;
                }
                pred = at;
                at = node.succ;
            }
            self.insert(n, pred);
        }
    }

    /// The first node named `name` after `start` (from the head if `start` is null), or null.
    ///
    /// # Safety
    /// `start` is null or a live member of this list.
    pub unsafe fn find_name_from(&self, start: *mut Node, name: &str) -> *mut Node {
        // SAFETY: members are live (list invariant); `start` per the caller.
        let mut at = if start.is_null() { self.head } else { unsafe { (*start).succ } };
        // SAFETY: as above.
        while let Some(n) = unsafe { at.as_ref() } {
            if n.name() == name {
                return at;
            }
            at = n.succ;
        }
        null_mut()
    }

    /// The first node named `name`, or null.
    pub fn find_name(&self, name: &str) -> *mut Node {
        // SAFETY: a null start is always valid.
        unsafe { self.find_name_from(null_mut(), name) }
    }

    /// The nodes, head to tail. The list must not change while iterating.
    pub fn iter(&self) -> impl Iterator<Item = *mut Node> + '_ {
        let mut at = self.head;
        core::iter::from_fn(move || {
            let n = at;
            // SAFETY: members are live (list invariant).
            at = unsafe { n.as_ref() }?.succ;
            Some(n)
        })
    }

    /// Number of nodes (walks the list).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether `n` is on this list (walks the list).
    pub fn contains(&self, n: *const Node) -> bool {
        self.iter().any(|m| core::ptr::eq(m, n))
    }
}

#[cfg(test)]
#[allow(clippy::undocumented_unsafe_blocks, reason = "every unsafe block in these tests: nodes live in boxes or on the test frame, outlive the list, and are linked at most once each.")]
mod tests {
    use super::*;

    #[allow(clippy::vec_box, reason = "each node stays at one address while lists link it, whatever the Vec does")]
    fn nodes(pris: &[i8]) -> Vec<Box<Node>> {
        pris.iter().map(|&p| Box::new(Node::new(NodeType::Unknown, p))).collect()
    }
    fn ptr(n: &mut Box<Node>) -> *mut Node {
        &mut **n
    }
    fn order(l: &List, all: &[Box<Node>]) -> Vec<usize> {
        l.iter().map(|p| all.iter().position(|n| core::ptr::eq(&**n, p)).unwrap()).collect()
    }

    #[test]
    fn add_and_remove_at_both_ends() {
        let mut v = nodes(&[0, 0, 0]);
        let mut l = List::new(NodeType::Unknown);
        unsafe {
            l.add_tail(ptr(&mut v[0]));
            l.add_tail(ptr(&mut v[1]));
            l.add_head(ptr(&mut v[2]));
        }
        assert_eq!(order(&l, &v), vec![2, 0, 1]);
        assert_eq!(l.rem_tail(), ptr(&mut v[1]));
        assert_eq!(l.rem_head(), ptr(&mut v[2]));
        assert_eq!(l.rem_head(), ptr(&mut v[0]));
        assert!(l.is_empty());
        assert!(l.rem_head().is_null() && l.rem_tail().is_null());
        assert!(l.tail().is_null());
    }

    #[test]
    fn remove_from_the_middle_and_ends() {
        let mut v = nodes(&[0, 0, 0, 0]);
        let mut l = List::new(NodeType::Unknown);
        for n in v.iter_mut() {
            unsafe { l.add_tail(ptr(n)) };
        }
        unsafe { l.remove(ptr(&mut v[1])) };
        assert_eq!(order(&l, &v), vec![0, 2, 3]);
        unsafe { l.remove(ptr(&mut v[0])) };
        unsafe { l.remove(ptr(&mut v[3])) };
        assert_eq!(order(&l, &v), vec![2]);
        assert_eq!(l.head(), l.tail());
    }

    #[test]
    fn insert_after() {
        let mut v = nodes(&[0, 0, 0, 0]);
        let mut l = List::new(NodeType::Unknown);
        unsafe {
            l.insert(ptr(&mut v[0]), null_mut());
            l.insert(ptr(&mut v[1]), ptr(&mut v[0]));
            l.insert(ptr(&mut v[2]), ptr(&mut v[0]));
            l.insert(ptr(&mut v[3]), null_mut());
        }
        assert_eq!(order(&l, &v), vec![3, 0, 2, 1]);
        assert_eq!(l.tail(), ptr(&mut v[1]));
    }

    #[test]
    fn enqueue_orders_by_priority_fifo_among_equals() {
        let mut v = nodes(&[0, 5, 0, -3, 5, 127, -128, 0]);
        let mut l = List::new(NodeType::Unknown);
        for n in v.iter_mut() {
            unsafe { l.enqueue(ptr(n)) };
        }
        assert_eq!(order(&l, &v), vec![5, 1, 4, 0, 2, 7, 3, 6]);
    }

    #[test]
    fn enqueue_from_head_orders_as_enqueue() {
        let mut v = nodes(&[0, 5, 0, -3, 5, 127, -128, 0]);
        let mut l = List::new(NodeType::Unknown);
        for n in v.iter_mut() {
            unsafe { l.enqueue_from_head(ptr(n)) };
        }
        assert_eq!(order(&l, &v), vec![5, 1, 4, 0, 2, 7, 3, 6]);
    }

    #[test]
    fn find_by_name() {
        let mut a = Box::new(Node::named(NodeType::MsgPort, 0, "alpha"));
        let mut b = Box::new(Node::named(NodeType::MsgPort, 0, "beta"));
        let mut a2 = Box::new(Node::named(NodeType::MsgPort, 0, "alpha"));
        let mut l = List::new(NodeType::MsgPort);
        unsafe {
            l.add_tail(&mut *a);
            l.add_tail(&mut *b);
            l.add_tail(&mut *a2);
        }
        assert_eq!(l.find_name("beta"), &mut *b as *mut Node);
        let first = l.find_name("alpha");
        assert_eq!(first, &mut *a as *mut Node);
        assert_eq!(unsafe { l.find_name_from(first, "alpha") }, &mut *a2 as *mut Node);
        assert!(l.find_name("gamma").is_null());
        assert_eq!(l.len(), 3);
        assert!(l.contains(&*b));
        let mut n = Node::new(NodeType::Task, 0);
        let name = String::from("dyn");
        unsafe { n.set_name(&name) };
        assert_eq!(n.name(), "dyn");
        assert_eq!(Node::new(NodeType::Task, 0).name(), "");
    }
}
