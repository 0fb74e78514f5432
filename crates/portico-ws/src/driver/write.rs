//! Writing one frame under the network timeout (abandoned at once on a stop), and the
//! control frames (pongs, closes) the connection has queued. Each frame is written whole,
//! in one call.

use embassy_futures::select::{select3, Either3};
use embedded_io_async::Write;
use portico::placement::MemoryRegions;

use crate::connection::Connection;
use crate::event::DisconnectReason;
use crate::mask::MaskRng;
use crate::settings::Settings;

use super::port::PortRng;
use super::{Link, Port};

/// Writes `frame` with the network timeout. `Err(reason)` ends the connection.
pub(super) async fn write_frame<P: Port, W: Write, L: Link>(
    settings: &Settings,
    io: &mut W,
    port: &P,
    link: &L,
    frame: &[u8],
) -> Result<(), DisconnectReason> {
    let write = async {
        io.write_all(frame).await?;
        io.flush().await
    };
    match select3(
        write,
        port.sleep_ms(settings.network_timeout_ms),
        link.stopped(),
    )
    .await
    {
        Either3::First(Ok(())) => Ok(()),
        Either3::First(Err(_)) => Err(DisconnectReason::ConnectionLost),
        Either3::Second(()) => Err(DisconnectReason::WriteTimeout),
        // Half a frame is on the wire: the connection cannot continue anyway.
        Either3::Third(()) => Err(DisconnectReason::Stopped),
    }
}

pub(super) async fn flush_control<M: MemoryRegions, P: Port, W: Write, L: Link>(
    settings: &Settings,
    conn: &mut Connection<M>,
    io: &mut W,
    port: &P,
    link: &L,
) -> Result<(), DisconnectReason> {
    while let Some((op, payload)) = conn.take_control() {
        let mask = PortRng(port).mask();
        let frame = conn
            .encode(true, op, mask, &payload)
            .map_err(|_| DisconnectReason::ConnectionLost)?;
        write_frame(settings, io, port, link, frame).await?;
    }
    Ok(())
}
