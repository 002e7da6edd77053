//! Step by step, for whoever writes a verifier: intermediate values of the `deposit`
//! receipt and of anchored item 0.

use consortia_bft::{VoteKind, vote_sign_bytes};
use consortia_chain::account::Account;
use consortia_chain::block::tx_leaf;
use consortia_chain::receipt::anchor_metadata;
use consortia_chain::tx::Op;
use serde_json::{Value, json};

use super::{Chain, genesis_body, h};

pub fn json(c: &Chain) -> Value {
    let Chain {
        net,
        block,
        items,
        leaves,
        root,
        r_deposit,
        ..
    } = c;
    let g = &net.genesis;
    let t = &r_deposit;
    let accounts: Vec<String> = {
        let mut a: Vec<Account> = g
            .accounts
            .iter()
            .map(|a| Account {
                id: a.id.clone(),
                keys: a.keys.clone(),
                threshold: a.threshold,
                recovery_key: a.recovery_key,
                nonce: 0,
                created_height: 0,
                deposits: 0,
            })
            .collect();
        for tx in &block.txs {
            let acct = a.iter_mut().find(|x| x.id == tx.tx.account).unwrap();
            match &tx.tx.op {
                Op::Deposit { .. } => acct.deposits += 1,
                Op::AddKey { key } => acct.keys.push(key.clone()),
                _ => unreachable!(),
            }
            acct.nonce = tx.tx.nonce;
        }
        a.sort_by(|x, y| x.id.cmp(&y.id));
        a.iter().map(|x| h(borsh::to_vec(x).unwrap())).collect()
    };
    let steps = json!({
        "genesis": "genesis/genesis.json",
        "genesis_hash_input": h([consortia_chain::genesis::GENESIS_DOMAIN, &genesis_body(g)].concat()),
        "genesis_hash": h(g.hash()),
        "validators_hash_input": h([consortia_chain::genesis::VALIDATORS_DOMAIN.to_vec(),
            g.validators.iter().flat_map(|x| [x.public_key.to_vec(), x.power.to_be_bytes().to_vec()].concat()).collect()].concat()),
        "validators_hash": h(g.validators_hash()),
        "receipt": "receipts/deposit.json",
        "tx_borsh": h(borsh::to_vec(&t.tx.tx).unwrap()),
        "tx_hash": h(t.tx_hash),
        "signed_tx_borsh": h(borsh::to_vec(&t.tx).unwrap()),
        "tx_leaf": h(tx_leaf(&t.tx)),
        "tx_leaves": block.txs.iter().map(|x| h(tx_leaf(x))).collect::<Vec<_>>(),
        "tx_root": h(t.header.tx_root),
        "header_borsh": h(borsh::to_vec(&t.header).unwrap()),
        "block_hash": h(t.block_hash),
        "accounts_after_block_borsh": accounts,
        "state_root": h(t.header.state_root),
        "proposer_of_round_1": g.validators.proposer(1, 1),
        "precommit_sign_bytes": h(vote_sign_bytes(&g.chain_id, VoteKind::Precommit, 1, 1, Some(&t.block_hash))),
        "anchored_receipt": "receipts/anchored-0.json",
        "anchor_metadata": anchor_metadata(3),
        "item_borsh": items.iter().map(|i| h(borsh::to_vec(i).unwrap())).collect::<Vec<_>>(),
        "item_leaves": leaves.iter().map(h).collect::<Vec<_>>(),
        "batch_root": h(root),
    });
    steps
}
