//! The daemon's single clock and single timer: CLOCK_MONOTONIC read in microseconds, and one
//! timerfd armed at absolute deadlines on that same clock.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::{ClockId as TimeClockId, clock_gettime};

use super::SysError;
use super::error::Ctx;
use crate::time::Instant;

/// CLOCK_MONOTONIC now, in microseconds: the daemon's only clock source.
pub fn now() -> Instant {
    // CLOCK_MONOTONIC always exists on Linux; clock_gettime can only fail with EINVAL/EFAULT for
    // bad arguments, which we never pass. A zero instant would still be safe for the core.
    match clock_gettime(TimeClockId::CLOCK_MONOTONIC) {
        Ok(ts) => Instant(timespec_to_micros(&ts)),
        Err(_) => Instant::ZERO,
    }
}

fn timespec_to_micros(ts: &TimeSpec) -> u64 {
    let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec()).unwrap_or(0);
    secs.saturating_mul(1_000_000).saturating_add(nanos / 1_000)
}

fn micros_to_timespec(us: u64) -> TimeSpec {
    // An all-zero it_value disarms a timerfd, so the earliest deadline we program is 1 ns.
    if us == 0 {
        return TimeSpec::new(0, 1);
    }
    let secs = i64::try_from(us / 1_000_000).unwrap_or(i64::MAX);
    let nanos = ((us % 1_000_000) * 1_000) as i64;
    TimeSpec::new(secs, nanos)
}

/// One CLOCK_MONOTONIC timerfd, nonblocking and close-on-exec, armed at absolute deadlines.
pub struct Timer {
    fd: TimerFd,
    armed: Option<Instant>,
}

impl Timer {
    pub fn new() -> Result<Self, SysError> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ctx("timerfd_create", "CLOCK_MONOTONIC")?;
        Ok(Timer { fd, armed: None })
    }

    /// Fire once at `deadline` (absolute, on [`now`]'s clock). A deadline in the past fires at
    /// once. Re-arming with the same deadline is skipped (no syscall).
    pub fn arm(&mut self, deadline: Instant) -> Result<(), SysError> {
        if self.armed == Some(deadline) {
            return Ok(());
        }
        self.fd
            .set(
                Expiration::OneShot(micros_to_timespec(deadline.0)),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME,
            )
            .ctx("timerfd_settime", "daemon timer")?;
        self.armed = Some(deadline);
        Ok(())
    }

    /// Stop the timer (no-op when not armed).
    pub fn disarm(&mut self) -> Result<(), SysError> {
        if self.armed.is_none() {
            return Ok(());
        }
        self.fd
            .unset()
            .ctx("timerfd_settime(disarm)", "daemon timer")?;
        self.armed = None;
        Ok(())
    }

    /// The deadline currently programmed, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.armed
    }

    /// Consume an expiry. `Ok(true)` if the timer fired since the last read, `Ok(false)` if not
    /// (EAGAIN: a spurious wake-up). After a fire the timer is disarmed (one-shot).
    pub fn read(&mut self) -> Result<bool, SysError> {
        match self.fd.wait() {
            Ok(()) => {
                self.armed = None;
                Ok(true)
            }
            Err(Errno::EAGAIN) => Ok(false),
            Err(e) => Err(SysError::new("read(timerfd)", "daemon timer", e)),
        }
    }
}

impl AsFd for Timer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn now_is_monotonic_microseconds() {
        let a = now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = now();
        assert!(b > a);
        assert!(b - a >= Duration::from_millis(2));
        assert!(b - a < Duration::from_secs(5));
    }

    #[test]
    fn timespec_conversion_round_trips() {
        assert_eq!(
            timespec_to_micros(&micros_to_timespec(1_234_567)),
            1_234_567
        );
        assert_eq!(micros_to_timespec(0), TimeSpec::new(0, 1));
    }

    #[test]
    fn timer_fires_at_absolute_deadline() {
        let mut t = Timer::new().unwrap();
        assert!(!t.read().unwrap(), "unarmed timer must not report a fire");
        let start = now();
        t.arm(start + Duration::from_millis(30)).unwrap();
        let mut fds = [nix::poll::PollFd::new(
            t.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(2000u16)).unwrap();
        assert_eq!(n, 1);
        let fired_at = now();
        assert!(t.read().unwrap());
        assert!(fired_at - start >= Duration::from_millis(30));
        assert!(!t.read().unwrap(), "one-shot: second read is EAGAIN");
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn past_deadline_fires_at_once_and_disarm_stops_it() {
        let mut t = Timer::new().unwrap();
        t.arm(Instant(1)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(t.read().unwrap());
        t.arm(now() + Duration::from_millis(5)).unwrap();
        t.disarm().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert!(!t.read().unwrap());
    }
}
