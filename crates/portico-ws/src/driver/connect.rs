//! One connection attempt: the port's transport, the buffers placed once it is up, and
//! the upgrade handshake (with the permessage-deflate offer when one is made). Apart from
//! the run loop, which races it against the connect timeout and the handle's commands and
//! drops it whole when either wins.

use embedded_io_async::{Read, Write};
use portico::placement::MemoryRegions;

use crate::buffers::{BufferSpec, Buffers};
use crate::compression::{CompressionMode, Offer};
use crate::deflate::Codec;
use crate::event::ConnectError;
use crate::frame::Decoded;
use crate::handshake::{parse_response_offering, write_request_offering, Key};
use crate::settings::Settings;
use crate::url::WsUrl;

use super::port::PortRng;
use super::{Port, Target};

/// What a successful connect hands over: the transport, the length of the chosen
/// subprotocol (copied to the start of the send buffer), the range of the receive buffer
/// that already holds frames, the buffers, and the codec if compression was agreed.
pub(super) type Connected<'m, P, M> = (
    <P as Port>::Io<'m>,
    Option<usize>,
    core::ops::Range<usize>,
    Buffers<M>,
    Option<Codec<<M as MemoryRegions>::Block>>,
);

/// Where a connect goes and what it asks for.
#[derive(Clone, Copy)]
pub(super) struct Upgrade<'a> {
    pub(super) target: &'a Target<'a>,
    pub(super) url: &'a WsUrl<'a>,
    /// permessage-deflate, when offered this attempt.
    pub(super) offer: Option<&'a Offer>,
}

/// TCP (+TLS) and the upgrade handshake, with the buffers `held` (the run's first) or
/// placed per `spec` once the transport is up, offering permessage-deflate when `offer`
/// (see [`run`](fn@super::run): a server whose answer to the offer must be refused fails
/// the attempt, and under `Prefer` the next attempt, at once, goes without it).
pub(super) async fn connect<'m, M: MemoryRegions + Clone, P: Port>(
    settings: &Settings,
    to: Upgrade<'_>,
    held: &mut Option<Buffers<M>>,
    spec: &BufferSpec<M>,
    port: &P,
    memory: &'m mut P::Memory,
) -> Result<Connected<'m, P, M>, ConnectError> {
    let Upgrade { target, url, offer } = to;
    if settings.compression.mode == CompressionMode::Require && offer.is_none() {
        return Err(ConnectError::CompressionRequired);
    }
    let mut io = port.connect(url, memory).await?;
    let mut owned = match held.take() {
        Some(b) => b,
        None => spec.allocate().map_err(|_| ConnectError::Memory)?,
    };
    let buffers = &mut owned;
    let key = Key::generate(&mut PortRng(port));
    let n = write_request_offering(buffers.tx.block.as_mut(), url, &key, &target.request, offer)
        .map_err(ConnectError::Request)?;
    io.write_all(&buffers.tx.block.as_ref()[..n])
        .await
        .map_err(|_| ConnectError::Io)?;
    io.flush().await.map_err(|_| ConnectError::Io)?;
    let mut filled = 0;
    loop {
        let rx = buffers.rx.block.as_mut();
        if filled == rx.len() {
            // A response head larger than the receive buffer: refuse rather than grow.
            return Err(ConnectError::Handshake(
                crate::handshake::ResponseError::Malformed,
            ));
        }
        let got = io
            .read(&mut rx[filled..])
            .await
            .map_err(|_| ConnectError::Io)?;
        if got == 0 {
            return Err(ConnectError::Io);
        }
        filled += got;
        let rx = buffers.rx.block.as_ref();
        match parse_response_offering(&rx[..filled], &key, target.request.subprotocols, offer)
            .map_err(ConnectError::Handshake)?
        {
            Decoded::Incomplete { .. } => continue,
            Decoded::Complete { value, consumed } => {
                let required = settings.compression.mode == CompressionMode::Require;
                let codec = match (value.deflate, settings.compression.plan()) {
                    (Some(agreed), Some(plan)) => Some(
                        Codec::new(buffers, plan, agreed).map_err(|_| ConnectError::OutOfMemory)?,
                    ),
                    _ if required => return Err(ConnectError::CompressionRequired),
                    _ => None,
                };
                let sp = value.subprotocol.map(|s| {
                    let tx = buffers.tx.block.as_mut();
                    let n = s.len().min(tx.len());
                    tx[..n].copy_from_slice(&s.as_bytes()[..n]);
                    n
                });
                return Ok((io, sp, consumed..filled, owned, codec));
            }
        }
    }
}
