//! Per-instance timer table: a fixed set of named deadlines, the earliest of which the node
//! reports through `poll_timeout()`.

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// MASTER: next advertisement (RFC 5798 Adver_Timer).
    Advert = 0,
    /// BACKUP: Master_Down_Timer (RFC 5798 §6.2).
    MasterDown = 1,
    /// MASTER: second block of GARPs after `garp_master_delay`.
    GarpSecond = 2,
    /// MASTER: periodic `garp_master_refresh`.
    GarpRefresh = 3,
    /// MASTER: second block of GARPs after a lower-priority advert (`garp_lower_prio_delay`).
    LowerPrioGarp = 4,
}

const N: usize = 5;
const ALL: [Timer; N] = [
    Timer::Advert,
    Timer::MasterDown,
    Timer::GarpSecond,
    Timer::GarpRefresh,
    Timer::LowerPrioGarp,
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; N],
}

impl TimerTable {
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.deadlines[t as usize] = Some(at);
    }
    pub fn stop(&mut self, t: Timer) {
        self.deadlines[t as usize] = None;
    }
    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.deadlines[t as usize]
    }
    pub fn stop_all(&mut self) {
        self.deadlines = [None; N];
    }
    /// Earliest armed deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
    /// Timers whose deadline is `<= now`, disarmed, in table order.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut out = Vec::new();
        for t in ALL {
            if let Some(d) = self.deadlines[t as usize]
                && d <= now
            {
                self.deadlines[t as usize] = None;
                out.push(t);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::MasterDown, Instant(30));
        t.set(Timer::GarpSecond, Instant(10));
        assert_eq!(t.next_timeout(), Some(Instant(10)));
        assert_eq!(t.take_expired(Instant(9)), vec![]);
        assert_eq!(
            t.take_expired(Instant(30)),
            vec![Timer::MasterDown, Timer::GarpSecond]
        );
        assert_eq!(t.next_timeout(), None);
    }
}
