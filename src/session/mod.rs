//! The layer between the engine ([`crate::wire`]) and the protocol clients: who logs in
//! ([`login`]), SASL ([`sasl`]), and connections made again after they broke ([`reconnect`],
//! [`retry`]).

pub mod login;
pub mod reconnect;
pub mod retry;
pub mod sasl;
