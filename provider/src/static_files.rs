//! The embedded dashboard, served with negotiation, validators and ranges.

use portico::server::{Env, Exchange, ServeError, Transport};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub async fn serve<T: Transport, E: Env>(
    ex: &mut Exchange<'_, T, E>,
) -> Result<(), ServeError<T::Error>> {
    portico::server::serve_asset(ex, ASSETS).await
}
