//! A baseline JPEG decoded at 1/8 scale from its DC coefficients alone.
//!
//! At 1/8 scale every 8x8 block becomes one pixel, the block's mean, which is its DC
//! coefficient: `DC × quantiser / 8 + 128`. The 63 AC coefficients of a block do not
//! matter, but they are Huffman-coded between the DC values, so they must still be read.
//! This decoder reads them as fast as it can — one table lookup gives an AC code's length
//! and the size of the value bits behind it, and both are skipped without decoding the
//! value, dequantising it, storing it or transforming it — where a general decoder (and
//! `jpeg-decoder`'s scaled decode) does all of that for 63 coefficients it then discards.
//! On a 12-megapixel photo the entropy-coded data is nearly all the work.
//!
//! Only what phones and cameras write is handled: baseline or extended sequential Huffman
//! JPEG, 8-bit, one interleaved scan of one (grey) or three (YCbCr, or RGB with Adobe's
//! marker) components, any sampling factors, restart markers. Anything else (progressive,
//! arithmetic coding, CMYK, several scans) is `Ok(None)`, for the general decoder.

use image::{Rgb, RgbImage};

/// Why a JPEG could not be read: the caller treats it as an invalid upload.
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Decodes `bytes` at 1/8 scale: one pixel per 8x8 block, `ceil(width / 8)` by
/// `ceil(height / 8)`. `Ok(None)` for a JPEG this decoder does not handle.
pub fn decode(bytes: &[u8]) -> Result<Option<RgbImage>, Corrupt> {
    let Some(header) = Header::read(bytes)? else {
        return Ok(None);
    };
    let planes = decode_scan(bytes, &header)?;
    Ok(Some(header.to_rgb(&planes)))
}

/// One frame component.
#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    dc_table: usize,
    ac_table: usize,
}

/// Everything before the entropy-coded data.
struct Header {
    width: usize,
    height: usize,
    components: Vec<Component>,
    /// The first coefficient (DC) of each quantisation table.
    dc_quant: [u16; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    restart_interval: usize,
    /// Adobe APP14 transform 0, or components named R, G, B: no YCbCr conversion.
    rgb: bool,
    /// Where the scan's entropy-coded data starts.
    scan_start: usize,
}

impl Header {
    fn read(bytes: &[u8]) -> Result<Option<Self>, Corrupt> {
        if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
            return Err(Corrupt);
        }
        let mut header = Header {
            width: 0,
            height: 0,
            components: Vec::new(),
            dc_quant: [0; 4],
            dc_tables: [None, None, None, None],
            ac_tables: [None, None, None, None],
            restart_interval: 0,
            rgb: false,
            scan_start: 0,
        };
        let mut adobe_transform = None;
        let mut at = 2;
        loop {
            // Markers may be padded with any number of 0xFF bytes.
            while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
                at += 1;
            }
            let (&0xFF, Some(&marker)) = (bytes.get(at).ok_or(Corrupt)?, bytes.get(at + 1)) else {
                return Err(Corrupt);
            };
            let length = usize::from(u16::from_be_bytes([
                *bytes.get(at + 2).ok_or(Corrupt)?,
                *bytes.get(at + 3).ok_or(Corrupt)?,
            ]));
            let segment = bytes.get(at + 4..at + 2 + length).ok_or(Corrupt)?;
            match marker {
                // Baseline and extended sequential, Huffman coded.
                0xC0 | 0xC1 if !header.read_frame(segment)? => return Ok(None),
                // Progressive, lossless, hierarchical and arithmetic-coded frames.
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(None),
                0xC4 => header.read_huffman(segment)?,
                0xDB => header.read_quant(segment)?,
                0xDD => {
                    header.restart_interval = usize::from(u16::from_be_bytes([
                        *segment.first().ok_or(Corrupt)?,
                        *segment.get(1).ok_or(Corrupt)?,
                    ]));
                }
                0xEE if segment.starts_with(b"Adobe") => {
                    adobe_transform = segment.get(11).copied();
                }
                0xDA => {
                    if !header.read_scan(segment)? {
                        return Ok(None);
                    }
                    header.scan_start = at + 2 + length;
                    let ids: Vec<u8> = header.components.iter().map(|c| c.id).collect();
                    header.rgb = header.components.len() == 3
                        && (adobe_transform == Some(0) || ids == [b'R', b'G', b'B']);
                    return Ok(Some(header));
                }
                0xD9 => return Err(Corrupt),
                _ => {}
            }
            at += 2 + length;
        }
    }

    /// `false` for frames this decoder leaves to the general one.
    fn read_frame(&mut self, segment: &[u8]) -> Result<bool, Corrupt> {
        let byte = |i: usize| segment.get(i).copied().ok_or(Corrupt);
        if byte(0)? != 8 {
            return Ok(false);
        }
        self.height = usize::from(u16::from_be_bytes([byte(1)?, byte(2)?]));
        self.width = usize::from(u16::from_be_bytes([byte(3)?, byte(4)?]));
        let count = usize::from(byte(5)?);
        if self.width == 0 || self.height == 0 || !matches!(count, 1 | 3) {
            return Ok(false);
        }
        for i in 0..count {
            let sampling = byte(7 + i * 3)?;
            let (h, v) = (usize::from(sampling >> 4), usize::from(sampling & 15));
            let quant = usize::from(byte(8 + i * 3)?);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || quant > 3 {
                return Err(Corrupt);
            }
            self.components.push(Component {
                id: byte(6 + i * 3)?,
                h,
                v,
                quant,
                dc_table: 0,
                ac_table: 0,
            });
        }
        Ok(true)
    }

    fn read_quant(&mut self, mut segment: &[u8]) -> Result<(), Corrupt> {
        while let Some(&spec) = segment.first() {
            let (precision, id) = (spec >> 4, usize::from(spec & 15));
            let size = if precision == 0 { 64 } else { 128 };
            let table = segment.get(1..1 + size).ok_or(Corrupt)?;
            let dc = if precision == 0 {
                u16::from(table[0])
            } else {
                u16::from_be_bytes([table[0], table[1]])
            };
            *self.dc_quant.get_mut(id).ok_or(Corrupt)? = dc;
            segment = &segment[1 + size..];
        }
        Ok(())
    }

    fn read_huffman(&mut self, mut segment: &[u8]) -> Result<(), Corrupt> {
        while let Some(&spec) = segment.first() {
            let (class, id) = (spec >> 4, usize::from(spec & 15));
            let counts: [u8; 16] = segment
                .get(1..17)
                .ok_or(Corrupt)?
                .try_into()
                .map_err(|_| Corrupt)?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = segment.get(17..17 + total).ok_or(Corrupt)?;
            let table = Huffman::new(&counts, symbols)?;
            match class {
                0 => *self.dc_tables.get_mut(id).ok_or(Corrupt)? = Some(table),
                1 => *self.ac_tables.get_mut(id).ok_or(Corrupt)? = Some(table),
                _ => return Err(Corrupt),
            }
            segment = &segment[17 + total..];
        }
        Ok(())
    }

    /// `false` unless the scan is the whole image: every component, all coefficients.
    fn read_scan(&mut self, segment: &[u8]) -> Result<bool, Corrupt> {
        let byte = |i: usize| segment.get(i).copied().ok_or(Corrupt);
        let count = usize::from(byte(0)?);
        if count != self.components.len() {
            return Ok(false);
        }
        for i in 0..count {
            let (id, tables) = (byte(1 + i * 2)?, byte(2 + i * 2)?);
            let component = self
                .components
                .iter_mut()
                .find(|c| c.id == id)
                .ok_or(Corrupt)?;
            component.dc_table = usize::from(tables >> 4);
            component.ac_table = usize::from(tables & 15);
        }
        let (start, end, approximation) = (
            byte(1 + count * 2)?,
            byte(2 + count * 2)?,
            byte(3 + count * 2)?,
        );
        Ok(start == 0 && end == 63 && approximation == 0)
    }

    fn max_h(&self) -> usize {
        self.components.iter().map(|c| c.h).max().unwrap_or(1)
    }

    fn max_v(&self) -> usize {
        self.components.iter().map(|c| c.v).max().unwrap_or(1)
    }

    /// The 1/8-scale picture: one pixel per luma block, chroma interpolated between the
    /// centres of its (larger) blocks.
    fn to_rgb(&self, planes: &[Plane]) -> RgbImage {
        let (width, height) = (self.width.div_ceil(8), self.height.div_ceil(8));
        let (max_h, max_v) = (self.max_h() as f32, self.max_v() as f32);
        let sample = |plane: &Plane, component: &Component, x: usize, y: usize| -> f32 {
            if component.h as f32 == max_h && component.v as f32 == max_v {
                return plane.pixels[y * plane.width + x];
            }
            // The component's blocks cover max/own times as many output pixels each; the
            // output pixel's centre in component-block units, then bilinear between the
            // four nearest block centres.
            let (fx, fy) = (max_h / component.h as f32, max_v / component.v as f32);
            let cx = ((x as f32 + 0.5) / fx - 0.5).max(0.0);
            let cy = ((y as f32 + 0.5) / fy - 0.5).max(0.0);
            let (x0, y0) = (cx as usize, cy as usize);
            let (tx, ty) = (cx - x0 as f32, cy - y0 as f32);
            let x1 = (x0 + 1).min(plane.width - 1);
            let y1 = (y0 + 1).min(plane.height - 1);
            let at = |x: usize, y: usize| plane.pixels[y * plane.width + x];
            let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
            let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
            top * (1.0 - ty) + bottom * ty
        };
        // `as` saturates: no clamp needed after rounding half up.
        let byte = |v: f32| (v + 0.5) as u8;
        RgbImage::from_fn(width as u32, height as u32, |x, y| {
            let (x, y) = (x as usize, y as usize);
            let value = |i: usize| sample(&planes[i], &self.components[i], x, y);
            if self.components.len() == 1 {
                return Rgb([byte(value(0)); 3]);
            }
            let (first, second, third) = (value(0), value(1), value(2));
            if self.rgb {
                return Rgb([byte(first), byte(second), byte(third)]);
            }
            // JFIF's YCbCr.
            let (luma, cb, cr) = (first, second - 128.0, third - 128.0);
            Rgb([
                byte(luma + 1.402 * cr),
                byte(luma - 0.344_136 * cb - 0.714_136 * cr),
                byte(luma + 1.772 * cb),
            ])
        })
    }
}

/// One component at 1/8 scale: each block's mean sample value, over the whole padded grid
/// of MCUs.
struct Plane {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

/// Reads the scan: every block's DC value, every AC code skipped.
fn decode_scan(bytes: &[u8], header: &Header) -> Result<Vec<Plane>, Corrupt> {
    let (max_h, max_v) = (header.max_h(), header.max_v());
    let single = header.components.len() == 1;
    // A single-component scan is not interleaved: its "MCU" is one block, over the
    // component's own size. Otherwise MCUs of max_h x max_v luma blocks.
    let (mcus_x, mcus_y) = if single {
        (header.width.div_ceil(8), header.height.div_ceil(8))
    } else {
        (
            header.width.div_ceil(8 * max_h),
            header.height.div_ceil(8 * max_v),
        )
    };
    let mut planes: Vec<Plane> = header
        .components
        .iter()
        .map(|c| {
            let (w, h) = if single {
                (mcus_x, mcus_y)
            } else {
                (mcus_x * c.h, mcus_y * c.v)
            };
            Plane {
                width: w,
                height: h,
                pixels: vec![0.0; w * h],
            }
        })
        .collect();
    let tables: Vec<(&Huffman, &Huffman, f32)> = header
        .components
        .iter()
        .map(|c| {
            let dc = header.dc_tables[c.dc_table].as_ref().ok_or(Corrupt)?;
            let ac = header.ac_tables[c.ac_table].as_ref().ok_or(Corrupt)?;
            Ok((dc, ac, f32::from(header.dc_quant[c.quant]) / 8.0))
        })
        .collect::<Result<_, Corrupt>>()?;
    let mut bits = Bits::new(&bytes[header.scan_start..]);
    let mut predictions = vec![0i32; header.components.len()];
    let total = mcus_x * mcus_y;
    for mcu in 0..total {
        if header.restart_interval > 0 && mcu > 0 && mcu % header.restart_interval == 0 {
            bits.restart()?;
            predictions.fill(0);
        }
        let (mx, my) = (mcu % mcus_x, mcu / mcus_x);
        for (index, component) in header.components.iter().enumerate() {
            let (dc_table, ac_table, scale) = tables[index];
            let (h, v) = if single {
                (1, 1)
            } else {
                (component.h, component.v)
            };
            for by in 0..v {
                for bx in 0..h {
                    let size = bits.decode(dc_table)?;
                    predictions[index] += bits.value(size)?;
                    skip_ac(&mut bits, ac_table)?;
                    let plane = &mut planes[index];
                    let (x, y) = (mx * h + bx, my * v + by);
                    plane.pixels[y * plane.width + x] = predictions[index] as f32 * scale + 128.0;
                }
            }
        }
    }
    Ok(planes)
}

/// Reads past one block's 63 AC coefficients.
fn skip_ac(bits: &mut Bits<'_>, table: &Huffman) -> Result<(), Corrupt> {
    let mut k = 1;
    while k < 64 {
        bits.fill();
        // Most codes and their value bits fit in the lookahead: one lookup skips both.
        let entry = table.skip[bits.peek(LOOKAHEAD)];
        if entry != 0 {
            bits.consume(u32::from(entry & 0x1F));
            match entry >> 8 {
                // End of block.
                0xFF => return Ok(()),
                run => k += usize::from(run) + 1,
            }
            continue;
        }
        let symbol = bits.decode(table)?;
        let (run, size) = (usize::from(symbol >> 4), symbol & 15);
        if size == 0 {
            if run != 15 {
                return Ok(());
            }
            k += 16;
        } else {
            bits.skip(u32::from(size))?;
            k += run + 1;
        }
    }
    if k == 64 { Ok(()) } else { Err(Corrupt) }
}

/// Bits looked up at once.
const LOOKAHEAD: u32 = 12;

/// A Huffman table, as lookups on the next [`LOOKAHEAD`] bits and, for longer codes, the
/// canonical code ranges.
struct Huffman {
    /// `symbol << 8 | length` for codes of at most LOOKAHEAD bits; 0 for longer codes.
    fast: Vec<u16>,
    /// For AC tables: `run << 8 | bits to skip` when the code and its value bits both fit
    /// in the lookahead (`0xFF << 8 | length` for end of block); 0 otherwise.
    skip: Vec<u16>,
    /// Largest code of each length + 1 (exclusive), -1 when there is none.
    max_code: [i32; 17],
    /// `symbols[value_offset[length] + code]` is the symbol of a `length`-bit code.
    value_offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Result<Self, Corrupt> {
        let mut fast = vec![0u16; 1 << LOOKAHEAD];
        let mut skip = vec![0u16; 1 << LOOKAHEAD];
        let mut max_code = [-1i32; 17];
        let mut value_offset = [0i32; 17];
        let mut code: u32 = 0;
        let mut index = 0usize;
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            value_offset[length as usize] = index as i32 - code as i32;
            for _ in 0..count {
                let symbol = *symbols.get(index).ok_or(Corrupt)?;
                if code >= 1 << length {
                    return Err(Corrupt);
                }
                if length <= LOOKAHEAD {
                    let spare = LOOKAHEAD - length;
                    let first = (code << spare) as usize;
                    let size = u32::from(symbol & 15);
                    let run = u16::from(symbol >> 4);
                    for fill in 0..(1usize << spare) {
                        fast[first + fill] = u16::from(symbol) << 8 | length as u16;
                        // Skippable in one step when the value bits are in the lookahead too.
                        skip[first + fill] = match (run, size) {
                            (0, 0) => 0xFF << 8 | length as u16,
                            (15, 0) => 15 << 8 | length as u16,
                            (_, 0) => 0,
                            _ if length + size <= LOOKAHEAD => run << 8 | (length + size) as u16,
                            _ => 0,
                        };
                    }
                }
                code += 1;
                index += 1;
            }
            max_code[length as usize] = code as i32;
            code <<= 1;
        }
        Ok(Self {
            fast,
            skip,
            max_code,
            value_offset,
            symbols: symbols.to_vec(),
        })
    }
}

/// The entropy-coded data, most significant bit first, with 0xFF00 unstuffed. At a marker
/// it yields zero bits (as libjpeg does), so a truncated file ends in an error, not a hang.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    buffer: u64,
    count: u32,
    /// A marker was reached: no more data before it is skipped.
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            at: 0,
            buffer: 0,
            count: 0,
            at_marker: false,
        }
    }

    /// Tops the buffer up to more than 32 bits (to at least 56 near a 0xFF byte).
    #[inline]
    fn fill(&mut self) {
        if self.count > 32 {
            return;
        }
        // Fast path: four bytes at once when none of the next eight is 0xFF (so there is
        // no stuffing or marker to handle).
        if let Some(next) = self.data.get(self.at..self.at + 8)
            && !self.at_marker
        {
            let word = u64::from_be_bytes(next.try_into().unwrap_or([0xFF; 8]));
            let inverted = !word;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                self.buffer |= (word >> 32) << (32 - self.count);
                self.count += 32;
                self.at += 4;
                return;
            }
        }
        while self.count <= 56 {
            let byte = if self.at_marker {
                0
            } else {
                match self.data.get(self.at) {
                    Some(&0xFF) => match self.data.get(self.at + 1) {
                        Some(&0x00) => {
                            self.at += 2;
                            0xFF
                        }
                        _ => {
                            self.at_marker = true;
                            0
                        }
                    },
                    Some(&byte) => {
                        self.at += 1;
                        byte
                    }
                    None => {
                        self.at_marker = true;
                        0
                    }
                }
            };
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn peek(&self, bits: u32) -> usize {
        (self.buffer >> (64 - bits)) as usize
    }

    #[inline]
    fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    fn skip(&mut self, bits: u32) -> Result<(), Corrupt> {
        self.fill();
        if bits > self.count {
            return Err(Corrupt);
        }
        self.consume(bits);
        Ok(())
    }

    /// The next Huffman-coded symbol.
    fn decode(&mut self, table: &Huffman) -> Result<u8, Corrupt> {
        self.fill();
        let entry = table.fast[self.peek(LOOKAHEAD)];
        if entry != 0 {
            self.consume(u32::from(entry & 0xFF));
            return Ok((entry >> 8) as u8);
        }
        for length in LOOKAHEAD + 1..=16 {
            let code = self.peek(length) as i32;
            if code < table.max_code[length as usize] {
                self.consume(length);
                let index = table.value_offset[length as usize] + code;
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| table.symbols.get(i).copied())
                    .ok_or(Corrupt);
            }
        }
        Err(Corrupt)
    }

    /// A `size`-bit signed value (JPEG's "extend").
    fn value(&mut self, size: u8) -> Result<i32, Corrupt> {
        if size == 0 {
            return Ok(0);
        }
        if size > 16 {
            return Err(Corrupt);
        }
        self.fill();
        let raw = self.peek(u32::from(size)) as i32;
        self.consume(u32::from(size));
        Ok(if raw < 1 << (size - 1) {
            raw - (1 << size) + 1
        } else {
            raw
        })
    }

    /// At a restart interval: drops the partial byte and reads past the RSTn marker.
    fn restart(&mut self) -> Result<(), Corrupt> {
        // Bytes already in the buffer were read from before the marker; find the marker
        // from where reading stopped.
        self.buffer = 0;
        self.count = 0;
        self.at_marker = false;
        while self.at + 1 < self.data.len() {
            if self.data[self.at] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.at + 1]) {
                self.at += 2;
                return Ok(());
            }
            self.at += 1;
        }
        Err(Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A photo-like test picture: smooth colour gradients with a sharp-edged disc.
    fn picture(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let (dx, dy) = (x as i64 - width as i64 / 2, y as i64 - height as i64 / 3);
            if dx * dx + dy * dy < (height as i64 / 4).pow(2) {
                Rgb([230, 40, 60])
            } else {
                Rgb([
                    (x * 255 / width) as u8,
                    (y * 255 / height) as u8,
                    ((x + y) * 127 / (width + height)) as u8 + 64,
                ])
            }
        })
    }

    fn encode(image: &RgbImage, sampling: SamplingFactor, restart: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 92);
        encoder.set_sampling_factor(sampling);
        encoder.set_restart_interval(restart);
        encoder
            .encode(
                image.as_raw(),
                image.width() as u16,
                image.height() as u16,
                ColorType::Rgb,
            )
            .unwrap();
        out
    }

    /// Each 8x8 block's mean, from a full decode by the `image` crate.
    fn block_means(bytes: &[u8]) -> RgbImage {
        let full = image::load_from_memory(bytes).unwrap().to_rgb8();
        let (w, h) = (full.width().div_ceil(8), full.height().div_ceil(8));
        RgbImage::from_fn(w, h, |bx, by| {
            let mut sum = [0u32; 3];
            let mut n = 0;
            for y in by * 8..(by * 8 + 8).min(full.height()) {
                for x in bx * 8..(bx * 8 + 8).min(full.width()) {
                    let p = full.get_pixel(x, y).0;
                    for c in 0..3 {
                        sum[c] += u32::from(p[c]);
                    }
                    n += 1;
                }
            }
            Rgb(sum.map(|s| (s / n) as u8))
        })
    }

    /// Mean and largest absolute difference per sample.
    fn difference(a: &RgbImage, b: &RgbImage) -> (f64, u8) {
        assert_eq!(a.dimensions(), b.dimensions());
        let diffs: Vec<u8> = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .collect();
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        (mean, diffs.iter().copied().max().unwrap_or(0))
    }

    #[test]
    fn every_chroma_sampling_decodes_to_the_block_means() {
        let image = picture(803, 597);
        for sampling in [
            SamplingFactor::R_4_4_4,
            SamplingFactor::R_4_2_2,
            SamplingFactor::R_4_2_0,
            SamplingFactor::R_4_4_0,
        ] {
            let bytes = encode(&image, sampling, 0);
            let eighth = decode(&bytes).unwrap().expect("a baseline JPEG");
            let (mean, _) = difference(&eighth, &block_means(&bytes));
            // Chroma is interpolated between block centres rather than averaged: close,
            // not equal, where the colour changes.
            assert!(mean < 2.5, "{sampling:?}: mean difference {mean}");
        }
    }

    #[test]
    fn restart_markers_are_followed() {
        let image = picture(640, 480);
        let plain = decode(&encode(&image, SamplingFactor::R_4_2_0, 0))
            .unwrap()
            .unwrap();
        for interval in [1, 3, 7] {
            let restarted = decode(&encode(&image, SamplingFactor::R_4_2_0, interval))
                .unwrap()
                .unwrap();
            assert_eq!(
                difference(&plain, &restarted),
                (0.0, 0),
                "interval {interval}"
            );
        }
    }

    #[test]
    fn grey_photos_decode() {
        let grey =
            image::GrayImage::from_fn(333, 250, |x, y| image::Luma([((x * 3 + y) % 256) as u8]));
        let mut bytes = Vec::new();
        Encoder::new(&mut bytes, 90)
            .encode(grey.as_raw(), 333, 250, ColorType::Luma)
            .unwrap();
        let eighth = decode(&bytes).unwrap().expect("a baseline JPEG");
        let (mean, _) = difference(&eighth, &block_means(&bytes));
        assert!(mean < 1.5, "mean difference {mean}");
    }

    #[test]
    fn progressive_photos_are_left_to_the_general_decoder() {
        let image = picture(200, 150);
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, 90);
        encoder.set_progressive(true);
        encoder
            .encode(image.as_raw(), 200, 150, ColorType::Rgb)
            .unwrap();
        assert_eq!(decode(&bytes), Ok(None));
    }

    #[test]
    fn truncated_or_garbled_data_is_corrupt_not_a_panic() {
        let bytes = encode(&picture(400, 300), SamplingFactor::R_4_2_0, 0);
        let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        for cut in [scan + 20, bytes.len() / 2, bytes.len() - 10] {
            let mut truncated = bytes[..cut].to_vec();
            truncated.extend_from_slice(&[0xFF, 0xD9]);
            // Zero bits past the end decode to something or fail; they never panic or hang.
            let _ = decode(&truncated);
        }
        let mut garbled = bytes.clone();
        for byte in garbled[scan + 30..].iter_mut().step_by(7) {
            *byte = byte.wrapping_mul(31).wrapping_add(7);
        }
        let _ = decode(&garbled);
        assert_eq!(decode(&bytes[..scan]).map(|_| ()), Err(Corrupt));
        assert_eq!(decode(b"\xFF\xD8\xFF\xD9"), Err(Corrupt));
    }
}
