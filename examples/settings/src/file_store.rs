//! Settings in a file on the host (`--state-file PATH`): JSON, replaced atomically (a
//! temporary file renamed over the old one), so a crash mid-save never leaves half a
//! document.

use std::path::PathBuf;

use crate::store::{Store, StoreError};
use crate::Settings;

/// [`Store`] in one JSON file.
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// Settings kept in `path` (created at the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }
}

impl Store for FileStore {
    async fn load(&mut self) -> Option<Settings> {
        let doc = std::fs::read(&self.path).ok()?;
        let s: Settings = portico::web::json::from_json(&doc, &mut [0; 256]).ok()?;
        s.validate().ok()?;
        Some(s)
    }

    async fn save(&mut self, settings: &Settings) -> Result<(), StoreError> {
        let mut doc = [0u8; 256];
        let n = serde_json_core::to_slice(settings, &mut doc).map_err(|_| StoreError)?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, &doc[..n]).map_err(|_| StoreError)?;
        std::fs::rename(&tmp, &self.path).map_err(|_| StoreError)
    }
}
