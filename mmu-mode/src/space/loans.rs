//! A space's loans: the blocks that messages and device requests lend, counted so that a
//! lent block can be neither freed, kept as the spare, nor sent by transfer while it is out;
//! and the blocks that pass from a sender that ended to its receiver.

use super::{Block, Space, take_charge};

impl Space {
    /// A message now lends `[addr, addr + len)`: the block of this space's own holding it, if
    /// there is one, counts the loan. Result: that block's start, to give back to
    /// [`Space::unlend`], or 0 if no block counted it (memory on the stack, pages another
    /// task's block lent this one by transfer, or a block charged to another family that this
    /// family's quota cannot take over: an uncounted loan must never lower a count).
    pub fn lend(&mut self, addr: u64, len: u64) -> u64 {
        let mine = self.policy.family;
        match self.allocations.holding_mut(addr, len) {
            Some(a) => {
                // A block charged to another family (a message's copy made for this task, one
                // adopted from a sender that ended): lent, it may outlive its message (a
                // reply leaves a copy block the task's while it lends), so it becomes this
                // family's charge now, or a receiver could hold another family's quota for
                // ever. Past this family's quota the loan is not counted: the block may then
                // be retired under the message, whose every copy into it is checked when it
                // is made (as for memory on the stack).
                if a.family != mine && !take_charge(a, mine) {
                    return 0;
                }
                a.lent += 1;
                a.start
            }
            None => 0,
        }
    }

    /// Pins `[addr, addr + len)`, a device request or its data, while the kernel may copy to or
    /// from it for the device (`io.rs`): the block of
    /// this space's that holds it counts a loan (so it can be neither freed, kept as the spare,
    /// nor sent by transfer until [`Space::unlend`]; a received message's copy block pinned at
    /// the reply is not freed then and stays the task's), or it lies on the task's stack, which
    /// lives as long as the task. Result: the block's start (0 for the stack), or `None` for
    /// memory in no block of this space (pages another task lent it by transfer), where a
    /// device request is refused.
    pub fn pin(&mut self, addr: u64, len: u64) -> Option<u64> {
        let end = addr.checked_add(len)?;
        if self.stack_range.0 <= addr && end <= self.stack_range.1 {
            return Some(0);
        }
        Some(self.lend(addr, len)).filter(|&start| start != 0)
    }

    /// The loan that [`Space::lend`] counted on the block at `start` is over (0: it counted
    /// none, nothing to do).
    pub fn unlend(&mut self, start: u64) {
        if start == 0 {
            return;
        }
        if let Some(a) = self.allocations.at_mut(start) {
            a.lent = a.lent.saturating_sub(1);
        }
    }

    /// Takes the block starting at `addr` out of this space's records (its pages stay as they
    /// are) so that another space can [`adopt`](Space::adopt) it: how a transferred message
    /// outlives a sender that ends before the reply.
    pub fn give_away(&mut self, addr: u64) -> Option<Block> {
        // Its charge stays with the family charged for it (see `adopt`).
        self.allocations.remove(addr)
    }

    /// Makes a block given away by another space this space's own (freed with it). Its charge
    /// stays with the family charged for it until it is freed (or this task lends it: then
    /// the charge moves here, see [`Space::lend`]): a family that sends blocks
    /// away and ends its senders still counts them against its own quota, and the receiver's
    /// family, which did not ask for them, is charged nothing (charging it once let one family
    /// push another past its quota, and itself escape its own).
    pub fn adopt(&mut self, mut block: Block) {
        // The message that moved it is an orphan now: it lends nothing any more, but the
        // receiver holds it through that message (one loan, given back at the reply, which
        // frees it): until then it cannot be freed, and a reply never frees a later block.
        block.lent = 1;
        self.allocations.insert(block);
    }

    /// The task took the message whose copy is the block at `start` (a copy made for it by
    /// another task): the block's charge moves to this task's family, the holder's (within its
    /// quota; past it, it stays with the sender's). A copy is charged to its sender while it
    /// waits in a queue, so that a flood spends the flooder's quota, and to its holder once
    /// taken, so that a task that takes messages and never replies them spends its own.
    pub fn keep_copy(&mut self, start: u64) {
        let mine = self.policy.family;
        if let Some(a) = self.allocations.at_mut(start)
            && a.family != mine
        {
            take_charge(a, mine);
        }
    }
}
