//! Connection table (see issue: connection manager).
