//! The header lines every response carries, whichever writer formats its head: the
//! application through [`Exchange`](super::Exchange), the loop's own error answers, and
//! the `503` a port gives a newcomer. One function, so no writer can forget one.

use super::ServerConfig;
use crate::http::{HeadWriter, HeaderError};

/// The default [`ServerConfig::wall_clock`]: the date is not known.
pub fn no_wall_clock() -> Option<u64> {
    None
}

/// Writes `Date` (when the clock knows the date) and the configured headers.
pub(super) fn stamp(w: &mut HeadWriter<'_>, cfg: &ServerConfig) -> Result<(), HeaderError> {
    stamp_with(w, (cfg.wall_clock)(), cfg.headers)
}

/// [`stamp`] with the time already read (an exchange reads the clock once).
pub(super) fn stamp_with(
    w: &mut HeadWriter<'_>,
    date: Option<u64>,
    headers: &[(&str, &str)],
) -> Result<(), HeaderError> {
    #[cfg(feature = "date")]
    if let Some(t) = date {
        w.header_fmt("Date", format_args!("{}", crate::http::HttpDate(t)))?;
    }
    #[cfg(not(feature = "date"))]
    let _ = date;
    for (name, value) in headers {
        w.header(name, value)?;
    }
    Ok(())
}
