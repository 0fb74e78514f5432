//! Where settings live between restarts.

/// Saving failed: the settings in force stay as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// Persistent storage for [`crate::Settings`]: a file on a PC, flash on a device.
#[allow(async_fn_in_trait)] // One executor thread, as everywhere in Portico: no Send bound.
pub trait Store {
    /// The settings saved last, or `None` when nothing (valid) is saved.
    async fn load(&mut self) -> Option<crate::Settings>;
    /// Saves `settings`; only after this returns `Ok` are they in force.
    async fn save(&mut self, settings: &crate::Settings) -> Result<(), StoreError>;
}
