//! The replay ring: the last `N` events, each serialized once into a fixed slot.
//!
//! Why fixed slots and not a byte ring: every event costs the same, so the memory is
//! known from the type alone ([`Ring::BYTES`]: `N × (SLOT + 20)` bytes on a 32-bit target,
//! each slot rounded up to 8), nothing ever
//! needs compacting, and event `id` is found by arithmetic (`(id - 1) % N`). An event is
//! rendered once, however many subscribers send it.

use core::fmt;

/// Why an event was not published. Nothing changes in the ring but, when the render
/// failed, the loss of the oldest event (its slot was being reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// The rendered event does not fit the ring's slot size.
    TooLarge,
    /// The event name holds CR or LF, which would end the SSE field early.
    BadName,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublishError::TooLarge => "event larger than the hub's slot",
            PublishError::BadName => "event name contains CR or LF",
        })
    }
}

impl core::error::Error for PublishError {}

/// One event as the ring holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// Its id: 1 for the first event, then one more for each.
    pub id: u64,
    /// The SSE event name (`event:` line); empty for the default `message`.
    pub name: &'static str,
    /// The serialized payload.
    pub data: &'a [u8],
}

#[derive(Clone, Copy)]
struct Slot<const SLOT: usize> {
    id: u64,
    name: &'static str,
    len: usize,
    data: [u8; SLOT],
}

impl<const SLOT: usize> Slot<SLOT> {
    const EMPTY: Self = Slot {
        id: 0,
        name: "",
        len: 0,
        data: [0; SLOT],
    };
}

/// The last `N` events of up to `SLOT` bytes each.
pub struct Ring<const N: usize, const SLOT: usize> {
    slots: [Slot<SLOT>; N],
    /// The id the next event gets.
    next: u64,
    /// The oldest id still held.
    first: u64,
    /// The first id this ring issued.
    start: u64,
}

impl<const N: usize, const SLOT: usize> fmt::Debug for Ring<N, SLOT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("first", &self.first)
            .field("next", &self.next)
            .finish()
    }
}

impl<const N: usize, const SLOT: usize> Default for Ring<N, SLOT> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const SLOT: usize> Ring<N, SLOT> {
    const NONEMPTY: () = assert!(N > 0, "a hub's ring needs at least one slot");

    /// The ring's size in bytes on this target: `N` slots (an id, the name, a length
    /// and `SLOT` bytes) and three ids.
    pub const BYTES: usize = core::mem::size_of::<Self>();

    /// An empty ring; the first event gets id 1.
    pub const fn new() -> Self {
        Self::starting_at(1)
    }

    /// An empty ring whose first event gets id `first_id` (at least 1).
    pub const fn starting_at(first_id: u64) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::NONEMPTY;
        let first = if first_id == 0 { 1 } else { first_id };
        Ring {
            slots: [Slot::EMPTY; N],
            next: first,
            first,
            start: first,
        }
    }

    /// The id the next event will get.
    pub const fn next_id(&self) -> u64 {
        self.next
    }

    /// The first id this ring issued (or will issue).
    pub const fn start_id(&self) -> u64 {
        self.start
    }

    /// The oldest id still held (equal to [`Ring::next_id`] when empty).
    pub const fn first_id(&self) -> u64 {
        self.first
    }

    /// Events held.
    pub const fn len(&self) -> usize {
        (self.next - self.first) as usize
    }

    /// Whether no event is held.
    pub const fn is_empty(&self) -> bool {
        self.next == self.first
    }

    /// Appends an event whose payload `render` writes into the slot, returning the
    /// payload's length (`None`: it did not fit). The oldest event makes room when full.
    pub fn push(
        &mut self,
        name: &'static str,
        render: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<u64, PublishError> {
        if name.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(PublishError::BadName);
        }
        let id = self.next;
        let slot = &mut self.slots[Self::index(id)];
        let evicting = slot.id != 0 && slot.id >= self.first;
        // The render writes over the oldest event, which is gone whatever happens next.
        slot.id = 0;
        slot.len = 0;
        if evicting {
            self.first += 1;
        }
        match render(&mut slot.data) {
            Some(len) if len <= SLOT => {
                *slot = Slot {
                    id,
                    name,
                    len,
                    data: slot.data,
                };
                self.next += 1;
                Ok(id)
            }
            // Ids stay dense: the lost oldest event is now before `first`, not a hole.
            _ => Err(PublishError::TooLarge),
        }
    }

    /// The event `id`, if still held.
    pub fn get(&self, id: u64) -> Option<Event<'_>> {
        if id < self.first || id >= self.next {
            return None;
        }
        let s = &self.slots[Self::index(id)];
        (s.id == id).then(|| Event {
            id,
            name: s.name,
            data: &s.data[..s.len],
        })
    }

    fn index(id: u64) -> usize {
        ((id - 1) % N as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(r: &mut Ring<3, 8>, s: &str) -> Result<u64, PublishError> {
        r.push("e", |b| {
            let d = b.get_mut(..s.len())?;
            d.copy_from_slice(s.as_bytes());
            Some(s.len())
        })
    }

    #[test]
    fn ids_start_at_one_and_wrap_keeps_the_last_n() {
        let mut r = Ring::<3, 8>::new();
        assert!(r.is_empty());
        for (i, s) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            assert_eq!(push(&mut r, s), Ok(i as u64 + 1));
        }
        assert_eq!((r.first_id(), r.next_id(), r.len()), (3, 6, 3));
        assert_eq!(r.get(2), None);
        assert_eq!(r.get(3).unwrap().data, b"c");
        assert_eq!(r.get(5).unwrap().data, b"e");
        assert_eq!(r.get(6), None);
    }

    #[test]
    fn too_large_publishes_nothing_but_costs_the_slot_it_reused() {
        let mut r = Ring::<3, 8>::new();
        assert_eq!(push(&mut r, "123456789"), Err(PublishError::TooLarge));
        assert_eq!((r.first_id(), r.next_id()), (1, 1));
        for s in ["a", "b", "c"] {
            push(&mut r, s).unwrap();
        }
        // Full: the next render overwrites event 1, so it is gone even though the
        // render fails.
        assert_eq!(push(&mut r, "123456789"), Err(PublishError::TooLarge));
        assert_eq!((r.first_id(), r.next_id()), (2, 4));
        assert_eq!(r.get(1), None);
        assert_eq!(push(&mut r, "d"), Ok(4));
        assert_eq!((r.first_id(), r.len()), (2, 3));
        assert_eq!(r.get(2).unwrap().data, b"b");
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn memory_is_what_the_docs_say() {
        // Each slot: u64 id + &str name (16) + usize length + data, rounded up to 8.
        assert_eq!(Ring::<4, 96>::BYTES, 4 * (96 + 32) + 24);
        assert_eq!(Ring::<4, 100>::BYTES, 4 * (104 + 32) + 24);
    }

    #[test]
    fn a_name_with_a_line_break_is_refused() {
        let mut r = Ring::<3, 8>::new();
        assert_eq!(r.push("a\nb", |_| Some(0)), Err(PublishError::BadName));
        assert_eq!(r.push("a\rb", |_| Some(0)), Err(PublishError::BadName));
        assert!(r.is_empty());
    }
}
