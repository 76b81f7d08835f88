//! RAM:'s calls on names: delete, rename, make a directory, set the protection bits.

use super::*;

impl RamFs {
    /// DELETE_OBJECT. Errors: OBJECT_NOT_FOUND, OBJECT_IN_USE (locked, open, or the root),
    /// DIRECTORY_NOT_EMPTY, DELETE_PROTECTED.
    pub fn delete(&mut self, dir: u64, path: &str) -> Result<()> {
        let n = self.resolve(dir, path)?;
        let node = self.node(n);
        if n == ROOT || node.users > 0 {
            return Err(error::OBJECT_IN_USE);
        }
        if matches!(&node.kind, Kind::Dir(c) if !c.is_empty()) {
            return Err(error::DIRECTORY_NOT_EMPTY);
        }
        if node.prot & prot::DELETE != 0 {
            return Err(error::DELETE_PROTECTED);
        }
        let parent = node.parent;
        let freed = NODE_COST + if let Kind::File(d) = &node.kind { d.len() as u64 } else { 0 };
        self.unlink(n);
        self.nodes[n] = None;
        self.free_nodes.push(n);
        self.used -= freed;
        self.node_mut(parent).date = self.now;
        Ok(())
    }

    fn unlink(&mut self, n: usize) {
        let parent = self.node(n).parent;
        if let Kind::Dir(c) = &mut self.node_mut(parent).kind {
            c.retain(|&x| x != n);
        }
    }

    /// RENAME_OBJECT: moves and renames; a change of case alone is allowed. Errors:
    /// OBJECT_NOT_FOUND, OBJECT_EXISTS, OBJECT_IN_USE (the root, or a directory into itself
    /// or below itself), INVALID_COMPONENT_NAME.
    pub fn rename(&mut self, from_dir: u64, from: &str, to_dir: u64, to: &str) -> Result<()> {
        let n = self.resolve(from_dir, from)?;
        let (parent, name) = self.resolve_parent(to_dir, to)?;
        if n == ROOT {
            return Err(error::OBJECT_IN_USE);
        }
        if self.child(parent, name)?.is_some_and(|existing| existing != n) {
            return Err(error::OBJECT_EXISTS);
        }
        let mut up = parent;
        loop {
            if up == n {
                return Err(error::OBJECT_IN_USE);
            }
            if up == ROOT {
                break;
            }
            up = self.node(up).parent;
        }
        self.unlink(n);
        let now = self.now;
        if let Kind::Dir(c) = &mut self.node_mut(parent).kind {
            c.push(n);
        }
        self.node_mut(parent).date = now;
        let node = self.node_mut(n);
        node.name = String::from(name);
        node.parent = parent;
        Ok(())
    }

    /// CREATE_DIR: a new directory; result: an exclusive lock on it. Errors: OBJECT_EXISTS,
    /// OBJECT_NOT_FOUND (a missing parent), DISK_FULL, INVALID_COMPONENT_NAME.
    pub fn create_dir(&mut self, dir: u64, path: &str) -> Result<u64> {
        let (parent, name) = self.resolve_parent(dir, path)?;
        if self.child(parent, name)?.is_some() {
            return Err(error::OBJECT_EXISTS);
        }
        let n = self.create(parent, name, Kind::Dir(Vec::new()))?;
        self.take(n, true)?;
        Ok(self.locks.insert(Lock { node: n, exclusive: true }))
    }

    /// SET_PROTECT: sets the protection bits. Errors: OBJECT_NOT_FOUND.
    pub fn set_protect(&mut self, dir: u64, path: &str, bits: u32) -> Result<()> {
        let n = self.resolve(dir, path)?;
        self.node_mut(n).prot = bits;
        Ok(())
    }
}
