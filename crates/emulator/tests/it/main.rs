//! Integration tests: a real emulator over real HTTP, requests signed with
//! `migplan_wire::signing` like any SDK would.

mod admin;
mod auth;
mod common;
mod concurrency;
mod consistency;
mod dcs;
mod errors;
mod faults;
mod http_date;
mod paging;
mod persist;
mod quota;
mod redis_mover;
mod secrets;
mod sms;
