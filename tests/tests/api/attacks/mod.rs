//! Hostile traffic: each attack that once exhausted the server, kept as a
//! test. Refusals are checked for their code and for doing no database
//! work; the times they take are the attack soak's business (`bench`).

mod documents;
mod sockets;

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{data, error_code, error_message, spawn_app, spawn_app_with};
