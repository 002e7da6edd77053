//! Anchored receipts that fail: another size, position, item, path or anchor.

use consortia_chain::receipt::AnchoredReceipt;
use consortia_chain::tx::HashAlg;
use consortia_chain::verdict;
use serde_json::Value;

use super::{Chain, Expect, GF, Vectors, edit, h, pretty};

pub fn add(v: &mut Vectors, c: &Chain) {
    let Chain {
        net,
        block,
        leaves,
        r_add_key,
        anchored,
        ..
    } = c;
    let gf = GF;
    let item = |f: &dyn Fn(&mut AnchoredReceipt), i: usize| {
        let mut a = anchored[i].clone();
        f(&mut a);
        pretty(&a)
    };
    let anchored_refusals: Vec<(&str, Vec<u8>, &str, &'static str)> = vec![
        (
            "anchored-size-4",
            item(&|a| a.size = 4, 0),
            "item 0 of 3 claiming a batch of 4 (its audit path alone would pass RFC 6962 for 4)",
            "anchor_metadata",
        ),
        (
            "anchored-2-as-1-of-2",
            item(
                &|a| {
                    a.index = 1;
                    a.size = 2
                },
                2,
            ),
            "item 2 of 3 claiming to be item 1 of 2",
            "anchor_metadata",
        ),
        (
            "anchored-index-3",
            item(&|a| a.index = 3, 0),
            "index 3 in a batch of 3",
            "anchor_position",
        ),
        (
            "anchored-index",
            item(&|a| a.index = 1, 0),
            "item 0 claiming position 1",
            "anchor_path",
        ),
        (
            "anchored-item",
            item(&|a| a.item.metadata.push(' '), 0),
            "the item's metadata changed",
            "anchor_path",
        ),
        (
            "anchored-hash-alg",
            item(&|a| a.item.hash_alg = HashAlg::Sha3_256, 1),
            "the item's algorithm changed (same digest bytes)",
            "anchor_path",
        ),
        (
            "anchored-path-swapped",
            item(&|a| a.path.swap(0, 1), 0),
            "the item's path with its siblings swapped",
            "anchor_path",
        ),
        (
            "anchored-path-truncated",
            item(
                &|a| {
                    a.path.pop();
                },
                0,
            ),
            "the item's path without its last sibling",
            "anchor_path",
        ),
        (
            "anchored-wrong-kind",
            item(&|a| a.anchor = net.receipt(block, 3), 0),
            "anchored by a deposit of the same root whose metadata is {\"kind\":\"contract\",\"leaves\":3}",
            "anchor_metadata",
        ),
        (
            "anchored-not-a-deposit",
            item(&|a| a.anchor = r_add_key.clone(), 0),
            "anchored by an account operation",
            "not_an_anchor",
        ),
        (
            "anchored-anchor-certificate",
            item(&|a| a.anchor.certificate.signatures[0].signature[0] ^= 1, 0),
            "the anchoring transaction's certificate with a signature changed",
            "certificate_signature",
        ),
    ];
    for (name, text, about, code) in anchored_refusals {
        v.case(name, gf, text, Expect::Invalid(code), about);
    }
    v.case(
        "anchored-malformed-uppercase",
        gf,
        edit(&anchored[0], "/item/content_hash", |x| {
            *x = Value::from(x.as_str().unwrap().to_ascii_uppercase())
        }),
        Expect::Invalid(verdict::MALFORMED),
        "the item's content hash in uppercase hex",
    );
    v.case(
        "anchored-malformed-unknown-field",
        gf,
        edit(&anchored[0], "/item", |x| {
            x.as_object_mut()
                .unwrap()
                .insert("leaf".into(), Value::from(h(leaves[0])));
        }),
        Expect::Invalid(verdict::MALFORMED),
        "an unknown member in the item",
    );
}
