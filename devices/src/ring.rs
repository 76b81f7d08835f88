//! A fixed-size byte ring buffer: serial.device's receive and transmit buffers.
#![forbid(unsafe_code)]

/// `N` bytes of FIFO. Pushing into a full ring fails (the caller counts the overflow).
pub struct Ring<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Ring<N> {
    pub const fn new() -> Self {
        Ring { buf: [0; N], head: 0, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        N - self.len
    }

    /// Appends `b`; false (and nothing changes) when full.
    pub fn push(&mut self, b: u8) -> bool {
        if self.len == N {
            return false;
        }
        self.buf[(self.head + self.len) % N] = b;
        self.len += 1;
        true
    }

    /// Takes the oldest byte.
    pub fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let b = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(b)
    }

    /// The oldest bytes without taking them, as up to two slices.
    pub fn peek(&self) -> (&[u8], &[u8]) {
        let end = self.head + self.len;
        if end <= N { (&self.buf[self.head..end], &[]) } else { (&self.buf[self.head..], &self.buf[..end - N]) }
    }

    /// Drops the `n` oldest bytes.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % N;
        self.len -= n;
    }

    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_full() {
        let mut r = Ring::<4>::new();
        assert!(r.is_empty());
        for b in 1..=4 {
            assert!(r.push(b));
        }
        assert!(!r.push(5), "a full ring refuses");
        assert_eq!(r.pop(), Some(1));
        assert!(r.push(5));
        assert_eq!((1..=4).map(|_| r.pop().unwrap()).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(r.pop(), None);
    }

    #[test]
    fn peek_wraps_and_consume() {
        let mut r = Ring::<4>::new();
        for b in [1, 2, 3] {
            r.push(b);
        }
        r.consume(2);
        r.push(4);
        r.push(5);
        assert_eq!(r.peek(), (&[3, 4][..], &[5][..]));
        r.consume(10);
        assert!(r.is_empty());
        r.push(9);
        r.clear();
        assert_eq!(r.free(), 4);
    }
}
