//! Request/response loop over embedded-io-async streams.
