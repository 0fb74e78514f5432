//! The settings document and its rules.

use portico::web::Error;
use serde::{Deserialize, Serialize};

/// Bytes a device name may take: 32 characters of up to 4 bytes each in UTF-8.
const NAME_BYTES: usize = 128;

/// What the owner can change. The field names are the JSON's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Shown in the page title and on the network: 1 to 32 characters.
    pub device_name: heapless::String<NAME_BYTES>,
    /// LED brightness, percent: 0 to 100.
    pub brightness: u8,
    /// Whether the LED is on.
    pub led: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            device_name: heapless::String::try_from("portico").unwrap_or_default(),
            brightness: 50,
            led: false,
        }
    }
}

impl Settings {
    /// Checks the rules JSON types cannot express; `422` naming the field otherwise.
    /// (Types already refuse a brightness above 255, below 0 or not whole.)
    pub fn validate(&self) -> Result<(), Error> {
        let chars = self.device_name.chars().count();
        if !(1..=32).contains(&chars) {
            return Err(Error::invalid("device_name", "must be 1 to 32 characters"));
        }
        if self.device_name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "device_name",
                "must not contain control characters",
            ));
        }
        if self.brightness > 100 {
            return Err(Error::invalid("brightness", "must be 0 to 100"));
        }
        Ok(())
    }
}
