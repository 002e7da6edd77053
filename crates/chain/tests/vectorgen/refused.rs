//! Well-formed receipts that fail one check each, in the order of the checks.

use consortia_bft::{VoteKind, vote_sign_bytes};
use consortia_chain::block::Block;
use consortia_chain::receipt::Receipt;
use consortia_chain::tx::SignedTx;

use crate::common::{self, receipt_with};

use super::{Chain, Expect, GF, Vectors, pretty};

pub fn add(v: &mut Vectors, c: &Chain) {
    let Chain {
        net,
        block,
        r_deposit,
        ..
    } = c;
    let gf = GF;
    let tampered = |f: &dyn Fn(&mut Receipt)| {
        let mut r = r_deposit.clone();
        f(&mut r);
        pretty(&r)
    };
    // Blocks a quorum of validators could certify but no honest node builds: each is
    // certified properly, so only the rule at stake refuses it.
    let certified = |f: &dyn Fn(&mut Block), txs: Vec<SignedTx>, cert_round: u32| {
        let mut b = net.block(txs, 1);
        f(&mut b);
        pretty(&receipt_with(
            &b,
            &net.certify(&b.header, cert_round, &[1, 2, 3]),
            0,
        ))
    };
    let plain = || vec![net.deposit(1, [0x5a; 32], "")];
    let mut unsigned = net.deposit(1, [0x5a; 32], "");
    unsigned.signatures.clear();
    let mut twice = net.deposit(1, [0x5a; 32], "");
    twice.signatures.push(twice.signatures[0].clone());
    let refusals: Vec<(&str, Vec<u8>, &str, &'static str)> = vec![
        (
            "wrong-chain",
            tampered(&|r| r.header.chain_id = "another-chain".into()),
            "the header's chain id is not the genesis one",
            "wrong_chain",
        ),
        (
            "tx-hash",
            tampered(&|r| r.tx.tx.nonce += 1),
            "the transaction's nonce changed",
            "tx_hash",
        ),
        (
            "tx-unsigned",
            certified(&|_| {}, vec![unsigned.clone()], 1),
            "a certified block whose transaction has no signature",
            "tx_unsigned",
        ),
        (
            "tx-duplicate-signer",
            certified(&|_| {}, vec![twice.clone()], 1),
            "a certified block whose transaction lists one signature twice",
            "tx_duplicate_signer",
        ),
        (
            "tx-signature",
            tampered(&|r| r.tx.signatures[1].signature[5] ^= 1),
            "a transaction signature changed",
            "tx_signature",
        ),
        (
            "position",
            tampered(&|r| r.index = 4),
            "index 4 in a block of 4 transactions",
            "position",
        ),
        (
            "proof",
            tampered(&|r| r.proof[0][0] ^= 1),
            "a sibling of the audit path changed",
            "proof",
        ),
        (
            "proof-swapped",
            tampered(&|r| r.proof.swap(0, 1)),
            "the audit path's siblings swapped",
            "proof",
        ),
        (
            "block-hash",
            tampered(&|r| r.header.time_ms += 1),
            "the header's time changed",
            "block_hash",
        ),
        (
            "prev-hash",
            certified(&|b| b.header.prev_hash = [0; 32], plain(), 1),
            "a certified block 1 whose previous hash is not the genesis hash",
            "prev_hash",
        ),
        (
            "time",
            certified(
                &|b| b.header.time_ms = common::GENESIS_TIME_MS - 1,
                plain(),
                1,
            ),
            "a certified block 1 dated 1 ms before the genesis",
            "time",
        ),
        (
            "proposer",
            certified(&|b| b.header.proposer = 1, plain(), 1),
            "a certified block naming validator 1 as the proposer of round 1 (validator 2's)",
            "proposer",
        ),
        (
            "round",
            certified(&|_| {}, plain(), 0),
            "a block naming round 1, certified in round 0",
            "round",
        ),
        (
            "certificate-height",
            tampered(&|r| r.certificate.height = 2),
            "the certificate's height changed",
            "certificate_height",
        ),
        (
            "certificate-block",
            tampered(&|r| r.certificate.block_hash[0] ^= 1),
            "the certificate's block hash changed",
            "certificate_block",
        ),
        (
            "certificate-unknown-validator",
            tampered(&|r| r.certificate.signatures[0].validator = 4),
            "a signature naming validator 4 of 4",
            "certificate_unknown_validator",
        ),
        (
            "certificate-duplicate-signer",
            tampered(&|r| r.certificate.signatures[0] = r.certificate.signatures[1].clone()),
            "validator 2's signature twice instead of validator 1's",
            "certificate_duplicate_signer",
        ),
        (
            "certificate-no-quorum",
            pretty(&receipt_with(
                block,
                &net.certify(&block.header, 1, &[0, 1, 2]),
                0,
            )),
            "signed by validators 0, 1 and 2: power 6 of 10, not more than two thirds",
            "certificate_no_quorum",
        ),
        (
            "certificate-torsion",
            tampered(&|r| {
                let msg = vote_sign_bytes(
                    common::CHAIN,
                    VoteKind::Precommit,
                    1,
                    1,
                    Some(&r.block_hash),
                );
                r.certificate.signatures[0].signature =
                    common::sign_with_torsion(&net.validators[1], &msg);
            }),
            "validator 1's precommit with a small-order component in R: refused by the strict (cofactorless) check precommits get",
            "certificate_signature",
        ),
        (
            "certificate-signature",
            tampered(&|r| r.certificate.signatures[2].signature[40] ^= 1),
            "a precommit signature changed",
            "certificate_signature",
        ),
    ];
    for (name, text, about, code) in refusals {
        v.case(name, gf, text, Expect::Invalid(code), about);
    }
    v.case(
        "validators",
        "other-validators.json",
        pretty(&r_deposit),
        Expect::Invalid("validators"),
        "the genuine deposit receipt checked against a genesis of other validators",
    );
}
