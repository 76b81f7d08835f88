//! Exec lists inside the kernel (the host tests cover the same logic in more depth).

use alloc::vec::Vec;

use crate::ktest::TestResult;
use crate::list::{List, Node, NodeType};
use crate::{ensure, ensure_eq};

fn order(l: &List, nodes: &[Node]) -> Vec<usize> {
    l.iter().map(|p| nodes.iter().position(|n| core::ptr::eq(n, p)).unwrap_or(99)).collect()
}

pub fn ends() -> TestResult {
    let mut n = [Node::new(NodeType::Unknown, 0), Node::new(NodeType::Unknown, 0), Node::new(NodeType::Unknown, 0)];
    let mut l = List::new(NodeType::Unknown);
    let p: Vec<*mut Node> = n.iter_mut().map(|x| x as *mut Node).collect();
    // SAFETY: the nodes live on this stack frame and are linked once each.
    unsafe {
        l.add_tail(p[0]);
        l.add_head(p[1]);
        l.add_tail(p[2]);
    }
    ensure_eq!(order(&l, &n), alloc::vec![1, 0, 2]);
    ensure_eq!(l.rem_head(), p[1]);
    ensure_eq!(l.rem_tail(), p[2]);
    ensure_eq!(l.rem_tail(), p[0]);
    ensure!(l.is_empty() && l.rem_head().is_null());
    Ok(())
}

pub fn insert_and_remove() -> TestResult {
    let mut n: Vec<Node> = (0..4).map(|_| Node::new(NodeType::Unknown, 0)).collect();
    let p: Vec<*mut Node> = n.iter_mut().map(|x| x as *mut Node).collect();
    let mut l = List::new(NodeType::Unknown);
    // SAFETY: as above.
    unsafe {
        l.insert(p[0], core::ptr::null_mut());
        l.insert(p[1], p[0]);
        l.insert(p[2], p[0]);
        l.insert(p[3], p[1]);
        ensure_eq!(order(&l, &n), alloc::vec![0, 2, 1, 3]);
        l.remove(p[2]);
        l.remove(p[3]);
    }
    ensure_eq!(order(&l, &n), alloc::vec![0, 1]);
    ensure_eq!(l.tail(), p[1]);
    Ok(())
}

/// Priority order, FIFO among equal priorities (ties).
pub fn enqueue_with_ties() -> TestResult {
    let pris = [0i8, 3, 0, -5, 3, 127, -128, 0];
    let mut n: Vec<Node> = pris.iter().map(|&p| Node::new(NodeType::Unknown, p)).collect();
    let mut l = List::new(NodeType::Unknown);
    for x in n.iter_mut() {
        // SAFETY: each node linked once; they outlive the list's use.
        unsafe { l.enqueue(x) };
    }
    ensure_eq!(order(&l, &n), alloc::vec![5, 1, 4, 0, 2, 7, 3, 6]);
    Ok(())
}

pub fn find_name() -> TestResult {
    let mut n = [
        Node::named(NodeType::MsgPort, 0, "a"),
        Node::named(NodeType::MsgPort, 0, "b"),
        Node::named(NodeType::MsgPort, 0, "a"),
    ];
    let p: Vec<*mut Node> = n.iter_mut().map(|x| x as *mut Node).collect();
    let mut l = List::new(NodeType::MsgPort);
    for &x in &p {
        // SAFETY: as above.
        unsafe { l.add_tail(x) };
    }
    ensure_eq!(l.find_name("b"), p[1]);
    ensure_eq!(l.find_name("a"), p[0]);
    // SAFETY: p[0] is on the list.
    ensure_eq!(unsafe { l.find_name_from(p[0], "a") }, p[2]);
    ensure!(l.find_name("zz").is_null());
    Ok(())
}
