//! NOR flash in RAM, with flash's rules: erase sets whole pages to `0xFF`, a write can
//! only clear bits, and both must be aligned. The host runs the device's [`FlashStore`]
//! on it, so the code that persists settings on the chip is the code tested here.
//!
//! (`sequential-storage` has a mock flash of its own, but only for its own tests.)
//!
//! [`FlashStore`]: crate::FlashStore

use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Bytes per erase page (the ESP32's flash sector).
pub const PAGE: usize = 4096;

/// `PAGES` pages of emulated NOR flash.
pub struct RamFlash<const PAGES: usize> {
    bytes: [[u8; PAGE]; PAGES],
    /// Writes that tried to set a cleared bit (a real chip would silently keep it 0).
    pub bad_writes: u32,
}

impl<const PAGES: usize> RamFlash<PAGES> {
    /// Erased flash.
    pub const fn new() -> Self {
        RamFlash {
            bytes: [[0xFF; PAGE]; PAGES],
            bad_writes: 0,
        }
    }

    fn check(&self, offset: u32, len: usize, align: usize) -> Result<usize, FlashError> {
        let at = offset as usize;
        if at % align != 0 || len % align != 0 {
            return Err(FlashError(NorFlashErrorKind::NotAligned));
        }
        if at + len > PAGES * PAGE {
            return Err(FlashError(NorFlashErrorKind::OutOfBounds));
        }
        Ok(at)
    }
}

impl<const PAGES: usize> Default for RamFlash<PAGES> {
    fn default() -> Self {
        Self::new()
    }
}

/// An access the flash refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashError(NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl<const PAGES: usize> ErrorType for RamFlash<PAGES> {
    type Error = FlashError;
}

impl<const PAGES: usize> ReadNorFlash for RamFlash<PAGES> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let at = self.check(offset, bytes.len(), Self::READ_SIZE)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            let a = at + i;
            *b = self.bytes[a / PAGE][a % PAGE];
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        PAGES * PAGE
    }
}

impl<const PAGES: usize> NorFlash for RamFlash<PAGES> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = to
            .checked_sub(from)
            .ok_or(FlashError(NorFlashErrorKind::OutOfBounds))?;
        let at = self.check(from, len as usize, PAGE)?;
        for page in &mut self.bytes[at / PAGE..(at + len as usize) / PAGE] {
            page.fill(0xFF);
        }
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let at = self.check(offset, bytes.len(), Self::WRITE_SIZE)?;
        for (i, b) in bytes.iter().enumerate() {
            let a = at + i;
            let cell = &mut self.bytes[a / PAGE][a % PAGE];
            if *b & !*cell != 0 {
                self.bad_writes += 1;
            }
            // NOR programming only clears bits.
            *cell &= *b;
        }
        Ok(())
    }
}
