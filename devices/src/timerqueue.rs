//! The timer queue's ordering: requests sorted by deadline, equal deadlines in arrival order.

use exec::list::{List, Node};

/// Inserts `n` into `queue` after every node whose key is at most `n`'s, walking from the
/// tail (new requests usually have the latest deadline, so this is usually one step).
///
/// # Safety
/// `n` is live and on no list; every node of `queue` is live; `key` may read any of them.
pub unsafe fn insert_by_key(queue: &mut List, n: *mut Node, key: impl Fn(*mut Node) -> u64) {
    let k = key(n);
    let mut at = queue.tail();
    // SAFETY: members are live (caller).
    while let Some(node) = unsafe { at.as_ref() } {
        if key(at) <= k {
            break;
        }
        at = node.pred;
    }
    // SAFETY: `n` unlinked, `at` null or a member (caller / the walk above).
    unsafe { queue.insert(n, at) };
}

#[cfg(test)]
// SAFETY (every unsafe block in these tests): requests live in boxes that outlive the queue and are linked once each.
mod tests {
    use super::*;
    use exec::list::NodeType;

    #[repr(C)]
    struct Req {
        node: Node,
        deadline: u64,
        id: usize,
    }

    #[test]
    fn sorted_by_deadline_fifo_among_equals() {
        let deadlines = [50u64, 10, 50, 30, 10, 90, 0, 50];
        let mut reqs: Vec<Box<Req>> = deadlines
            .iter()
            .enumerate()
            .map(|(id, &deadline)| Box::new(Req { node: Node::new(NodeType::Message, 0), deadline, id }))
            .collect();
        let mut q = List::new(NodeType::Message);
        // SAFETY: every node on the list is the first field of a live Req (repr(C)).
        let key = |n: *mut Node| unsafe { (*(n as *mut Req)).deadline };
        for r in reqs.iter_mut() {
            // SAFETY: the node lives in its box for the whole test and is on no list yet.
            unsafe { insert_by_key(&mut q, &mut r.node, key) };
        }
        // SAFETY: as for `key`.
        let order: Vec<usize> = q.iter().map(|n| unsafe { (*(n as *mut Req)).id }).collect();
        assert_eq!(order, vec![6, 1, 4, 3, 0, 2, 7, 5]);
    }
}
