//! Application payloads with real byte layouts: HTTP/1.1, TLS 1.2 records,
//! the PostgreSQL wire protocol (v3) and DNS.

pub mod dns;
pub mod http;
pub mod pgsql;
pub mod tls;
