//! Small protocol value types: VRID, priority, instance state.

use std::fmt;

/// Virtual Router Identifier (RFC 5798 §5.2.3): 1..=255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(pub u8);

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A VRRP priority (RFC 5798 §5.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// The IP address owner (RFC 5798 §5.2.4).
    pub const OWNER: Priority = Priority(255);
    /// "The current Master has stopped participating in VRRP" (RFC 5798 §5.2.4).
    pub const SHUTDOWN: Priority = Priority(0);
    /// Highest priority a non-owner can reach through tracker weights (keepalived compat).
    pub const MAX_BACKUP: Priority = Priority(254);
    pub const MIN_BACKUP: Priority = Priority(1);

    pub fn is_owner(self) -> bool {
        self == Self::OWNER
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Instance state (RFC 5798 §6.4 plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum State {
    /// Not yet started (waiting for link information, first script results or
    /// `vrrp_startup_delay`), or stopped.
    #[default]
    Init,
    Backup,
    Master,
    /// keepalived compat: an instance with a failed interface/tracker neither sends nor
    /// processes adverts.
    Fault,
}

impl State {
    /// keepalived's numeric state (JSON `state`): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
    pub fn as_number(self) -> u8 {
        match self {
            State::Init => 0,
            State::Backup => 1,
            State::Master => 2,
            State::Fault => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_match_keepalived() {
        assert_eq!(State::Master.to_string(), "MASTER");
        assert_eq!(State::Backup.to_string(), "BACKUP");
        assert_eq!(State::Fault.to_string(), "FAULT");
        assert_eq!(State::Init.to_string(), "INIT");
        assert_eq!(State::Fault.as_number(), 3);
        assert!(Priority::OWNER.is_owner());
        assert_eq!(Priority::SHUTDOWN.0, 0);
    }
}
