//! AF_PACKET: whole Ethernet frames out of a given interface, for gratuitous ARP and unsolicited
//! neighbour advertisements (reference §4.8). The caller builds the frame, Ethernet header
//! included; the ethertype is taken from it.

use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use super::SysError;

const ETH_HLEN: usize = 14;
const ETH_ALEN: usize = 6;

fn packet_socket(protocol: u16, obj: &str) -> Result<OwnedFd, SysError> {
    // SAFETY: plain socket(2) call; protocol is in network byte order as AF_PACKET requires.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::c_int::from(protocol.to_be()),
        )
    };
    if raw < 0 {
        return Err(SysError::new("socket(AF_PACKET)", obj, Errno::last()));
    }
    // SAFETY: `raw` is a fresh fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn sockaddr_ll(ifindex: u32, protocol_be: u16, dst: &[u8]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = protocol_be;
    sll.sll_ifindex = ifindex as libc::c_int;
    sll.sll_halen = ETH_ALEN as u8;
    sll.sll_addr[..ETH_ALEN].copy_from_slice(&dst[..ETH_ALEN]);
    sll
}

/// One send-only AF_PACKET socket for every interface (protocol 0: it receives nothing).
pub struct PacketSender {
    fd: OwnedFd,
}

impl PacketSender {
    pub fn open() -> Result<Self, SysError> {
        Ok(PacketSender {
            fd: packet_socket(0, "GARP/NA sender")?,
        })
    }

    /// Send one complete Ethernet frame (destination MAC, source MAC, ethertype, payload) out
    /// of interface `ifindex`.
    pub fn send_frame(&self, ifindex: u32, frame: &[u8]) -> Result<(), SysError> {
        let obj = || format!("ifindex {ifindex}");
        if frame.len() < ETH_HLEN {
            return Err(SysError::new("sendto(AF_PACKET)", obj(), Errno::EINVAL));
        }
        let proto_be = u16::from_ne_bytes([frame[12], frame[13]]);
        let sll = sockaddr_ll(ifindex, proto_be, frame);
        loop {
            // SAFETY: `frame` is a live buffer of frame.len() bytes and `sll` a fully initialised
            // sockaddr_ll whose size we pass.
            let rc = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc >= 0 {
                return Ok(());
            }
            match Errno::last() {
                Errno::EINTR => continue,
                e => return Err(SysError::new("sendto(AF_PACKET)", obj(), e)),
            }
        }
    }
}

/// A receive-only AF_PACKET socket bound to one interface and ethertype: for tests and
/// diagnostics (seeing our own GARPs/NAs arrive on the other end of a veth pair).
pub struct PacketCapture {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketCapture {
    /// Capture frames of `ethertype` (e.g. `libc::ETH_P_ARP`, or `ETH_P_ALL`) on `ifindex`.
    pub fn open(ifindex: u32, ethertype: u16) -> Result<Self, SysError> {
        let obj = format!("ifindex {ifindex}");
        let fd = packet_socket(ethertype, &obj)?;
        let sll = sockaddr_ll(ifindex, ethertype.to_be(), &[0; ETH_ALEN]);
        // SAFETY: `sll` is a fully initialised sockaddr_ll whose size we pass.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SysError::new("bind(AF_PACKET)", obj, Errno::last()));
        }
        Ok(PacketCapture { fd, ifindex })
    }

    /// The next frame (Ethernet header included), `Ok(None)` when none is queued.
    pub fn recv(&self) -> Result<Option<Vec<u8>>, SysError> {
        let mut buf = vec![0u8; 65_536];
        loop {
            match nix::sys::socket::recv(
                self.fd.as_raw_fd(),
                &mut buf,
                nix::sys::socket::MsgFlags::empty(),
            ) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(Some(buf));
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(e) => {
                    return Err(SysError::new(
                        "recv(AF_PACKET)",
                        format!("ifindex {}", self.ifindex),
                        e,
                    ));
                }
            }
        }
    }
}

impl AsFd for PacketSender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
impl AsRawFd for PacketSender {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
impl AsFd for PacketCapture {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
impl AsRawFd for PacketCapture {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
