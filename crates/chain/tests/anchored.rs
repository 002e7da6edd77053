//! Anchored receipts bind the item's position and the batch size (issue 17 point 12).
//!
//! An RFC 6962 audit path does not fix the tree size on its own: the path of item 0 of a
//! 3-item batch also verifies as item 0 of 4, and item 2 of 3 as item 1 of 2. The size is
//! bound by the anchoring transaction's signed metadata, `{"kind":"consortia.merkle-anchor",
//! "leaves":N}`, and the path is then checked with that size.

mod common;

use common::{Net, anchor_tx, anchored, items};
use consortia_chain::merkle;
use consortia_chain::receipt::{AnchoredItem, AnchoredReceipt, verify_anchored};
use consortia_chain::tx::{HashAlg, Op};

/// Sizes and positions a forger would try for a batch of `n`: every size up to `n + 4`, some
/// far ones, and for each every position up to one past its end.
fn claims(n: u64) -> Vec<(u64, u64)> {
    let mut sizes: Vec<u64> = (0..=n + 4).collect();
    sizes.extend([2 * n, 2 * n + 1, 64, u64::MAX]);
    sizes.sort();
    sizes.dedup();
    let mut out = Vec::new();
    for s in sizes {
        let mut idx: Vec<u64> = (0..=(s.min(n + 5)).saturating_add(1)).collect();
        idx.extend([s.saturating_sub(1), s, s.saturating_add(1), u64::MAX]);
        idx.sort();
        idx.dedup();
        out.extend(idx.into_iter().map(|i| (i, s)));
    }
    out
}

#[test]
fn a_path_proves_only_its_own_position_in_a_batch_of_its_own_size() {
    let net = Net::new();
    for n in 1..=9usize {
        let batch = items(n);
        let block = net.block(
            vec![
                net.deposit(1, [7; 32], "{\"kind\":\"contract\"}"),
                anchor_tx(&net, 2, &batch),
            ],
            0,
        );
        let receipts = anchored(&block, 1, &batch, &net);
        for (i, good) in receipts.iter().enumerate() {
            verify_anchored(&net.genesis, good)
                .unwrap_or_else(|e| panic!("item {i} of {n} is refused: {e}"));
            let mut accepted = Vec::new();
            for (index, size) in claims(n as u64) {
                if (index, size) == (i as u64, n as u64) {
                    continue;
                }
                let mut r = good.clone();
                (r.index, r.size) = (index, size);
                if verify_anchored(&net.genesis, &r).is_ok() {
                    accepted.push((index, size));
                }
            }
            assert!(
                accepted.is_empty(),
                "the path of item {i} of {n} also proves (index, size) {accepted:?}"
            );
            // Another item's path, or this one altered: refused.
            for (k, other) in receipts.iter().enumerate() {
                if k != i {
                    let mut r = good.clone();
                    r.path = other.path.clone();
                    assert!(
                        verify_anchored(&net.genesis, &r).is_err(),
                        "item {i} of {n} with the path of item {k}"
                    );
                }
            }
            for (what, path) in tampered_paths(&good.path) {
                let mut r = good.clone();
                r.path = path;
                assert!(
                    verify_anchored(&net.genesis, &r).is_err(),
                    "item {i} of {n} with its path {what}"
                );
            }
        }
    }
}

/// The path with siblings swapped, dropped, added or changed.
fn tampered_paths(path: &[[u8; 32]]) -> Vec<(String, Vec<[u8; 32]>)> {
    let mut out = Vec::new();
    for a in 0..path.len() {
        for b in a + 1..path.len() {
            if path[a] != path[b] {
                let mut p = path.to_vec();
                p.swap(a, b);
                out.push((format!("siblings {a} and {b} swapped"), p));
            }
        }
        let mut p = path.to_vec();
        p.remove(a);
        out.push((format!("without sibling {a}"), p));
        let mut p = path.to_vec();
        p[a][31] ^= 1;
        out.push((format!("sibling {a} changed"), p));
    }
    for at in 0..=path.len() {
        for extra in [[0u8; 32], merkle::leaf_hash(b"x")] {
            let mut p = path.to_vec();
            p.insert(at, extra);
            out.push((format!("extended at {at}"), p));
        }
        if let Some(last) = path.last() {
            let mut p = path.to_vec();
            p.insert(at, *last);
            out.push((format!("last sibling repeated at {at}"), p));
        }
    }
    out
}

/// Only a deposit whose metadata is exactly the anchor convention, with the receipt's size,
/// anchors a batch: any other deposit of the same root (another kind, another count, the
/// count in another form, extra fields) is a deposit, not an anchor.
#[test]
fn only_a_merkle_anchor_deposit_with_the_batch_size_anchors() {
    let net = Net::new();
    let batch = items(3);
    let root = merkle::root(&batch.iter().map(AnchoredItem::leaf).collect::<Vec<_>>());
    let refused_metadata = [
        r#"{"kind":"contract","leaves":3}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":4}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":2}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":"3"}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":3.0}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":-3}"#,
        r#"{"kind":"consortia.merkle-anchor","leaves":3,"extra":1}"#,
        r#"{"kind":"consortia.merkle-anchor"}"#,
        r#"{"leaves":3}"#,
        r#"{"leaves":3,"kind":"consortia.merkle-anchor"}"#,
        r#"{"kind": "consortia.merkle-anchor", "leaves": 3}"#,
        r#"{"kind":"Consortia.merkle-anchor","leaves":3}"#,
        r#"[3]"#,
        "",
        "3",
    ];
    let mut accepted = Vec::new();
    for (k, metadata) in refused_metadata.iter().enumerate() {
        let block = net.block(vec![net.deposit(1, root, metadata)], 0);
        for r in anchored(&block, 0, &batch, &net) {
            if verify_anchored(&net.genesis, &r).is_ok() {
                accepted.push((k, *metadata, r.index));
            }
        }
    }
    assert!(accepted.is_empty(), "anchored by {accepted:?}");

    // The root deposited with another algorithm (same 32 bytes), or another operation.
    let meta = serde_json::json!({"kind": "consortia.merkle-anchor", "leaves": 3}).to_string();
    let sha3 = net
        .tx(
            "alice",
            1,
            Op::Deposit {
                hash_alg: HashAlg::Sha3_256,
                content_hash: root.to_vec(),
                metadata: meta.clone(),
                external_id: None,
            },
        )
        .sign(&[&net.alice]);
    let add_key = net
        .tx(
            "bob",
            1,
            Op::AddKey {
                key: common::wk(&common::key(9), 1),
            },
        )
        .sign(&[&net.bob]);
    let block = net.block(vec![sha3, add_key], 0);
    for at in 0..2 {
        for r in anchored(&block, at, &batch, &net) {
            assert!(verify_anchored(&net.genesis, &r).is_err(), "anchor {at}");
        }
    }

    // And the anchor the API server writes does anchor.
    let block = net.block(vec![net.deposit(1, root, &meta)], 0);
    for r in anchored(&block, 0, &batch, &net) {
        verify_anchored(&net.genesis, &r).unwrap();
    }
}

/// The size in the receipt and the signed leaf count must agree even when the path would
/// verify with the receipt's size: a batch whose anchor signed 3 leaves cannot be presented
/// as a batch of 4, although RFC 6962's algorithm takes item 0's path for either size.
#[test]
fn rfc_6962_alone_would_take_a_three_item_path_for_four_items() {
    let net = Net::new();
    let batch = items(3);
    let leaves: Vec<_> = batch.iter().map(AnchoredItem::leaf).collect();
    let root = merkle::root(&leaves);
    let path = merkle::proof(&leaves, 0);
    assert!(merkle::verify(0, 4, &leaves[0], &path, &root));
    let block = net.block(vec![anchor_tx(&net, 1, &batch)], 0);
    let good = anchored(&block, 0, &batch, &net).remove(0);
    let four = AnchoredReceipt { size: 4, ..good };
    assert!(verify_anchored(&net.genesis, &four).is_err());
}

/// The verifier's anchor metadata is byte for byte what the API server's deposit service has
/// always written (`serde_json::json!` with these two keys), so stored receipts stay valid.
#[test]
fn the_anchor_metadata_is_what_the_api_server_writes() {
    for n in [1usize, 2, 3, 9, 10, 4096, 1 << 20] {
        assert_eq!(
            consortia_chain::receipt::anchor_metadata(n as u64),
            serde_json::json!({"kind": "consortia.merkle-anchor", "leaves": n}).to_string()
        );
    }
}
