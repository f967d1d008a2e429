//! A TCP proxy between the code under test and a broker, for network faults: a test can cut the
//! network (every open connection reset, new ones closed at once, as when a link or a firewall
//! drops them), blackhole it (connections stay open and nothing passes either way, as when packets
//! vanish: the client learns of it only from its own timeouts) and restore it.
//!
//! A broker started with [`crate::KafkaOptions::proxied`] advertises the proxy's port, so every
//! connection a client makes, the bootstrap one and those metadata points it to, goes through it.
//! The testkit's own clients use the broker's internal listener and are not affected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFault {
    /// Bytes pass both ways.
    None,
    /// Open connections are reset; new ones are closed as soon as they are accepted.
    Cut,
    /// Connections are accepted and kept open, but no byte passes in either direction.
    Blackhole,
}

#[derive(Debug, Clone, Copy)]
struct Control {
    fault: NetworkFault,
    /// Bumped by every cut: a connection opened before it ends even if the network is restored
    /// before the connection's task looks.
    epoch: u64,
}

/// A running proxy. Clones control the same proxy; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct TcpProxy {
    inner: Arc<Inner>,
}

struct Inner {
    port: u16,
    upstream: SocketAddr,
    control: watch::Sender<Control>,
    open: Arc<AtomicUsize>,
    runtime: std::sync::Mutex<Option<tokio::runtime::Runtime>>,
}

impl std::fmt::Debug for TcpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpProxy")
            .field("port", &self.inner.port)
            .field("upstream", &self.inner.upstream)
            .field("fault", &self.fault())
            .finish()
    }
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards each connection to `upstream` (which need not
    /// be listening yet: a connection made before it is closed).
    pub fn start(upstream: SocketAddr) -> std::io::Result<TcpProxy> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kmigrate-testkit-proxy")
            .enable_io()
            .build()?;
        // Bound here, not with the runtime's block_on: tests start proxies from async code.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let (control, _) = watch::channel(Control { fault: NetworkFault::None, epoch: 0 });
        let open = Arc::new(AtomicUsize::new(0));
        runtime.spawn(accept_loop(listener, upstream, control.clone(), open.clone()));
        Ok(TcpProxy {
            inner: Arc::new(Inner {
                port,
                upstream,
                control,
                open,
                runtime: std::sync::Mutex::new(Some(runtime)),
            }),
        })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Where connections are forwarded.
    pub fn upstream(&self) -> SocketAddr {
        self.inner.upstream
    }

    /// Resets every open connection and closes new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.inner.control.send_modify(|c| {
            c.fault = NetworkFault::Cut;
            c.epoch += 1;
        });
    }

    /// Lets no byte through, either way, until [`TcpProxy::restore`]; connections stay open.
    pub fn blackhole(&self) {
        self.inner.control.send_modify(|c| c.fault = NetworkFault::Blackhole);
    }

    /// Lets bytes through again (connections a cut closed stay closed; clients reconnect).
    pub fn restore(&self) {
        self.inner.control.send_modify(|c| c.fault = NetworkFault::None);
    }

    /// The fault in force.
    pub fn fault(&self) -> NetworkFault {
        self.inner.control.borrow().fault
    }

    /// How many client connections are open through the proxy.
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Tests drop clusters inside async code, where a runtime may not block while shutting down.
        if let Some(rt) = self.runtime.lock().unwrap_or_else(|e| e.into_inner()).take() {
            rt.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    control: watch::Sender<Control>,
    open: Arc<AtomicUsize>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        let now = *control.borrow();
        if now.fault == NetworkFault::Cut {
            reset(client);
            continue;
        }
        let rx = control.subscribe();
        let open = open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            relay(client, upstream, rx, now.epoch).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Closes with a reset (linger 0), as a dropped link looks to the peer.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Forwards bytes both ways while the network is up; holds them while it is blackholed; resets
/// both sides at a cut.
async fn relay(client: TcpStream, upstream: SocketAddr, mut rx: watch::Receiver<Control>, epoch: u64) {
    // A blackholed network does not even complete the connection to the broker.
    loop {
        let c = *rx.borrow_and_update();
        if c.epoch != epoch || c.fault == NetworkFault::Cut {
            return reset(client);
        }
        if c.fault == NetworkFault::None {
            break;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
    let Ok(server) = TcpStream::connect(upstream).await else { return reset(client) };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let (mut up, mut down) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let c = *rx.borrow_and_update();
        if c.epoch != epoch || c.fault == NetworkFault::Cut {
            let (client, server) = (cr.reunite(cw), sr.reunite(sw));
            if let Ok(s) = client {
                reset(s);
            }
            if let Ok(s) = server {
                reset(s);
            }
            return;
        }
        if c.fault == NetworkFault::Blackhole {
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            n = cr.read(&mut up) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if sw.write_all(&up[..n]).await.is_err() { return },
            },
            n = sr.read(&mut down) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => if cw.write_all(&down[..n]).await.is_err() { return },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    /// An echo server on a free port (a thread per connection).
    fn echo() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn roundtrip(s: &mut std::net::TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg)?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got)?;
        Ok(got)
    }

    fn connect(proxy: &TcpProxy) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        s
    }

    #[test]
    fn forwards_cuts_blackholes_and_restores() {
        let proxy = TcpProxy::start(echo()).unwrap();
        let mut a = connect(&proxy);
        assert_eq!(roundtrip(&mut a, b"hello").unwrap(), b"hello");

        // Blackholed: the connection stays open, the bytes are held, then delivered on restore.
        proxy.blackhole();
        std::thread::sleep(Duration::from_millis(100));
        let held = roundtrip(&mut a, b"held");
        assert!(held.is_err(), "nothing passes a blackhole: {held:?}");
        proxy.restore();
        let mut late = vec![0u8; 4];
        a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        a.read_exact(&mut late).unwrap();
        assert_eq!(late, b"held");

        // Cut: the open connection is reset and a new one is closed at once.
        proxy.cut();
        std::thread::sleep(Duration::from_millis(100));
        assert!(roundtrip(&mut a, b"x").is_err(), "a cut connection is gone");
        let mut b = connect(&proxy);
        assert!(roundtrip(&mut b, b"y").is_err(), "new connections are closed during a cut");

        // Restored: new connections work; the cut ones stay closed.
        proxy.restore();
        let mut c = connect(&proxy);
        assert_eq!(roundtrip(&mut c, b"again").unwrap(), b"again");
        assert!(roundtrip(&mut a, b"x").is_err());
        assert_eq!(proxy.open_connections(), 1);
    }
}
