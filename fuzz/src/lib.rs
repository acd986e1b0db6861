//! A structure-aware mutator for JPEG inputs: libFuzzer's byte-level mutations rarely keep
//! a file parseable past its first segment, so most of the time this one mutates a JPEG as
//! its segments — duplicating, dropping, swapping and splicing them, changing markers, and
//! setting the fields the decoders' budgets read (dimensions, sampling factors, table
//! slots, spectral bands and bit positions, restart intervals) to the values at their
//! edges. The rest of the time, and within a chosen segment, libFuzzer's own mutator runs.

use photo::markers::end_of_entropy_data;

/// The segments of `data`: SOI, each marker segment (with its entropy-coded data after a
/// scan header), and whatever junk lies between, in order; concatenated they are `data`.
pub fn segments(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        let length = match rest {
            [0xFF, 0xD8, ..] | [0xFF, 0xD9, ..] | [0xFF, 0xD0..=0xD7, ..] | [0xFF, 0x01, ..] => 2,
            [0xFF, marker, high, low, ..] if *marker != 0 && *marker != 0xFF => {
                let declared = 2 + usize::from(u16::from_be_bytes([*high, *low]));
                let declared = declared.min(rest.len()).max(2);
                if *marker == 0xDA {
                    end_of_entropy_data(data, at + declared)
                        .saturating_sub(at)
                        .max(declared)
                } else {
                    declared
                }
            }
            // Junk: up to the next 0xFF after this byte.
            _ => rest[1..]
                .iter()
                .position(|&b| b == 0xFF)
                .map_or(rest.len(), |i| i + 1),
        };
        out.push(rest[..length].to_vec());
        at += length;
    }
    out
}

/// A small deterministic random source from libFuzzer's seed.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u32) -> Self {
        Self(u64::from(seed) | 1 << 40)
    }

    pub fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if n == 0 { 0 } else { (x >> 33) as usize % n }
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Markers worth switching one to: every frame kind, tables, restart interval, scan,
/// EXIF and Adobe application segments, end of image, a restart marker.
const MARKERS: [u8; 14] = [
    0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xC4, 0xDB, 0xDD, 0xDA, 0xE1, 0xEE, 0xD9, 0xD0, 0xFE,
];
/// 16-bit values at the edges of the decoders' rules: the 70 px minimum, the 1/8 decoder's
/// 1,120 px threshold, the 50-megapixel limit's square side, the largest.
const SIDES: [u16; 10] = [0, 1, 8, 69, 70, 559, 1119, 1120, 7071, 65535];

/// Mutates `data` (of `size` bytes in a buffer of `max_size`) in place and returns the new
/// size, as libFuzzer's custom mutator does. `default` is libFuzzer's own mutator.
pub fn mutate(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    default: impl Fn(&mut [u8], usize, usize) -> usize,
) -> usize {
    let mut random = Random::new(seed);
    let mut pieces = segments(&data[..size]);
    // A third of the time, or when there is no structure to work with: bytes.
    if pieces.len() < 3 || random.below(3) == 0 {
        return default(data, size, max_size);
    }
    let i = 1 + random.below(pieces.len() - 1);
    match random.below(7) {
        0 => {
            let copy = pieces[i].clone();
            let at = 1 + random.below(pieces.len() - 1);
            pieces.insert(at, copy);
        }
        1 => {
            pieces.remove(i);
        }
        2 => {
            let j = 1 + random.below(pieces.len() - 1);
            pieces.swap(i, j);
        }
        3 => {
            if let Some(marker) = pieces[i].get_mut(1) {
                *marker = random.pick(&MARKERS);
            }
        }
        4 => set_a_field(&mut pieces[i], &mut random),
        5 => {
            // Cut the segment short (a truncated file when it is the last).
            let piece = &mut pieces[i];
            let keep = random.below(piece.len() + 1);
            piece.truncate(keep);
        }
        _ => {
            // libFuzzer's mutator inside one segment, its length field kept true.
            let piece = &mut pieces[i];
            let len = piece.len();
            piece.resize(len * 2 + 16, 0);
            let new_len = default(piece, len, len * 2 + 16);
            piece.truncate(new_len);
            fix_length(piece);
        }
    }
    let joined: Vec<u8> = pieces.concat();
    let n = joined.len().min(max_size);
    data[..n].copy_from_slice(&joined[..n]);
    n
}

/// Sets one field the decoders' rules read to a value at its edge.
fn set_a_field(piece: &mut [u8], random: &mut Random) {
    let set16 = |piece: &mut [u8], at: usize, value: u16| {
        if let Some(field) = piece.get_mut(at..at + 2) {
            field.copy_from_slice(&value.to_be_bytes());
        }
    };
    let set8 = |piece: &mut [u8], at: usize, value: u8| {
        if let Some(field) = piece.get_mut(at) {
            *field = value;
        }
    };
    match piece.get(1).copied() {
        // Frame header: precision, height, width, count, then id/sampling/table triples.
        Some(0xC0..=0xC3) => match random.below(4) {
            0 => set16(piece, 5, random.pick(&SIDES)),
            1 => set16(piece, 7, random.pick(&SIDES)),
            2 => set8(piece, 9, random.pick(&[0, 1, 2, 3, 4, 5])),
            _ => {
                let at = 11 + 3 * random.below(4);
                set8(
                    piece,
                    at,
                    random.pick(&[0x11, 0x22, 0x21, 0x12, 0x44, 0x31, 0x00, 0x55]),
                );
            }
        },
        // Scan header: count, id/table pairs, then Ss, Se, Ah:Al.
        Some(0xDA) => {
            let count = usize::from(piece.get(4).copied().unwrap_or(1));
            let after = 5 + 2 * count;
            match random.below(5) {
                0 => set8(
                    piece,
                    6 + 2 * random.below(count.max(1)),
                    random.pick(&[0x00, 0x11, 0x01, 0x55, 0xF0]),
                ),
                1 => set8(piece, after, random.pick(&[0, 1, 6, 63, 64])),
                2 => set8(piece, after + 1, random.pick(&[0, 5, 63, 64, 255])),
                3 => set8(
                    piece,
                    after + 2,
                    random.pick(&[0x00, 0x01, 0x10, 0x21, 0x32, 0xDC, 0x0E]),
                ),
                _ => set8(piece, 4, random.pick(&[0, 1, 3, 4, 5])),
            }
        }
        // Restart interval.
        Some(0xDD) => set16(piece, 4, random.pick(&[0, 1, 2, 7, 65535])),
        // Huffman table: class and slot, then a code count.
        Some(0xC4) => match random.below(2) {
            0 => set8(
                piece,
                4,
                random.pick(&[0x00, 0x01, 0x10, 0x13, 0x14, 0x20, 0x04]),
            ),
            _ => set8(piece, 5 + random.below(16), random.pick(&[0, 1, 2, 255])),
        },
        // Quantisation table: precision and slot.
        Some(0xDB) => set8(piece, 4, random.pick(&[0x00, 0x01, 0x10, 0x04, 0x20])),
        // Adobe: the colour transform.
        Some(0xEE) => set8(piece, 15, random.pick(&[0, 1, 2, 3])),
        _ => {}
    }
}

/// Rewrites a marker segment's length field to its payload's length.
fn fix_length(piece: &mut [u8]) {
    let has_length =
        matches!(piece.get(1), Some(m) if !matches!(m, 0xD0..=0xD9 | 0x01 | 0x00 | 0xFF));
    if has_length && piece.len() >= 4 && piece[1] != 0xDA {
        let length = u16::try_from(piece.len() - 2).unwrap_or(u16::MAX);
        piece[2..4].copy_from_slice(&length.to_be_bytes());
    }
}

/// Defines the target's custom mutator as [`mutate`] over libFuzzer's own.
#[macro_export]
macro_rules! jpeg_mutator {
    () => {
        libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
            $crate::mutate(data, size, max_size, seed, |d, s, m| {
                libfuzzer_sys::fuzzer_mutate(d, s, m)
            })
        });
    };
}
