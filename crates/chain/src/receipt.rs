//! Receipts: proof that a transaction was committed, checkable with the genesis file alone.

use consortia_bft::{CertificateError, CommitCertificate, Hash, hexser, verify_certificate};
use serde::{Deserialize, Serialize};

use crate::block::{Header, tx_leaf};
use crate::genesis::Genesis;
use crate::merkle;
use crate::tx::SignedTx;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub tx: SignedTx,
    #[serde(with = "hexser::array")]
    pub tx_hash: Hash,
    pub height: u64,
    /// Position of the transaction in its block.
    pub index: u32,
    #[serde(with = "hexser::array")]
    pub block_hash: Hash,
    /// RFC 6962 audit path from the transaction's leaf to `header.tx_root`.
    #[serde(with = "proof_hex")]
    pub proof: Vec<Hash>,
    pub header: Header,
    pub certificate: CommitCertificate,
}

/// A receipt's own part, without the block header and commit certificate every receipt of
/// the block shares: stores keep one of these per transaction and the block's seal once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxProof {
    pub tx: SignedTx,
    /// Position of the transaction in its block.
    pub index: u32,
    #[serde(with = "proof_hex")]
    pub proof: Vec<Hash>,
}

/// What every receipt of a block shares: its header and the certificate that committed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSeal {
    pub header: Header,
    pub certificate: CommitCertificate,
}

impl Receipt {
    /// The block's part.
    pub fn seal(&self) -> BlockSeal {
        BlockSeal {
            header: self.header.clone(),
            certificate: self.certificate.clone(),
        }
    }

    /// The transaction's part (the rest is the block's).
    pub fn tx_proof(&self) -> TxProof {
        TxProof {
            tx: self.tx.clone(),
            index: self.index,
            proof: self.proof.clone(),
        }
    }

    /// A whole receipt again from its transaction's part and its block's header and
    /// certificate. Nothing is checked here: `verify_receipt` does that.
    pub fn assemble(p: TxProof, seal: BlockSeal) -> Receipt {
        Receipt {
            tx_hash: p.tx.hash(),
            height: seal.header.height,
            index: p.index,
            block_hash: seal.header.hash(),
            proof: p.proof,
            tx: p.tx,
            header: seal.header,
            certificate: seal.certificate,
        }
    }
}

/// A deposit anchored with others: the batch's items are the leaves of an RFC 6962 Merkle
/// tree whose root one transaction deposited. One signature and one verification per
/// validator serve the whole batch; each item's receipt is its inclusion path plus the
/// anchoring transaction's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, borsh::BorshSerialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredItem {
    pub hash_alg: crate::tx::HashAlg,
    #[serde(with = "hexser::bytes")]
    pub content_hash: Vec<u8>,
    #[serde(default)]
    pub metadata: String,
}

/// Domain of an anchored item's leaf.
pub const ANCHORED_ITEM_DOMAIN: &[u8] = b"consortia/anchored-deposit/v1";

impl AnchoredItem {
    /// Its leaf in the batch's tree: `leaf_hash(DOMAIN ‖ borsh(item))`.
    pub fn leaf(&self) -> Hash {
        let mut data = ANCHORED_ITEM_DOMAIN.to_vec();
        data.extend(borsh::to_vec(self).expect("borsh to memory"));
        merkle::leaf_hash(&data)
    }
}

/// An anchored deposit's own part: the item, its place in the batch's tree, and the
/// anchoring transaction's part (the block's seal is shared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredPart {
    pub item: AnchoredItem,
    pub index: u64,
    pub size: u64,
    #[serde(with = "proof_hex")]
    pub path: Vec<Hash>,
    pub anchor: TxProof,
}

/// The whole receipt of an anchored deposit; `consortia-node verify-receipt` checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredReceipt {
    pub item: AnchoredItem,
    pub index: u64,
    pub size: u64,
    #[serde(with = "proof_hex")]
    pub path: Vec<Hash>,
    pub anchor: Receipt,
}

impl AnchoredReceipt {
    pub fn assemble(p: AnchoredPart, seal: BlockSeal) -> AnchoredReceipt {
        AnchoredReceipt {
            item: p.item,
            index: p.index,
            size: p.size,
            path: p.path,
            anchor: Receipt::assemble(p.anchor, seal),
        }
    }
}

/// The `kind` an anchoring deposit's metadata names.
pub const ANCHOR_KIND: &str = "consortia.merkle-anchor";

/// The metadata of the deposit that anchors a batch of `leaves` items, exactly:
/// `{"kind":"consortia.merkle-anchor","leaves":N}` (no spaces, N in decimal). The
/// transaction's signatures cover it, so the batch size a receipt claims is the signed one.
pub fn anchor_metadata(leaves: u64) -> String {
    format!("{{\"kind\":\"{ANCHOR_KIND}\",\"leaves\":{leaves}}}")
}

/// Verifies an anchored deposit: the anchoring transaction's receipt (as [`verify_receipt`]);
/// that it is a SHA-256 deposit of a root whose metadata is [`anchor_metadata`] of the
/// receipt's `size`; that `index < size`; and the item's path to that root as the path of
/// leaf `index` in a tree of `size` leaves (RFC 9162 §2.1.3.2). An audit path alone does not
/// fix the tree's size (item 0's path in a 3-leaf tree also verifies in a 4-leaf one), so
/// the size must come from the signed metadata.
pub fn verify_anchored(
    genesis: &Genesis,
    r: &AnchoredReceipt,
) -> Result<VerifiedReceipt, ReceiptError> {
    let v = verify_receipt(genesis, &r.anchor)?;
    let crate::tx::Op::Deposit {
        hash_alg: crate::tx::HashAlg::Sha256,
        content_hash,
        metadata,
        ..
    } = &r.anchor.tx.tx.op
    else {
        return Err(ReceiptError::NotAnAnchor);
    };
    let root: Hash = content_hash
        .as_slice()
        .try_into()
        .map_err(|_| ReceiptError::NotAnAnchor)?;
    if *metadata != anchor_metadata(r.size) {
        return Err(ReceiptError::AnchorMetadata(r.size));
    }
    if r.index >= r.size {
        return Err(ReceiptError::AnchorPosition {
            index: r.index,
            size: r.size,
        });
    }
    if !merkle::verify(r.index, r.size, &r.item.leaf(), &r.path, &root) {
        return Err(ReceiptError::AnchorPath);
    }
    Ok(v)
}

mod proof_hex {
    use consortia_bft::Hash;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct H(#[serde(with = "consortia_bft::hexser::array")] Hash);

    pub fn serialize<S: Serializer>(v: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|h| H(*h)).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Ok(Vec::<H>::deserialize(d)?.into_iter().map(|h| h.0).collect())
    }
}

/// What a valid receipt establishes.
#[derive(Clone, Debug, Serialize)]
pub struct VerifiedReceipt {
    pub chain_id: String,
    #[serde(with = "hexser::array")]
    pub tx_hash: Hash,
    pub height: u64,
    pub index: u32,
    #[serde(with = "hexser::array")]
    pub block_hash: Hash,
    pub block_time_ms: u64,
    pub account: String,
    pub kind: &'static str,
    /// Voting power that signed the block, and the total.
    pub signed_power: u64,
    pub total_power: u64,
}

/// Why a receipt does not verify. [`ReceiptError::code`] names each reason the same way in
/// every verifier (`crates/chain/RECEIPTS.md`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("receipt is for chain {0:?}, the genesis is for another chain")]
    WrongChain(String),
    #[error("transaction hash does not match the transaction")]
    TxHash,
    #[error("the transaction carries no signature")]
    TxUnsigned,
    #[error("key {0} signs the transaction twice")]
    TxDuplicateSigner(String),
    #[error("the transaction's signature by {0} does not verify")]
    TxSignature(String),
    #[error("height or index does not match the header")]
    Position,
    #[error("Merkle proof does not lead to the block's transaction root")]
    Proof,
    #[error("block hash does not match the header")]
    BlockHash,
    #[error("block 1 does not follow the genesis: its previous hash is not the genesis hash")]
    PrevHash,
    #[error("block 1 is dated before the genesis")]
    Time,
    #[error("block names a validator set other than the genesis one")]
    Validators,
    #[error(
        "the header names validator {named} as proposer of round {round}, whose proposer is {expected}"
    )]
    Proposer {
        named: u32,
        round: u32,
        expected: u64,
    },
    #[error("commit certificate: {0}")]
    Certificate(#[from] CertificateError),
    #[error(
        "the header names round {header}, the certificate decides the block in round {certificate}"
    )]
    Round { header: u32, certificate: u32 },
    #[error("the anchoring transaction is not a SHA-256 deposit of a Merkle root")]
    NotAnAnchor,
    #[error(
        "the anchoring deposit's metadata is not {{\"kind\":\"consortia.merkle-anchor\",\"leaves\":{0}}}: it anchors another kind or another batch size than the receipt's"
    )]
    AnchorMetadata(u64),
    #[error("the deposit is item {index} of a batch of {size}: no such position")]
    AnchorPosition { index: u64, size: u64 },
    #[error("the deposit's inclusion path does not lead to the anchored root")]
    AnchorPath,
}

impl ReceiptError {
    /// A stable, language-neutral name of the reason (snake case), as the specification and
    /// the test vectors give it.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::WrongChain(_) => "wrong_chain",
            ReceiptError::TxHash => "tx_hash",
            ReceiptError::TxUnsigned => "tx_unsigned",
            ReceiptError::TxDuplicateSigner(_) => "tx_duplicate_signer",
            ReceiptError::TxSignature(_) => "tx_signature",
            ReceiptError::Position => "position",
            ReceiptError::Proof => "proof",
            ReceiptError::BlockHash => "block_hash",
            ReceiptError::PrevHash => "prev_hash",
            ReceiptError::Time => "time",
            ReceiptError::Validators => "validators",
            ReceiptError::Proposer { .. } => "proposer",
            ReceiptError::Certificate(e) => match e {
                CertificateError::WrongHeight { .. } => "certificate_height",
                CertificateError::WrongBlock => "certificate_block",
                CertificateError::UnknownValidator(..) => "certificate_unknown_validator",
                CertificateError::DuplicateSigner(_) => "certificate_duplicate_signer",
                CertificateError::NoQuorum { .. } => "certificate_no_quorum",
                CertificateError::BadSignature(_) => "certificate_signature",
            },
            ReceiptError::Round { .. } => "round",
            ReceiptError::NotAnAnchor => "not_an_anchor",
            ReceiptError::AnchorMetadata(_) => "anchor_metadata",
            ReceiptError::AnchorPosition { .. } => "anchor_position",
            ReceiptError::AnchorPath => "anchor_path",
        }
    }
}

/// Verifies a receipt against a genesis, in this order (the first failure is the verdict):
/// both chain ids are the genesis one; the transaction hashes to `tx_hash`, carries at least
/// one signature, no key twice, and every signature verifies; `height` is the header's (at
/// least 1) and `index` below its `tx_count`; the transaction's leaf is at `index` under
/// `tx_root`; the header hashes to `block_hash` and names the genesis validator set; block 1
/// follows the genesis (previous hash, time not before it); the header names its round's proposer;
/// validators of that set holding more than two thirds of the power precommitted the block
/// hash at that height; and the certificate's round is not before the header's.
pub fn verify_receipt(genesis: &Genesis, r: &Receipt) -> Result<VerifiedReceipt, ReceiptError> {
    let chain = &genesis.chain_id;
    if &r.tx.tx.chain_id != chain || &r.header.chain_id != chain {
        return Err(ReceiptError::WrongChain(r.header.chain_id.clone()));
    }
    if r.tx.hash() != r.tx_hash {
        return Err(ReceiptError::TxHash);
    }
    check_tx_signatures(&r.tx)?;
    if r.header.height != r.height || r.height == 0 || r.index >= r.header.tx_count {
        return Err(ReceiptError::Position);
    }
    if !merkle::verify(
        u64::from(r.index),
        u64::from(r.header.tx_count),
        &tx_leaf(&r.tx),
        &r.proof,
        &r.header.tx_root,
    ) {
        return Err(ReceiptError::Proof);
    }
    if r.header.hash() != r.block_hash {
        return Err(ReceiptError::BlockHash);
    }
    if r.header.validators_hash != genesis.validators_hash() {
        return Err(ReceiptError::Validators);
    }
    // The one link to the chain's past a receipt carries: block 1's parent is the genesis.
    if r.height == 1 {
        if r.header.prev_hash != genesis.hash() {
            return Err(ReceiptError::PrevHash);
        }
        if r.header.time_ms < genesis.genesis_time_ms {
            return Err(ReceiptError::Time);
        }
    }
    // As block validation does: the header names its round's proposer.
    let expected = genesis.validators.proposer(r.height, r.header.round) as u64;
    if u64::from(r.header.proposer) != expected {
        return Err(ReceiptError::Proposer {
            named: r.header.proposer,
            round: r.header.round,
            expected,
        });
    }
    verify_certificate(
        chain,
        &genesis.validators,
        r.height,
        &r.block_hash,
        &r.certificate,
    )?;
    // A block is decided in the round it was proposed in or later.
    if r.header.round > r.certificate.round {
        return Err(ReceiptError::Round {
            header: r.header.round,
            certificate: r.certificate.round,
        });
    }
    let signed_power = r
        .certificate
        .signatures
        .iter()
        .map(|s| genesis.validators.power_of(s.validator as usize))
        .sum();
    Ok(VerifiedReceipt {
        chain_id: chain.clone(),
        tx_hash: r.tx_hash,
        height: r.height,
        index: r.index,
        block_hash: r.block_hash,
        block_time_ms: r.header.time_ms,
        account: r.tx.tx.account.clone(),
        kind: r.tx.tx.op.kind(),
        signed_power,
        total_power: genesis.validators.total_power(),
    })
}

/// The signature rules of block validation: at least one, no key twice, each valid (ZIP 215).
fn check_tx_signatures(tx: &SignedTx) -> Result<(), ReceiptError> {
    if tx.signatures.is_empty() {
        return Err(ReceiptError::TxUnsigned);
    }
    for (i, s) in tx.signatures.iter().enumerate() {
        if tx.signatures[..i]
            .iter()
            .any(|o| o.public_key == s.public_key)
        {
            return Err(ReceiptError::TxDuplicateSigner(hexser::encode(
                &s.public_key,
            )));
        }
    }
    tx.verify_signatures().map_err(|e| match e {
        crate::error::TxError::BadSignature(k) => ReceiptError::TxSignature(k),
        other => ReceiptError::TxSignature(other.to_string()),
    })
}
