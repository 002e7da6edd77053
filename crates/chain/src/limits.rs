//! Limits every node enforces on what peers and clients send it: a client that stays within
//! them is never refused for size.

/// Largest frame on a peer link (a full block of maximum-size transactions fits).
pub const MAX_FRAME: usize = 96 << 20;
/// Most transactions in one batch submission.
pub const MAX_BATCH: usize = 10_000;
/// Body limit of a batch submission.
pub const MAX_BATCH_BYTES: usize = 32 << 20;
/// Body limit of a single transaction.
pub const MAX_TX_BODY: usize = 64 << 10;
/// Most blocks in one `GET /v1/blocks` page, and the number given when `limit` is absent.
pub const MAX_PAGE_BLOCKS: u32 = 100;
/// Stored bytes of the blocks in one page, past its first block (which is always included).
pub const PAGE_BYTES: usize = 4 << 20;
