//! The Tendermint state machine (written next).
