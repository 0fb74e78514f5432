//! The pool's storage, supplied by the caller.

use crate::shared::Shared;

/// Storage for the state a [`crate::SocketPool`] of `N` sockets shares between them: the
/// connection table and what each socket is doing. As embassy-net's `StackResources<N>`,
/// the count lives here, named once where the caller sets the storage aside (a `static`,
/// a `StaticCell`), and the pool that borrows it is just `SocketPool<'d>`.
///
/// `N` must match the [`crate::SocketBuffers`] the pool runs on.
pub struct PoolResources<const N: usize> {
    /// Filled by the pool's constructor, which knows the settings (`Option` keeps
    /// `new` a `const fn`).
    pub(crate) state: Option<Shared<N>>,
}

impl<const N: usize> PoolResources<N> {
    /// Empty storage, ready for [`crate::SocketPool::new`] or [`crate::SocketPool::gated`].
    pub const fn new() -> Self {
        PoolResources { state: None }
    }
}

impl<const N: usize> Default for PoolResources<N> {
    fn default() -> Self {
        Self::new()
    }
}
