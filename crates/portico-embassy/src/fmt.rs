//! Logging shim: `log` when the feature is on, nothing otherwise.
#![allow(unused_macros)]

macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::debug!($($arg)*);
        #[cfg(not(feature = "log"))]
        let _ = format_args!($($arg)*);
    }};
}

macro_rules! warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::warn!($($arg)*);
        #[cfg(not(feature = "log"))]
        let _ = format_args!($($arg)*);
    }};
}
