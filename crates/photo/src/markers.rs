//! Walking a JPEG's marker segments without decoding its pixels: the one frame header, the
//! Huffman and quantisation tables and the restart interval in force at each scan, where
//! each scan's entropy-coded data starts and ends, and the EXIF and Adobe segments.
//!
//! Every rule that bounds what a file can make a decoder do, whatever its bytes, that the
//! structure alone can decide is checked here, so both decoders get it: exactly one frame
//! header, of a kind the decoders handle (8-bit Huffman-coded DCT: baseline, extended
//! sequential or progressive); every scan's components, tables and parameters valid; at most
//! [`MAX_SCANS`] scans and [`MAX_SEGMENTS`] segments; and a progression in which every
//! coefficient of every component is first sent once and then refined one bit at a time
//! (ITU T.81 G.1.1.1.2), which caps the scans that can touch a coefficient at 14.

use crate::Rejected;

/// Most scans in one image. A progressive JPEG from libjpeg has 10 (6 for greyscale), from
/// mozjpeg's scan optimisation about as many; a baseline one has 1 (3 when its components
/// are sent one after another). Every scan makes a decoder go over its blocks again.
pub const MAX_SCANS: usize = 64;
/// Most marker segments of any kind (tables, application data, comments, scans). A camera's
/// JPEG has about 10, a progressive one with a table before each scan about 30.
pub const MAX_SEGMENTS: usize = 512;

/// How the frame is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// Baseline or extended sequential (SOF0, SOF1): each coefficient in one scan.
    Sequential,
    /// Progressive (SOF2): coefficients sent in bands and bit planes over several scans.
    Progressive,
}

/// One component of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameComponent {
    /// The component's identifier, as scans name it.
    pub id: u8,
    /// Horizontal sampling factor, 1..=4.
    pub h: usize,
    /// Vertical sampling factor, 1..=4.
    pub v: usize,
    /// Quantisation table slot, 0..=3.
    pub quant: usize,
}

/// The frame header (SOF): what the image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// How the coefficients are sent.
    pub process: Process,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// One (grey), three (YCbCr or RGB) or four (CMYK or YCCK) components.
    pub components: Vec<FrameComponent>,
}

impl Frame {
    /// Largest horizontal sampling factor.
    pub fn max_h(&self) -> usize {
        self.components.iter().map(|c| c.h).max().unwrap_or(1)
    }

    /// Largest vertical sampling factor.
    pub fn max_v(&self) -> usize {
        self.components.iter().map(|c| c.v).max().unwrap_or(1)
    }

    /// MCUs across and down in an interleaved scan.
    pub fn mcus(&self) -> (usize, usize) {
        (
            self.width.div_ceil(8 * self.max_h()),
            self.height.div_ceil(8 * self.max_v()),
        )
    }

    /// The blocks of component `c` that hold image data (what a scan of that component
    /// alone codes), across and down.
    pub fn blocks(&self, c: &FrameComponent) -> (usize, usize) {
        let columns = (self.width * c.h).div_ceil(self.max_h());
        let rows = (self.height * c.v).div_ceil(self.max_v());
        (columns.div_ceil(8), rows.div_ceil(8))
    }

    /// The blocks of component `c` over whole MCUs (what an interleaved scan codes).
    pub fn padded_blocks(&self, c: &FrameComponent) -> (usize, usize) {
        let (mcus_x, mcus_y) = self.mcus();
        (mcus_x * c.h, mcus_y * c.v)
    }
}

/// A Huffman table as the file defines it (DHT): code counts per length and the symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuffmanSpec {
    /// How many codes of each length 1..=16.
    pub counts: [u8; 16],
    /// The symbols, shortest codes first.
    pub symbols: Vec<u8>,
}

/// One component of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanComponent {
    /// Index into [`Frame::components`].
    pub index: usize,
    /// DC Huffman table slot.
    pub dc_table: usize,
    /// AC Huffman table slot.
    pub ac_table: usize,
}

/// A scan header (SOS) and where its data starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The components it codes, in frame order; more than one means interleaved MCUs.
    pub components: Vec<ScanComponent>,
    /// First coefficient of the spectral band (zig-zag index).
    pub ss: usize,
    /// Last coefficient of the band.
    pub se: usize,
    /// Successive approximation: the bit position of the previous scan of this band (0 for
    /// a first scan).
    pub ah: u8,
    /// Successive approximation: the bit position this scan sends.
    pub al: u8,
    /// MCUs between restart markers (0: none).
    pub restart_interval: usize,
    /// Offset of the first byte of entropy-coded data.
    pub data_start: usize,
}

impl Scan {
    /// A scan of DC coefficients only (progressive).
    pub fn is_dc(&self) -> bool {
        self.ss == 0 && self.se == 0
    }

    /// Blocks the scan codes: over whole MCUs when interleaved, the component's own
    /// blocks otherwise.
    pub fn blocks(&self, frame: &Frame) -> usize {
        let sizes = self.components.iter().map(|c| {
            let component = &frame.components[c.index];
            let (x, y) = if self.components.len() > 1 {
                frame.padded_blocks(component)
            } else {
                frame.blocks(component)
            };
            x * y
        });
        sizes.sum()
    }
}

/// Where the walk is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// At the next marker (or junk before it).
    Segments,
    /// Inside a scan's entropy-coded data that the caller did not read.
    ScanData(usize),
    /// Past EOI, or at the end of the bytes.
    Done,
}

/// Reads a JPEG's segments in order. [`Walker::frame`] reads up to the frame header; then
/// [`Walker::next_scan`] returns each scan in turn, after which the caller either decodes
/// its data and says where it stopped ([`Walker::resume_at`]) or leaves it for the walker
/// to skip.
pub struct Walker<'a> {
    bytes: &'a [u8],
    at: usize,
    position: Position,
    segments: usize,
    scans: usize,
    frame: Option<Frame>,
    /// DC (0) and AC (1) tables by slot, as last defined.
    huffman: [[Option<HuffmanSpec>; 4]; 2],
    /// The first coefficient (DC) of each quantisation table slot, as last defined.
    dc_quant: [Option<u16>; 4],
    restart_interval: usize,
    progression: Progression,
    exif: Option<&'a [u8]>,
    adobe_transform: Option<u8>,
}

impl<'a> Walker<'a> {
    /// Starts at the SOI marker.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Rejected> {
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(Rejected("no start-of-image marker"));
        }
        Ok(Self {
            bytes,
            at: 2,
            position: Position::Segments,
            segments: 0,
            scans: 0,
            frame: None,
            huffman: Default::default(),
            dc_quant: [None; 4],
            restart_interval: 0,
            progression: Progression::default(),
            exif: None,
            adobe_transform: None,
        })
    }

    /// Reads up to and including the frame header and returns it.
    pub fn frame(&mut self) -> Result<&Frame, Rejected> {
        while self.frame.is_none() {
            match self.next_segment()? {
                Some(Segment::Scan(_)) => return Err(Rejected("a scan before the frame header")),
                Some(Segment::Other) => {}
                None => return Err(Rejected("no frame header")),
            }
        }
        self.frame.as_ref().ok_or(Rejected("no frame header"))
    }

    /// The next scan, or `None` at the end of the image. A scan whose data the caller did
    /// not read (no [`Walker::resume_at`] since it was returned) is skipped first.
    pub fn next_scan(&mut self) -> Result<Option<Scan>, Rejected> {
        loop {
            match self.next_segment()? {
                Some(Segment::Scan(scan)) => return Ok(Some(scan)),
                Some(Segment::Other) => {}
                None => return Ok(None),
            }
        }
    }

    /// The caller read the last scan's data up to `offset`: the walk goes on from the next
    /// marker at or after it.
    pub fn resume_at(&mut self, offset: usize) {
        if let Position::ScanData(_) = self.position {
            self.position = Position::ScanData(offset);
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The Huffman table in DC (`class` 0) or AC (1) slot `slot`, as last defined.
    pub fn huffman(&self, class: usize, slot: usize) -> Option<&HuffmanSpec> {
        self.huffman.get(class)?.get(slot)?.as_ref()
    }

    /// The DC quantiser of table slot `slot`, as last defined.
    pub fn dc_quant(&self, slot: usize) -> Option<u16> {
        self.dc_quant.get(slot).copied().flatten()
    }

    /// The EXIF data (the TIFF structure after `Exif\0\0`) of the first EXIF APP1 segment
    /// met so far.
    pub fn exif(&self) -> Option<&'a [u8]> {
        self.exif
    }

    /// The colour transform of an Adobe APP14 segment met so far (0: none, i.e. RGB or
    /// CMYK; 1: YCbCr; 2: YCCK).
    pub fn adobe_transform(&self) -> Option<u8> {
        self.adobe_transform
    }

    fn next_segment(&mut self) -> Result<Option<Segment>, Rejected> {
        match self.position {
            Position::Done => return Ok(None),
            Position::ScanData(from) => {
                self.at = end_of_entropy_data(self.bytes, from);
                self.position = Position::Segments;
            }
            Position::Segments => {}
        }
        let Some(marker) = self.next_marker() else {
            self.position = Position::Done;
            return Ok(None);
        };
        match marker {
            // End of image: whatever follows is not ours to read.
            0xD9 => {
                self.position = Position::Done;
                return Ok(None);
            }
            // Restart markers outside a scan (some encoders put one after the last) and
            // TEM stand alone.
            0xD0..=0xD7 | 0x01 => return Ok(Some(Segment::Other)),
            0xD8 => return Err(Rejected("a second start-of-image marker")),
            _ => {}
        }
        self.segments += 1;
        if self.segments > MAX_SEGMENTS {
            return Err(Rejected("too many segments"));
        }
        let length = usize::from(u16::from_be_bytes([
            *self
                .bytes
                .get(self.at)
                .ok_or(Rejected("a segment cut short"))?,
            *self
                .bytes
                .get(self.at + 1)
                .ok_or(Rejected("a segment cut short"))?,
        ]));
        let payload = length
            .checked_sub(2)
            .and_then(|n| self.bytes.get(self.at + 2..self.at + 2 + n))
            .ok_or(Rejected("a segment cut short"))?;
        self.at += length;
        match marker {
            0xC0 | 0xC1 => self.read_frame(payload, Process::Sequential)?,
            0xC2 => self.read_frame(payload, Process::Progressive)?,
            // Lossless, hierarchical and arithmetic-coded frames, and arithmetic
            // conditioning: no camera, phone or browser writes them.
            0xC3 | 0xC5..=0xC7 | 0xC8..=0xCF => {
                return Err(Rejected("a kind of JPEG the decoders do not handle"));
            }
            0xC4 => self.read_huffman(payload)?,
            0xDB => self.read_quant(payload)?,
            0xDD => {
                let interval = payload.get(..2).ok_or(Rejected("a bad restart interval"))?;
                self.restart_interval = usize::from(u16::from_be_bytes([interval[0], interval[1]]));
            }
            0xDA => {
                let scan = self.read_scan(payload)?;
                self.position = Position::ScanData(scan.data_start);
                return Ok(Some(Segment::Scan(scan)));
            }
            0xE1 if self.exif.is_none() => {
                self.exif = payload.strip_prefix(b"Exif\0\0");
            }
            0xEE if payload.starts_with(b"Adobe") => {
                self.adobe_transform = payload.get(11).copied();
            }
            // DNL (a height sent after the first scan) is only allowed with a frame height
            // of 0, which `read_frame` refuses; APPn, COM and the rest carry nothing the
            // decoders need.
            _ => {}
        }
        Ok(Some(Segment::Other))
    }

    /// The marker code at or after `at` (past any fill bytes and, as libjpeg does, past
    /// junk before the marker); `None` at the end of the bytes.
    fn next_marker(&mut self) -> Option<u8> {
        loop {
            let rest = self.bytes.get(self.at..)?;
            let mut i = memchr::memchr(0xFF, rest)?;
            while rest.get(i + 1) == Some(&0xFF) {
                i += 1;
            }
            let marker = *rest.get(i + 1)?;
            self.at += i + 2;
            // A stuffed zero outside a scan is junk: look further.
            if marker != 0 {
                return Some(marker);
            }
        }
    }

    fn read_frame(&mut self, payload: &[u8], process: Process) -> Result<(), Rejected> {
        if self.frame.is_some() {
            return Err(Rejected("a second frame header"));
        }
        let byte = |i: usize| {
            payload
                .get(i)
                .copied()
                .ok_or(Rejected("a frame header cut short"))
        };
        if byte(0)? != 8 {
            return Err(Rejected("a sample precision other than 8 bits"));
        }
        let height = usize::from(u16::from_be_bytes([byte(1)?, byte(2)?]));
        let width = usize::from(u16::from_be_bytes([byte(3)?, byte(4)?]));
        if width == 0 || height == 0 {
            return Err(Rejected("a zero dimension"));
        }
        let count = usize::from(byte(5)?);
        if !matches!(count, 1 | 3 | 4) {
            return Err(Rejected("a component count other than 1, 3 or 4"));
        }
        let mut components: Vec<FrameComponent> = Vec::with_capacity(count);
        for i in 0..count {
            let id = byte(6 + i * 3)?;
            let sampling = byte(7 + i * 3)?;
            let (h, v) = (usize::from(sampling >> 4), usize::from(sampling & 15));
            let quant = usize::from(byte(8 + i * 3)?);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || quant > 3 {
                return Err(Rejected("bad sampling factors or quantisation table"));
            }
            if components.iter().any(|c| c.id == id) {
                return Err(Rejected("two components with one identifier"));
            }
            components.push(FrameComponent { id, h, v, quant });
        }
        self.frame = Some(Frame {
            process,
            width,
            height,
            components,
        });
        Ok(())
    }

    fn read_huffman(&mut self, mut payload: &[u8]) -> Result<(), Rejected> {
        while let Some((&spec, rest)) = payload.split_first() {
            let (class, slot) = (usize::from(spec >> 4), usize::from(spec & 15));
            let counts: [u8; 16] = rest
                .get(..16)
                .and_then(|c| c.try_into().ok())
                .ok_or(Rejected("a Huffman table cut short"))?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = rest
                .get(16..16 + total)
                .ok_or(Rejected("a Huffman table cut short"))?;
            let table = HuffmanSpec {
                counts,
                symbols: symbols.to_vec(),
            };
            validate_huffman(&table)?;
            *self
                .huffman
                .get_mut(class)
                .and_then(|slots| slots.get_mut(slot))
                .ok_or(Rejected("a bad Huffman table class or slot"))? = Some(table);
            payload = &rest[16 + total..];
        }
        Ok(())
    }

    fn read_quant(&mut self, mut payload: &[u8]) -> Result<(), Rejected> {
        while let Some((&spec, rest)) = payload.split_first() {
            let (precision, slot) = (spec >> 4, usize::from(spec & 15));
            let size = match precision {
                0 => 64,
                1 => 128,
                _ => return Err(Rejected("a bad quantisation table precision")),
            };
            let table = rest
                .get(..size)
                .ok_or(Rejected("a quantisation table cut short"))?;
            let dc = if precision == 0 {
                u16::from(table[0])
            } else {
                u16::from_be_bytes([table[0], table[1]])
            };
            *self
                .dc_quant
                .get_mut(slot)
                .ok_or(Rejected("a bad quantisation table slot"))? = Some(dc);
            payload = &rest[size..];
        }
        Ok(())
    }

    fn read_scan(&mut self, payload: &[u8]) -> Result<Scan, Rejected> {
        let frame = self
            .frame
            .as_ref()
            .ok_or(Rejected("a scan before the frame header"))?;
        self.scans += 1;
        if self.scans > MAX_SCANS {
            return Err(Rejected("too many scans"));
        }
        let byte = |i: usize| {
            payload
                .get(i)
                .copied()
                .ok_or(Rejected("a scan header cut short"))
        };
        let count = usize::from(byte(0)?);
        if !(1..=4).contains(&count) {
            return Err(Rejected("a scan of no or too many components"));
        }
        let mut components: Vec<ScanComponent> = Vec::with_capacity(count);
        for i in 0..count {
            let id = byte(1 + i * 2)?;
            let tables = byte(2 + i * 2)?;
            let index = frame
                .components
                .iter()
                .position(|c| c.id == id)
                .ok_or(Rejected("a scan names an unknown component"))?;
            // Scan components come in frame order, each once.
            if components.last().is_some_and(|last| last.index >= index) {
                return Err(Rejected("scan components out of order"));
            }
            components.push(ScanComponent {
                index,
                dc_table: usize::from(tables >> 4),
                ac_table: usize::from(tables & 15),
            });
        }
        let (ss, se) = (
            usize::from(byte(1 + count * 2)?),
            usize::from(byte(2 + count * 2)?),
        );
        let approximation = byte(3 + count * 2)?;
        let (ah, al) = (approximation >> 4, approximation & 15);
        if count > 1 {
            let blocks: usize = components
                .iter()
                .map(|c| frame.components[c.index].h * frame.components[c.index].v)
                .sum();
            if blocks > 10 {
                return Err(Rejected("more than 10 blocks in an MCU"));
            }
        }
        let scan = Scan {
            components,
            ss,
            se,
            ah,
            al,
            restart_interval: self.restart_interval,
            data_start: self.at,
        };
        self.progression.admit(frame, &scan)?;
        // The tables the scan's decoding reads must exist (no MJPEG default tables).
        let sequential = frame.process == Process::Sequential;
        for c in &scan.components {
            let needs_dc = sequential || (scan.ss == 0 && scan.ah == 0);
            let needs_ac = sequential || scan.ss > 0;
            if needs_dc && self.huffman(0, c.dc_table).is_none() {
                return Err(Rejected("a scan uses an undefined DC table"));
            }
            if needs_ac && self.huffman(1, c.ac_table).is_none() {
                return Err(Rejected("a scan uses an undefined AC table"));
            }
            if self.dc_quant(frame.components[c.index].quant).is_none() {
                return Err(Rejected("a component without a quantisation table"));
            }
        }
        Ok(scan)
    }
}

enum Segment {
    Scan(Scan),
    Other,
}

/// Where the entropy-coded data starting at `from` ends: the first marker that is neither
/// a stuffed zero (`FF 00`) nor a restart marker (`FF D0`..`FF D7`), or the end.
pub fn end_of_entropy_data(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(i) = bytes.get(at..).and_then(|rest| memchr::memchr(0xFF, rest)) {
        let marker = at + i;
        match bytes.get(marker + 1) {
            Some(0x00 | 0xD0..=0xD7) => at = marker + 2,
            // Fill bytes before a marker belong to it.
            Some(0xFF) => at = marker + 1,
            _ => return marker,
        }
    }
    bytes.len()
}

/// A Huffman table's codes must fit their lengths (T.81 Annex C): anything else has codes
/// that are not prefix-free, which no encoder writes.
fn validate_huffman(table: &HuffmanSpec) -> Result<(), Rejected> {
    if table.symbols.len() > 256 {
        return Err(Rejected("a Huffman table of more than 256 codes"));
    }
    let mut code: u32 = 0;
    for (length, &count) in (1..=16u32).zip(&table.counts) {
        code += u32::from(count);
        if code > 1 << length {
            return Err(Rejected("a Huffman table whose codes overflow"));
        }
        code <<= 1;
    }
    Ok(())
}

/// The progression so far: for each component and coefficient, the bit position last sent
/// (`None`: not yet), and which components a sequential frame has had scans of.
struct Progression {
    sent: [[Option<u8>; 64]; 4],
}

impl Default for Progression {
    fn default() -> Self {
        Self {
            sent: [[None; 64]; 4],
        }
    }
}

impl Progression {
    fn admit(&mut self, frame: &Frame, scan: &Scan) -> Result<(), Rejected> {
        match frame.process {
            Process::Sequential => {
                if (scan.ss, scan.se, scan.ah, scan.al) != (0, 63, 0, 0) {
                    return Err(Rejected("a sequential scan that is not the whole spectrum"));
                }
                for c in &scan.components {
                    let sent = &mut self.sent[c.index];
                    if sent[0].is_some() {
                        return Err(Rejected("a component scanned twice"));
                    }
                    sent.fill(Some(0));
                }
            }
            Process::Progressive => {
                if scan.se > 63 || scan.ss > scan.se || scan.al > 13 {
                    return Err(Rejected("a bad spectral band or bit position"));
                }
                if scan.ss == 0 && scan.se != 0 {
                    return Err(Rejected("a progressive scan mixing DC and AC"));
                }
                if scan.ss > 0 && scan.components.len() != 1 {
                    return Err(Rejected("an interleaved AC scan"));
                }
                for c in &scan.components {
                    let sent = &mut self.sent[c.index];
                    for coefficient in &mut sent[scan.ss..=scan.se] {
                        *coefficient = match (*coefficient, scan.ah) {
                            (None, 0) => Some(scan.al),
                            (Some(previous), ah)
                                if ah == previous && ah > 0 && scan.al == ah - 1 =>
                            {
                                Some(scan.al)
                            }
                            _ => return Err(Rejected("a scan out of progression")),
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment: marker, then its payload with the length in front.
    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn frame_payload(width: u16, height: u16) -> Vec<u8> {
        let mut sof = vec![8];
        sof.extend_from_slice(&height.to_be_bytes());
        sof.extend_from_slice(&width.to_be_bytes());
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
        sof
    }

    /// SOI, a quantisation table, a one-code DC and AC table, then `rest`.
    fn file(rest: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend(segment(0xDB, &[[0u8].as_slice(), &[1; 64]].concat()));
        let mut dht = vec![0x00];
        dht.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        dht.extend_from_slice(&[0x10]);
        dht.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(segment(0xC4, &dht));
        for part in rest {
            out.extend_from_slice(part);
        }
        out
    }

    fn scan(ss: u8, se: u8, ah_al: u8) -> Vec<u8> {
        segment(0xDA, &[1, 1, 0x00, ss, se, ah_al])
    }

    #[test]
    fn scans_are_found_with_their_data() {
        let bytes = file(&[
            segment(0xC0, &frame_payload(16, 16)),
            scan(0, 63, 0),
            vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
            vec![0xFF, 0xD9],
        ]);
        let mut walker = Walker::new(&bytes).unwrap();
        assert_eq!(walker.frame().unwrap().width, 16);
        let scan = walker.next_scan().unwrap().unwrap();
        assert_eq!(
            end_of_entropy_data(&bytes, scan.data_start),
            bytes.len() - 2,
            "stuffed zeros and restart markers are part of the data"
        );
        assert_eq!(walker.next_scan().unwrap(), None);
    }

    #[test]
    fn a_second_frame_header_is_refused() {
        let bytes = file(&[
            segment(0xC0, &frame_payload(1200, 1200)),
            segment(0xC0, &frame_payload(65535, 65535)),
            scan(0, 63, 0),
        ]);
        let mut walker = Walker::new(&bytes).unwrap();
        assert_eq!(walker.frame().map(|f| f.width), Ok(1200));
        assert_eq!(walker.next_scan(), Err(Rejected("a second frame header")));
    }

    #[test]
    fn a_frame_header_after_the_scans_is_refused_too() {
        let bytes = file(&[
            segment(0xC0, &frame_payload(100, 100)),
            scan(0, 63, 0),
            vec![0x00],
            segment(0xC0, &frame_payload(65535, 65535)),
        ]);
        let mut walker = Walker::new(&bytes).unwrap();
        walker.frame().unwrap();
        assert!(walker.next_scan().unwrap().is_some());
        assert_eq!(walker.next_scan(), Err(Rejected("a second frame header")));
    }

    #[test]
    fn progressions_that_resend_or_skip_bits_are_refused() {
        let progressive = segment(0xC2, &frame_payload(64, 64));
        let walk = |scans: &[Vec<u8>]| -> Result<usize, Rejected> {
            let mut parts = vec![progressive.clone()];
            parts.extend(scans.iter().flat_map(|s| [s.clone(), vec![0x00]]));
            let bytes = file(&parts);
            let mut walker = Walker::new(&bytes)?;
            walker.frame()?;
            let mut n = 0;
            while walker.next_scan()?.is_some() {
                n += 1;
            }
            Ok(n)
        };
        // DC at bit 1, then refined to bit 0; AC 1-63 at bit 2, then bits 1 and 0.
        let legal = [
            scan(0, 0, 0x01),
            scan(1, 63, 0x02),
            scan(1, 63, 0x21),
            scan(0, 0, 0x10),
            scan(1, 63, 0x10),
        ];
        assert_eq!(walk(&legal), Ok(5));
        let out_of_progression = Err(Rejected("a scan out of progression"));
        // The same refinement again: the "400 refinement scans".
        assert_eq!(
            walk(&[
                scan(0, 0, 0x01),
                scan(1, 63, 0x01),
                scan(1, 63, 0x10),
                scan(1, 63, 0x10)
            ]),
            out_of_progression
        );
        // A band sent twice as a first scan.
        assert_eq!(
            walk(&[scan(0, 0, 0), scan(1, 5, 0), scan(3, 9, 0)]),
            out_of_progression
        );
        // A refinement of bits never sent, or skipping a bit.
        assert_eq!(
            walk(&[scan(0, 0, 0), scan(1, 63, 0x10)]),
            out_of_progression
        );
        assert_eq!(
            walk(&[scan(0, 0, 0x02), scan(0, 0, 0x20)]),
            out_of_progression
        );
    }

    #[test]
    fn the_number_of_scans_is_bounded() {
        // A legal progression of 64 one-coefficient first scans, then a refinement.
        let mut parts = vec![segment(0xC2, &frame_payload(8, 8))];
        parts.push(scan(0, 0, 0x01));
        for k in 1..=63u8 {
            parts.push(scan(k, k, 0));
        }
        parts.push(scan(0, 0, 0x10));
        let bytes = file(&parts);
        let mut walker = Walker::new(&bytes).unwrap();
        walker.frame().unwrap();
        let mut result = Ok(Some(()));
        let mut n = 0;
        while let Ok(Some(())) = result {
            result = walker.next_scan().map(|s| s.map(|_| ()));
            if let Ok(Some(())) = result {
                n += 1;
            }
        }
        assert_eq!(n, MAX_SCANS);
        assert_eq!(result, Err(Rejected("too many scans")));
    }

    #[test]
    fn scans_must_name_defined_tables_and_components() {
        let frame = segment(0xC0, &frame_payload(16, 16));
        let bytes = file(&[frame.clone(), segment(0xDA, &[1, 1, 0x55, 0, 63, 0])]);
        let mut walker = Walker::new(&bytes).unwrap();
        walker.frame().unwrap();
        assert_eq!(
            walker.next_scan(),
            Err(Rejected("a scan uses an undefined DC table"))
        );
        let bytes = file(&[frame, segment(0xDA, &[1, 9, 0x00, 0, 63, 0])]);
        let mut walker = Walker::new(&bytes).unwrap();
        walker.frame().unwrap();
        assert_eq!(
            walker.next_scan(),
            Err(Rejected("a scan names an unknown component"))
        );
    }

    #[test]
    fn huffman_tables_whose_codes_overflow_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert_eq!(
            validate_huffman(&HuffmanSpec {
                counts,
                symbols: vec![0, 1, 2]
            }),
            Err(Rejected("a Huffman table whose codes overflow"))
        );
        counts[0] = 2;
        assert_eq!(
            validate_huffman(&HuffmanSpec {
                counts,
                symbols: vec![0, 1]
            }),
            Ok(())
        );
    }

    #[test]
    fn cut_short_and_unsupported_files_are_refused_not_misread() {
        for bytes in [
            vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00],
            vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x20, 8],
            [vec![0xFF, 0xD8], segment(0xC3, &frame_payload(100, 100))].concat(),
            [vec![0xFF, 0xD8], segment(0xC9, &frame_payload(100, 100))].concat(),
            vec![0xFF, 0xD8, 0xFF, 0xD9],
        ] {
            let walker = Walker::new(&bytes);
            assert!(
                walker.and_then(|mut w| w.frame().map(|_| ())).is_err(),
                "{bytes:02x?}"
            );
        }
    }
}
