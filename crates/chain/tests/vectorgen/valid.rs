//! Receipts every verifier must accept, with their whole verdicts.

use crate::common::{self, receipt_with};

use super::{Chain, GF, Vectors, pretty, reversed, valid};

pub fn add(v: &mut Vectors, c: &Chain) {
    let Chain {
        net,
        block,
        r_deposit,
        r_add_key,
        anchored,
        ..
    } = c;
    let g = &net.genesis;
    let gf = GF;
    v.case(
        "deposit",
        gf,
        pretty(&r_deposit),
        valid(g, r_deposit, None),
        "a deposit signed by two keys, non-ASCII and escaped metadata, an external id, expiry 2^64-1",
    );
    v.case(
        "add-key",
        gf,
        pretty(&r_add_key),
        valid(g, r_add_key, None),
        "an account operation (a key object inside the transaction)",
    );
    let least = receipt_with(block, &net.certify(&block.header, 1, &[0, 1, 3]), 0);
    v.case(
        "deposit-least-quorum",
        gf,
        pretty(&least),
        valid(g, &least, None),
        "certified by validators 0, 1 and 3: power 7 of 10, the least quorum",
    );
    let reordered = reversed(&serde_json::to_value(r_deposit).unwrap());
    v.case(
        "deposit-reordered",
        gf,
        reordered.into_bytes(),
        valid(g, r_deposit, None),
        "the deposit receipt with every object's members in reverse alphabetical order and no whitespace",
    );
    // Transaction signatures follow ZIP 215 (cofactored), precommits strict RFC 8032
    // (cofactorless): a signature with a small-order component in R tells them apart.
    let mut zip215 = net.deposit(1, [0x77; 32], "");
    zip215.signatures[0].signature = common::sign_with_torsion(&net.alice, &zip215.hash());
    let zip215_block = net.block(vec![zip215], 1);
    let r_zip215 = net.receipt(&zip215_block, 0);
    v.case(
        "deposit-zip215-signature",
        gf,
        pretty(&r_zip215),
        valid(g, &r_zip215, None),
        "a transaction signature with a small-order component in R: valid under ZIP 215 (cofactored), which transaction signatures follow",
    );
    for (i, a) in anchored.iter().enumerate() {
        v.case(
            &format!("anchored-{i}"),
            gf,
            pretty(a),
            valid(g, &a.anchor, Some(a)),
            &format!("item {i} of a batch of 3 anchored by one deposit of the batch's root"),
        );
    }
}
