//! API server integration tests. One binary (links once); each scenario runs on SQLite and,
//! when `DATABASE_URL` names a PostgreSQL server, on a fresh PostgreSQL database too.

mod support;

mod alliances;
mod chains;
mod console;
mod flows;
mod installs;
mod live;
mod marketplace;
mod migrations;
mod openapi;
mod ops;
mod pki;
mod process;
mod quickstart;
mod security;
mod sso;
mod tokens;
