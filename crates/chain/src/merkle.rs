//! Merkle trees as in RFC 6962 / RFC 9162 (Certificate Transparency): leaf hashes are
//! `SHA-256(0x00 ‖ data)`, interior nodes `SHA-256(0x01 ‖ left ‖ right)`, the split point is
//! the largest power of two below the size, and the empty tree's root is `SHA-256("")`.
//! The domain bytes keep a leaf from ever being mistaken for an interior node.

use consortia_bft::Hash;
use sha2::{Digest, Sha256};

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

fn split(n: usize) -> usize {
    // Largest power of two strictly below n (n >= 2).
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 9162 §2.1.3.1), bottom-up.
pub fn proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut out = Vec::new();
    path(leaves, index, &mut out);
    out
}

/// Every leaf's audit path at once, equal to `proof(leaves, i)` for each `i`, in
/// O(n log n) instead of O(n) per leaf (receipts for a whole block).
pub fn all_proofs(leaves: &[Hash]) -> Vec<Vec<Hash>> {
    fn go(leaves: &[Hash]) -> (Vec<Vec<Hash>>, Hash) {
        match leaves.len() {
            0 => (Vec::new(), Sha256::digest([]).into()),
            1 => (vec![Vec::new()], leaves[0]),
            n => {
                let k = split(n);
                let (mut left, l) = go(&leaves[..k]);
                let (mut right, r) = go(&leaves[k..]);
                for p in &mut left {
                    p.push(r);
                }
                for p in &mut right {
                    p.push(l);
                }
                left.append(&mut right);
                (left, node_hash(&l, &r))
            }
        }
    }
    go(leaves).0
}

fn path(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(&leaves[..k], m, out);
        out.push(root(&leaves[k..]));
    } else {
        path(&leaves[k..], m - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// Verifies an audit path (RFC 9162 §2.1.3.2) of leaf `index` in a tree of `size` leaves.
///
/// A path does not fix the size by itself (leaf 0's path in a 3-leaf tree also verifies in a
/// 4-leaf one): `size` must come from something the root's signer committed to — a block
/// header's `tx_count`, an anchoring deposit's signed leaf count.
pub fn verify(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_proofs_equal_the_single_proofs() {
        for n in 0..=70usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let all = all_proofs(&leaves);
            assert_eq!(all.len(), n);
            for (i, p) in all.iter().enumerate() {
                assert_eq!(p, &proof(&leaves, i), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn every_leaf_of_every_size_proves_and_tampering_fails() {
        for n in 1..=40usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let r = root(&leaves);
            for i in 0..n {
                let p = proof(&leaves, i);
                assert!(
                    verify(i as u64, n as u64, &leaves[i], &p, &r),
                    "n={n} i={i}"
                );
                // Another leaf, index, or any changed sibling: refused. (The tree size is not
                // bound by every path on its own: receipts take it from the header's signed
                // `tx_count`, anchored receipts from the anchor's signed leaf count.)
                assert!(!verify(i as u64, n as u64, &leaf_hash(b"x"), &p, &r));
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(
                        !verify(j as u64, n as u64, &leaves[i], &p, &r),
                        "n={n} i={i}"
                    );
                }
                for s in 0..p.len() {
                    let mut q = p.clone();
                    q[s][0] ^= 1;
                    assert!(!verify(i as u64, n as u64, &leaves[i], &q, &r));
                }
                let mut longer = p.clone();
                longer.push([0; 32]);
                assert!(!verify(i as u64, n as u64, &leaves[i], &longer, &r));
            }
        }
    }

    #[test]
    fn known_shapes() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let c = leaf_hash(b"c");
        assert_eq!(root(&[a]), a);
        assert_eq!(root(&[a, b]), node_hash(&a, &b));
        assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
