//! Settings in NOR flash, through `sequential-storage`'s map: each save appends a record
//! (wear spread over the range, no erase per save) and the newest one wins; a power cut
//! mid-save leaves the previous record readable.

use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

use crate::store::{Store, StoreError};
use crate::Settings;

/// The one key the settings are stored under.
const KEY: u8 = 1;
/// Room for the key, the JSON document and the flash word alignment.
const BUFFER: usize = 256;

/// [`Store`] on a flash range of at least two erase pages.
pub struct FlashStore<F: NorFlash> {
    map: MapStorage<u8, F, Cache<Uncached, Uncached, Uncached, u8>>,
    buffer: [u8; BUFFER],
}

impl<F: NorFlash> FlashStore<F> {
    /// Stores in `range` of `flash` (start and end on erase-page boundaries, two pages
    /// or more; checked when the store is made: a bad range panics at start-up, not
    /// at the first save).
    pub fn new(flash: F, range: core::ops::Range<u32>) -> Self {
        FlashStore {
            map: MapStorage::new(flash, MapConfig::new(range), Cache::new_uncached()),
            buffer: [0; BUFFER],
        }
    }
}

impl<F: NorFlash> Store for FlashStore<F> {
    async fn load(&mut self) -> Option<Settings> {
        let json: &[u8] = self
            .map
            .fetch_item(&mut self.buffer, &KEY)
            .await
            .ok()
            .flatten()?;
        // Copied out of the buffer: the record is JSON, parsed with the same rules as a
        // `PUT` (a record that no longer passes them is ignored).
        let mut doc = [0u8; BUFFER];
        let doc = doc.get_mut(..json.len())?;
        doc.copy_from_slice(json);
        let s: Settings = portico::web::json::from_json(doc, &mut self.buffer).ok()?;
        s.validate().ok()?;
        Some(s)
    }

    async fn save(&mut self, settings: &Settings) -> Result<(), StoreError> {
        let mut doc = [0u8; BUFFER];
        let n = serde_json_core::to_slice(settings, &mut doc).map_err(|_| StoreError)?;
        self.map
            .store_item(&mut self.buffer, &KEY, &&doc[..n])
            .await
            .map_err(|_| StoreError)
    }
}
