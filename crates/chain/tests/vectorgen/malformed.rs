//! Receipts whose JSON is not a receipt: the verdict is `malformed`.

use consortia_chain::receipt::Receipt;
use consortia_chain::verdict;
use serde_json::Value;

use super::{Chain, Expect, GF, Vectors, edit, pretty};

pub fn add(v: &mut Vectors, c: &Chain) {
    let Chain {
        r_deposit,
        r_add_key,
        ..
    } = c;
    let gf = GF;
    let upper = |at: &str| {
        edit(&r_deposit, at, |x| {
            *x = Value::from(x.as_str().unwrap().to_ascii_uppercase())
        })
    };
    v.case(
        "malformed-uppercase-tx-hash",
        gf,
        upper("/tx_hash"),
        Expect::Invalid(verdict::MALFORMED),
        "tx_hash in uppercase hex",
    );
    v.case(
        "malformed-uppercase-signature",
        gf,
        upper("/certificate/signatures/0/signature"),
        Expect::Invalid(verdict::MALFORMED),
        "a precommit signature in uppercase hex",
    );
    let extra = |r: &Receipt, at: &str| {
        edit(r, at, |x| {
            x.as_object_mut()
                .unwrap()
                .insert("note".into(), Value::from("x"));
        })
    };
    for (name, r, at, about) in [
        ("receipt", &r_deposit, "", "the receipt object"),
        ("certificate", &r_deposit, "/certificate", "the certificate"),
        (
            "certificate-signature",
            &r_deposit,
            "/certificate/signatures/0",
            "a certificate signature",
        ),
        ("header", &r_deposit, "/header", "the header"),
        (
            "tx-signature",
            &r_deposit,
            "/tx/signatures/1",
            "a transaction signature",
        ),
        (
            "operation",
            &r_deposit,
            "/tx/tx/op/deposit",
            "the deposit operation",
        ),
        (
            "key",
            &r_add_key,
            "/tx/tx/op/add_key/key",
            "an account-key object",
        ),
    ] {
        v.case(
            &format!("malformed-unknown-field-{name}"),
            gf,
            extra(r, at),
            Expect::Invalid(verdict::MALFORMED),
            &format!("an unknown member in {about}"),
        );
    }
    let text = String::from_utf8(pretty(&r_deposit)).unwrap();
    v.case(
        "malformed-duplicate-member",
        gf,
        text.replacen("{\n", "{\n  \"height\": 1,\n", 1)
            .into_bytes(),
        Expect::Invalid(verdict::MALFORMED),
        "the member height twice (with the same value)",
    );
    v.case(
        "malformed-missing-member",
        gf,
        edit(&r_deposit, "", |x| {
            x.as_object_mut().unwrap().remove("certificate");
        }),
        Expect::Invalid(verdict::MALFORMED),
        "no certificate",
    );
    v.case(
        "malformed-number-as-string",
        gf,
        edit(&r_deposit, "/height", |x| *x = Value::from("1")),
        Expect::Invalid(verdict::MALFORMED),
        "height as a string",
    );
    v.case(
        "malformed-short-hash",
        gf,
        edit(&r_deposit, "/block_hash", |x| {
            *x = Value::from(x.as_str().unwrap()[2..].to_string())
        }),
        Expect::Invalid(verdict::MALFORMED),
        "a 31-byte block hash",
    );
    v.case(
        "malformed-truncated",
        gf,
        text.as_bytes()[..text.len() / 2].to_vec(),
        Expect::Invalid(verdict::MALFORMED),
        "half a receipt",
    );
}
