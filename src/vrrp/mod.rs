//! The VRRP protocol core: pure, sans-IO.

pub mod action;
pub mod ah;
pub mod arp;
pub mod input;
pub mod instance;
pub mod ip;
pub mod ndisc;
pub mod node;
pub mod sim;
pub mod spec;
pub mod stats;
pub mod timer;
pub mod track;
pub mod types;
pub mod wire;

pub use action::{Action, Notification, NotifyKind, NotifyState};
pub use input::{Input, LinkState, RxPacket, TrackerUpdate};
pub use node::Node;
pub use types::{Priority, State, Vrid};
