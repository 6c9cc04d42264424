//! Operating the server: request ids, limits, switches, shutdown, and
//! malformed input thrown at it.

mod requests;
mod resilience;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::faults::behind_proxy;
use crate::helpers::{
    TestDb, data, error_code, spawn_app, spawn_app_with, test_settings, token, writer,
};
