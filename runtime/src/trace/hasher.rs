//! The hasher of the trace builder's maps.

use super::*;

/// A hasher for the trace builder's maps, whose keys are addresses and small indices: one
/// multiply and rotate per word (the scheme of rustc's FxHasher) instead of SipHash, which
/// guards against keys chosen by an attacker, and the keys here are not chosen by anyone.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.add(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, word: u32) {
        self.add(u64::from(word));
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the most entropy in the high bits; the table picks buckets by
        // the low ones, so they are rotated down.
        self.hash.rotate_left(26)
    }
}

pub(crate) type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;
