//! Everything that touches the kernel. The only module where `unsafe` is allowed.
#![allow(unsafe_code)]
pub mod process;
