//! Reading Huffman-coded entropy data: the bit reader and the lookup tables.
//!
//! The reader never invents data: when a scan's bytes end (a marker, or the end of the file)
//! it pads its buffer with zero bits so that lookups can still peek ahead, but consuming
//! any of them is an overrun ([`BitReader::overran`]), which the decoder treats as corrupt.
//! So a file cannot claim a large image and leave its pixels out: every block costs the
//! attacker bits.

use crate::Rejected;
use crate::markers::HuffmanSpec;

/// Bits looked up at once: a table of `1 << LOOKAHEAD` entries per Huffman table, small
/// enough for the first-level cache (14 and 16 were measured slower).
pub const LOOKAHEAD: u32 = 12;

/// The entropy-coded data of one scan, most significant bit first, `FF 00` unstuffed.
pub struct BitReader<'a> {
    data: &'a [u8],
    at: usize,
    buffer: u64,
    /// Bits in `buffer`, padding included.
    count: u32,
    /// Zero bits appended after the data ended; they sit at the low end of `buffer`.
    padding: u32,
    /// A marker (or the end of the data) was reached: nothing more is read before it.
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    /// Reads `data` from offset `at`.
    pub fn new(data: &'a [u8], at: usize) -> Self {
        Self {
            data,
            at,
            buffer: 0,
            count: 0,
            padding: 0,
            at_marker: false,
        }
    }

    /// Where reading stopped: at or before the marker that ends the data.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Whether more bits were consumed than the data had.
    #[inline]
    pub fn overran(&self) -> bool {
        self.count < self.padding
    }

    /// Tops the buffer up to more than 32 bits.
    #[inline]
    pub fn fill(&mut self) {
        if self.count > 32 {
            return;
        }
        match self.next_four_bytes() {
            Some(word) => {
                self.buffer |= u64::from(word) << (32 - self.count);
                self.count += 32;
            }
            None => self.fill_slowly(),
        }
    }

    /// The next four bytes as one word, and read past them, when none of the next eight is
    /// 0xFF (so there is no stuffing or marker to handle): the common case.
    #[inline]
    fn next_four_bytes(&mut self) -> Option<u32> {
        if self.at_marker {
            return None;
        }
        let next: [u8; 8] = self.data.get(self.at..self.at + 8)?.try_into().ok()?;
        let word = u64::from_be_bytes(next);
        let inverted = !word;
        let has_ff =
            inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
        if has_ff != 0 {
            return None;
        }
        self.at += 4;
        Some((word >> 32) as u32)
    }

    #[cold]
    fn fill_slowly(&mut self) {
        while self.count <= 56 {
            let byte = match (self.at_marker, self.data.get(self.at)) {
                (false, Some(&0xFF)) => match self.data.get(self.at + 1) {
                    Some(&0x00) => {
                        self.at += 2;
                        Some(0xFF)
                    }
                    _ => None,
                },
                (false, Some(&byte)) => {
                    self.at += 1;
                    Some(byte)
                }
                _ => None,
            };
            match byte {
                Some(byte) => self.buffer |= u64::from(byte) << (56 - self.count),
                None => {
                    self.at_marker = true;
                    self.padding += 8;
                }
            }
            self.count += 8;
        }
    }

    /// The next `bits` bits (at most 32, after a [`BitReader::fill`]), unconsumed.
    #[inline]
    pub fn peek(&self, bits: u32) -> u32 {
        (self.buffer >> (64 - bits)) as u32
    }

    /// The next [`LOOKAHEAD`] bits, as a table index.
    #[inline]
    fn peek_lookahead(&self) -> usize {
        (self.buffer >> (64 - LOOKAHEAD)) as usize
    }

    /// Drops `bits` bits (at most what [`BitReader::fill`] guaranteed).
    #[inline]
    pub fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    /// One bit.
    #[inline]
    pub fn bit(&mut self) -> u32 {
        self.fill();
        let bit = self.peek(1);
        self.consume(1);
        bit
    }

    /// The next Huffman-coded symbol of `table`.
    #[inline]
    pub fn symbol(&mut self, table: &Huffman) -> Result<u8, Rejected> {
        self.fill();
        let entry = table.fast[self.peek_lookahead()];
        if entry != 0 {
            self.consume(u32::from(entry & 0xFF));
            return Ok((entry >> 8) as u8);
        }
        self.long_symbol(table)
    }

    #[cold]
    fn long_symbol(&mut self, table: &Huffman) -> Result<u8, Rejected> {
        for length in LOOKAHEAD + 1..=16 {
            let code = self.peek(length);
            if code < table.max_code[length as usize] {
                self.consume(length);
                let index = code.wrapping_add(table.offset[length as usize]);
                return table
                    .symbols
                    .get(index as usize)
                    .copied()
                    .ok_or(Rejected("a bad Huffman code"));
            }
        }
        Err(Rejected("a bad Huffman code"))
    }

    /// A DC difference: its Huffman-coded size, then that many bits. Inlined into the
    /// block loop, as [`BitReader::skip_ac`] is: a call per block cost a tenth of a photo.
    #[inline(always)]
    pub fn dc_difference(&mut self, table: &DcTable) -> Result<i32, Rejected> {
        self.fill();
        // Most codes and their value bits fit in the lookahead: one lookup reads both.
        let entry = table.values[self.peek_lookahead()];
        if entry == 0 {
            return self.dc_difference_slowly(table);
        }
        let (total, size) = (u32::from(entry & 0x1F), u32::from(entry >> 5 & 0x1F));
        let raw = (self.buffer >> (64 - total)) as u32 & ((1 << size) - 1);
        self.consume(total);
        Ok(extend(raw, size))
    }

    /// [`BitReader::dc_difference`] for codes whose value bits do not fit the lookahead.
    #[cold]
    fn dc_difference_slowly(&mut self, table: &DcTable) -> Result<i32, Rejected> {
        let size = u32::from(self.symbol(&table.codes)?);
        if size > 16 {
            return Err(Rejected("a DC difference of more than 16 bits"));
        }
        Ok(self.signed(size))
    }

    /// `size` bits as a signed value; `size` at most 16.
    #[inline]
    fn signed(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        self.fill();
        let raw = self.peek(size);
        self.consume(size);
        extend(raw, size)
    }

    /// Reads past one block's AC coefficients without decoding their values.
    ///
    /// The hottest loop of the 1/8 decoder: the buffer and its count live in locals here
    /// (written back before anything else reads them), so they stay in registers rather
    /// than going through memory on every code.
    #[inline]
    pub fn skip_ac(&mut self, table: &AcTable) -> Result<(), Rejected> {
        let (mut buffer, mut count) = (self.buffer, self.count);
        let mut k = 1;
        loop {
            if count <= 32 {
                match self.next_four_bytes() {
                    Some(word) => {
                        buffer |= u64::from(word) << (32 - count);
                        count += 32;
                    }
                    None => {
                        (self.buffer, self.count) = (buffer, count);
                        self.fill_slowly();
                        (buffer, count) = (self.buffer, self.count);
                    }
                }
            }
            // One lookup skips every code, with its value bits, that fits in the lookahead:
            // about two at a time in a camera photo.
            let entry = table.skip[(buffer >> (64 - LOOKAHEAD)) as usize];
            let end_of_block = entry & SKIP_END_OF_BLOCK != 0;
            let reached = k + usize::from(entry >> 4 & 0x7F);
            // The codes must stay inside the block: up to coefficient 63, and an end of
            // block only before the block is full.
            if entry == 0 || reached + usize::from(end_of_block) > 64 {
                // One code the long way (a long code or value, or the block's last
                // coefficients); then back to lookups.
                (self.buffer, self.count) = (buffer, count);
                let ended = self.skip_one_slowly(table, &mut k)?;
                (buffer, count) = (self.buffer, self.count);
                if ended {
                    break;
                }
                continue;
            }
            let bits = u32::from(entry & 0xF);
            buffer <<= bits;
            count -= bits;
            k = reached;
            if end_of_block || k == 64 {
                break;
            }
        }
        (self.buffer, self.count) = (buffer, count);
        Ok(())
    }

    /// One AC code of [`BitReader::skip_ac`], at coefficient `k`, decoded as a symbol and
    /// its value bits skipped: whether the block ended with it.
    #[cold]
    fn skip_one_slowly(&mut self, table: &AcTable, k: &mut usize) -> Result<bool, Rejected> {
        let symbol = self.symbol(&table.codes)?;
        let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
        if size == 0 {
            if run != 15 {
                return Ok(true);
            }
            *k += 16;
        } else {
            self.fill();
            self.consume(size);
            *k += run + 1;
        }
        match *k {
            64 => Ok(true),
            65.. => Err(Rejected("AC coefficients past the end of a block")),
            _ => Ok(false),
        }
    }

    /// At a restart interval: drops what is left of the last byte and reads past the RSTn
    /// marker, which must be the next marker.
    pub fn restart(&mut self) -> Result<(), Rejected> {
        self.buffer = 0;
        self.count = 0;
        self.padding = 0;
        self.at_marker = false;
        let rest = self.data.get(self.at..).unwrap_or_default();
        let mut i = 0;
        while let Some(found) = rest.get(i..).and_then(|r| memchr::memchr(0xFF, r)) {
            match rest.get(i + found + 1) {
                Some(0xD0..=0xD7) => {
                    self.at += i + found + 2;
                    return Ok(());
                }
                Some(0xFF) => i += found + 1,
                // Stuffed data left over from the last interval.
                Some(0x00) => i += found + 2,
                _ => break,
            }
        }
        Err(Rejected("a restart marker missing"))
    }
}

/// In a `skip` entry: the codes end with the end of block.
const SKIP_END_OF_BLOCK: u16 = 1 << 11;

/// JPEG's "extend": `size` raw bits as a signed value (the low half of the range is
/// negative). Without a branch: the sign of a DC difference is a coin toss to a predictor.
#[inline]
fn extend(raw: u32, size: u32) -> i32 {
    // 0 for size 0, when `raw` is 0 too.
    let half = (1u32 << size) >> 1;
    let negative = i32::from(raw < half);
    raw as i32 - negative * ((1i32 << size) - 1)
}

/// A Huffman table used for DC differences.
pub struct DcTable {
    codes: Huffman,
    /// `size << 5 | bits` when the code and its `size` value bits both fit in the next
    /// LOOKAHEAD bits; 0 otherwise.
    values: Box<[u16; 1 << LOOKAHEAD]>,
}

impl DcTable {
    /// The lookups for `spec`.
    pub fn new(spec: &HuffmanSpec) -> Result<Self, Rejected> {
        let codes = Huffman::new(spec)?;
        let mut values = Box::new([0u16; 1 << LOOKAHEAD]);
        for (slot, &entry) in values.iter_mut().zip(codes.fast.iter()) {
            let (size, length) = (entry >> 8, entry & 0xFF);
            if entry != 0 && size <= 16 && u32::from(length + size) <= LOOKAHEAD {
                *slot = size << 5 | (length + size);
            }
        }
        Ok(Self { codes, values })
    }
}

/// A Huffman table used for AC coefficients.
pub struct AcTable {
    codes: Huffman,
    /// What the codes that fit whole (with their value bits) in the next LOOKAHEAD bits do,
    /// read one after another: bits they take (low 4 bits), coefficients they advance over
    /// (next 7), and [`SKIP_END_OF_BLOCK`] when the last is the end of block; 0 when not
    /// even one fits.
    skip: Box<[u16; 1 << LOOKAHEAD]>,
}

impl AcTable {
    /// The lookups for `spec`.
    pub fn new(spec: &HuffmanSpec) -> Result<Self, Rejected> {
        let codes = Huffman::new(spec)?;
        let skip = skip_table(&codes.fast);
        Ok(Self { codes, skip })
    }
}

/// A Huffman table as lookups on the next [`LOOKAHEAD`] bits and, for longer codes, the
/// canonical code ranges.
pub struct Huffman {
    /// `symbol << 8 | length` for codes of at most LOOKAHEAD bits; 0 for longer codes.
    fast: Box<[u16; 1 << LOOKAHEAD]>,
    /// One past the largest code of each length; 0 when there is none.
    max_code: [u32; 17],
    /// Added to a code of each length (wrapping) to give its index in `symbols`.
    offset: [u32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    /// The lookups for `spec` (already checked by the marker walk to be prefix-free).
    pub fn new(spec: &HuffmanSpec) -> Result<Self, Rejected> {
        let mut fast = Box::new([0u16; 1 << LOOKAHEAD]);
        let mut max_code = [0u32; 17];
        let mut offset = [0u32; 17];
        let mut code: u32 = 0;
        let mut index: u32 = 0;
        for length in 1..=16u32 {
            let count = u32::from(spec.counts[length as usize - 1]);
            offset[length as usize] = index.wrapping_sub(code);
            for _ in 0..count {
                let symbol = *spec
                    .symbols
                    .get(index as usize)
                    .ok_or(Rejected("a Huffman table cut short"))?;
                if code >= 1 << length {
                    return Err(Rejected("a Huffman table whose codes overflow"));
                }
                if length <= LOOKAHEAD {
                    let spare = LOOKAHEAD - length;
                    let first = (code << spare) as usize;
                    fast.get_mut(first..first + (1 << spare))
                        .ok_or(Rejected("a Huffman table whose codes overflow"))?
                        .fill(u16::from(symbol) << 8 | length as u16);
                }
                code += 1;
                index += 1;
            }
            max_code[length as usize] = code;
            code <<= 1;
        }
        Ok(Self {
            fast,
            max_code,
            offset,
            symbols: spec.symbols.clone(),
        })
    }
}

/// The [`AcTable::skip`] lookups whose single-code lookups are `fast`: for every
/// LOOKAHEAD-bit pattern, the AC codes read from it in turn while each fits whole, value
/// bits included. A code of run 0 and size 0 is the end of block (as is any other of size 0
/// but 15/0, sixteen zeros: libjpeg reads them so).
fn skip_table(fast: &[u16; 1 << LOOKAHEAD]) -> Box<[u16; 1 << LOOKAHEAD]> {
    let mut skip = Box::new([0u16; 1 << LOOKAHEAD]);
    for (pattern, slot) in (0u32..).zip(skip.iter_mut()) {
        let (mut used, mut advance, mut end_of_block) = (0u32, 0u16, false);
        while used < LOOKAHEAD && advance < 63 {
            // The bits after `used`, at the top of a LOOKAHEAD-bit window.
            let window = (pattern << used) & ((1 << LOOKAHEAD) - 1);
            let entry = fast[window as usize];
            let (symbol, length) = (entry >> 8, u32::from(entry & 0xFF));
            let (run, size) = (symbol >> 4, u32::from(symbol & 15));
            if entry == 0 || used + length + size > LOOKAHEAD {
                break;
            }
            used += length + size;
            match (run, size) {
                (15, 0) => advance += 16,
                (_, 0) => {
                    end_of_block = true;
                    break;
                }
                _ => advance += run + 1,
            }
        }
        if used > 0 {
            *slot = used as u16 | advance << 4 | if end_of_block { SKIP_END_OF_BLOCK } else { 0 };
        }
    }
    skip
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table with codes `0` (symbol 0x00, end of block), `10` (0x01), `110` (0x11),
    /// `1110` (0xF0, sixteen zeros).
    fn spec() -> HuffmanSpec {
        let mut counts = [0u8; 16];
        counts[..4].fill(1);
        HuffmanSpec {
            counts,
            symbols: vec![0x00, 0x01, 0x11, 0xF0],
        }
    }

    fn table() -> Huffman {
        Huffman::new(&spec()).unwrap()
    }

    fn ac() -> AcTable {
        AcTable::new(&spec()).unwrap()
    }

    #[test]
    fn symbols_and_values_are_read_msb_first() {
        // 10 1 | 110 0 | 0...
        let data = [0b1011_1000, 0x00];
        let mut bits = BitReader::new(&data, 0);
        let t = table();
        assert_eq!(bits.symbol(&t), Ok(0x01));
        assert_eq!(bits.signed(1), 1);
        assert_eq!(bits.symbol(&t), Ok(0x11));
        assert_eq!(bits.signed(1), -1);
        assert_eq!(bits.symbol(&t), Ok(0x00));
        assert!(!bits.overran());
    }

    #[test]
    fn stuffed_ff_is_data_and_a_marker_ends_it() {
        let data = [0xFF, 0x00, 0x80, 0xFF, 0xD9];
        let mut bits = BitReader::new(&data, 0);
        bits.fill();
        assert_eq!(bits.peek(9), 0b1_1111_1111);
        bits.consume(16);
        assert!(!bits.overran());
        bits.consume(1);
        assert!(bits.overran(), "bits past the marker are not data");
        assert_eq!(bits.position(), 3, "reading stops at the marker");
    }

    #[test]
    fn running_out_of_data_is_an_overrun_not_zeros() {
        // Only end-of-block codes would follow as zero bits: reading them is an overrun.
        let data = [0b0000_0000];
        let mut bits = BitReader::new(&data, 0);
        let t = ac();
        for _ in 0..8 {
            bits.skip_ac(&t).unwrap();
            assert!(!bits.overran());
        }
        bits.skip_ac(&t).unwrap();
        assert!(bits.overran());
    }

    #[test]
    fn a_block_with_too_many_coefficients_is_refused() {
        // Four times "sixteen zeros" runs to coefficient 65.
        let data = [0b1110_1110, 0b1110_1110, 0, 0];
        let mut bits = BitReader::new(&data, 0);
        assert_eq!(
            bits.skip_ac(&ac()),
            Err(Rejected("AC coefficients past the end of a block"))
        );
    }

    #[test]
    fn skipping_reads_several_codes_per_lookup_and_stops_at_the_block_end() {
        // 10 1 | 10 0 | 110 1 | 0: coefficients 1, 2 and (after a zero) 4, then the end of
        // block. Then a block without one: 1110 three times (48 zeros), 110 0 seven times
        // and 10 0 (15 coefficients) reach coefficient 63, so the ones after it are the next
        // block's, not read.
        let data = [
            0b1011_0011,
            0b0101_1101,
            0b1101_1101,
            0b1001_1001,
            0b1001_1001,
            0b1001_1001,
            0b1001_0011,
            0b1100_0000,
            0b0000_0000,
        ];
        let mut bits = BitReader::new(&data, 0);
        let t = ac();
        bits.skip_ac(&t).unwrap();
        bits.fill();
        assert_eq!(
            bits.peek(4),
            0b1110,
            "the first block ends after its end of block"
        );
        bits.skip_ac(&t).unwrap();
        bits.fill();
        assert_eq!(
            bits.peek(4),
            0b1111,
            "the second block ends at coefficient 63"
        );
        assert!(!bits.overran());
    }

    #[test]
    fn dc_differences_are_read_in_one_lookup_or_two() {
        let dc = DcTable::new(&HuffmanSpec {
            counts: [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            // 00: size 0; 010: size 11.
            symbols: vec![0, 11],
        })
        .unwrap();
        // 00 | 010 00000000001 | 010 11111111111
        let bits_of = [
            0b0001_0000,
            0b0000_0001,
            0b0101_1111,
            0b1111_1100,
            0b0000_0000,
        ];
        let mut bits = BitReader::new(&bits_of, 0);
        assert_eq!(bits.dc_difference(&dc), Ok(0));
        assert_eq!(bits.dc_difference(&dc), Ok(-2046));
        assert_eq!(bits.dc_difference(&dc), Ok(2047));
    }

    #[test]
    fn restart_finds_the_next_restart_marker_only() {
        let data = [0x12, 0xFF, 0xD3, 0x34, 0xFF, 0xC4];
        let mut bits = BitReader::new(&data, 0);
        bits.fill();
        assert_eq!(bits.restart(), Ok(()));
        assert_eq!(bits.position(), 3);
        assert_eq!(bits.restart(), Err(Rejected("a restart marker missing")));
    }

    #[test]
    fn a_code_no_table_has_is_refused() {
        let data = [0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00];
        let mut bits = BitReader::new(&data, 0);
        assert_eq!(bits.symbol(&table()), Err(Rejected("a bad Huffman code")));
    }
}
