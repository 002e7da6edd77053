//! Cursor pagination: stable ordering by a monotonic key, opaque cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Default page size when the caller gives none.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page a caller may ask for.
pub const MAX_LIMIT: u64 = 200;

/// A validated page request: how many rows and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return at most.
    pub limit: u64,
    /// The sort key of the last row of the previous page.
    pub after: Option<String>,
}

/// Why a page request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// `limit` outside 1..=MAX_LIMIT.
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    Limit,
    /// The cursor was not one we issued.
    #[error("cursor is not valid: pass back the `next_cursor` of a previous page unchanged")]
    Cursor,
}

impl PageRequest {
    /// Validates raw query values.
    pub fn parse(limit: Option<u64>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode_cursor(c).ok_or(PageError::Cursor)?),
        };
        Ok(PageRequest { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }
}

/// Cuts a fetched batch (of up to `limit + 1` rows) to a page and its next cursor.
pub fn finish<T>(
    mut rows: Vec<T>,
    req: &PageRequest,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as u64 > req.limit;
    rows.truncate(req.limit as usize);
    let next = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    (rows, next)
}

const CURSOR_TAG: &str = "c1:";

/// Makes an opaque cursor from a sort key.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{key}"))
}

/// Reads a cursor back; None when it is not one of ours.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 256 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let key = text.strip_prefix(CURSOR_TAG)?;
    (!key.is_empty() && key.len() <= 128).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(PageRequest::parse(Some(0), None), Err(PageError::Limit));
        assert_eq!(
            PageRequest::parse(Some(MAX_LIMIT + 1), None),
            Err(PageError::Limit)
        );
        assert_eq!(
            PageRequest::parse(Some(5), Some("!!")),
            Err(PageError::Cursor)
        );
        assert_eq!(
            PageRequest::parse(Some(5), Some(&URL_SAFE_NO_PAD.encode("x"))),
            Err(PageError::Cursor)
        );
        let c = encode_cursor("0190-abc");
        assert_eq!(
            PageRequest::parse(Some(5), Some(&c))
                .unwrap()
                .after
                .as_deref(),
            Some("0190-abc")
        );
    }

    #[test]
    fn finish_cuts_and_points_at_last_row() {
        let req = PageRequest::parse(Some(2), None).unwrap();
        let (rows, next) = finish(vec![1, 2, 3], &req, |r| r.to_string());
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode_cursor(&next.unwrap()).as_deref(), Some("2"));
        let (rows, next) = finish(vec![1, 2], &req, |r| r.to_string());
        assert_eq!(rows, vec![1, 2]);
        assert!(next.is_none());
    }
}
