//! A task's list of messages (by ticket) that the kernel must find again when the task ends or
//! scribbles over a header: O(1) to add and to remove, since each envelope keeps its index.
//!
//! Guarded as the space that holds it (the gate, under Forbid).
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// Tickets in no order.
#[derive(Default)]
pub struct Tickets(Vec<u64>);

impl Tickets {
    /// A list with room for `n` tickets before it grows.
    pub fn with_capacity(n: usize) -> Self {
        Tickets(Vec::with_capacity(n))
    }

    /// Adds `ticket`. Result: its index, for [`Tickets::remove`].
    pub fn add(&mut self, ticket: u64) -> u32 {
        self.0.push(ticket);
        (self.0.len() - 1) as u32
    }

    /// Removes `ticket`, at index `at` (nothing happens if that is not where it is). Result:
    /// the ticket moved into `at` from the end, whose index the caller updates.
    pub fn remove(&mut self, ticket: u64, at: u32) -> Option<u64> {
        let at = at as usize;
        if self.0.get(at) != Some(&ticket) {
            return None;
        }
        self.0.swap_remove(at);
        self.0.get(at).copied()
    }

    /// The tickets.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_moves_the_last_into_the_gap() {
        let mut t = Tickets::with_capacity(4);
        let at: Vec<u32> = [10, 20, 30].iter().map(|&x| t.add(x)).collect();
        assert_eq!(at, [0, 1, 2]);
        assert_eq!(t.remove(20, 2), None, "a wrong index removes nothing");
        assert_eq!(t.remove(10, 0), Some(30), "the last moves to index 0");
        assert_eq!(t.as_slice(), [30, 20]);
        assert_eq!(t.remove(20, 1), None, "removing the last moves nothing");
        assert_eq!(t.as_slice(), [30]);
    }
}
