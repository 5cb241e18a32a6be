//! Decoding uploaded or local images into RGB8 with limits, so a hostile header cannot
//! allocate gigabytes.

use std::path::Path;

/// Largest accepted width or height, pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Largest decoded allocation, bytes.
pub const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// A decoded image: interleaved RGB8, row-major.
#[derive(Debug, Clone)]
pub struct RgbImage {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// `3 · width · height` bytes.
    pub data: Vec<u8>,
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The bytes are not an image in a supported format (JPEG, PNG, WebP, BMP).
    #[error("not a supported image (JPEG, PNG, WebP or BMP)")]
    NotAnImage,
    /// The header announces a size over the limits.
    #[error("image too large: {width}×{height} (limit {MAX_SIDE}×{MAX_SIDE})")]
    TooLarge {
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
    },
    /// The data is damaged or truncated.
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    /// The image has no pixels.
    #[error("empty image")]
    Empty,
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
}

/// Decodes image bytes (format sniffed from the content, not the name).
///
/// # Errors
/// [`ImageError`] for unknown formats, oversize headers and corrupt or truncated data.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    use image::ImageReader;
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(ImageError::Io)?;
    match reader.format() {
        None => return Err(ImageError::NotAnImage),
        Some(image::ImageFormat::Jpeg) if !jpeg_complete(bytes) => {
            return Err(ImageError::Corrupt(
                "JPEG data ends before its end-of-image marker (truncated)".into(),
            ));
        }
        Some(_) => {}
    }
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| ImageError::Corrupt(e.to_string()))?;
    if w == 0 || h == 0 {
        return Err(ImageError::Empty);
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(ImageError::TooLarge {
            width: w,
            height: h,
        });
    }
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(ImageError::Io)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Unsupported(_) => ImageError::NotAnImage,
        image::ImageError::Limits(_) => ImageError::TooLarge {
            width: w,
            height: h,
        },
        other => ImageError::Corrupt(other.to_string()),
    })?;
    let rgb = img.to_rgb8();
    Ok(RgbImage {
        width: rgb.width() as usize,
        height: rgb.height() as usize,
        data: rgb.into_raw(),
    })
}

/// Whether a JPEG's last scan is followed by the end-of-image marker (`FF D9`). Decoders
/// pad a truncated scan with grey instead of failing; this catches it. Inside entropy-coded
/// data `FF` is always stuffed (`FF 00`) or a restart marker, so `FF DA` (start of scan) and
/// `FF D9` only appear as markers; an EXIF thumbnail's own `FF D9` precedes the first scan.
fn jpeg_complete(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_sos {
        Some(pos) => bytes[pos..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// Reads and decodes an image file.
///
/// # Errors
/// As [`decode`], plus I/O errors.
pub fn open(path: &Path) -> Result<RgbImage, ImageError> {
    decode(&std::fs::read(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn truncated_jpegs_are_refused() {
        let img =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut jpg = std::io::Cursor::new(Vec::new());
        img.write_to(&mut jpg, image::ImageFormat::Jpeg)
            .expect("encode");
        let jpg = jpg.into_inner();
        assert!(decode(&jpg).is_ok());
        assert!(matches!(
            decode(&jpg[..jpg.len() - 40]),
            Err(ImageError::Corrupt(_))
        ));
        // Trailing bytes after EOI are tolerated.
        let mut padded = jpg.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(decode(&padded).is_ok());
    }

    #[test]
    fn decodes_small_images() {
        let img = decode(&png(1, 1)).expect("1×1 decodes");
        assert_eq!(
            (img.width, img.height, img.data.as_slice()),
            (1, 1, &[10u8, 20, 30][..])
        );
    }

    #[test]
    fn refuses_text_truncated_and_huge() {
        assert!(matches!(
            decode(b"hello, not an image"),
            Err(ImageError::NotAnImage)
        ));
        assert!(matches!(decode(b""), Err(ImageError::NotAnImage)));
        let p = png(64, 64);
        assert!(matches!(
            decode(&p[..p.len() / 2]),
            Err(ImageError::Corrupt(_))
        ));
        assert!(matches!(
            decode(&bmp_header(20_000, 20_000)),
            Err(ImageError::TooLarge {
                width: 20_000,
                height: 20_000
            })
        ));
    }

    /// A 24-bit BMP header announcing `w × h` with no pixel data behind it.
    pub(crate) fn bmp_header(w: i32, h: i32) -> Vec<u8> {
        let mut b = Vec::with_capacity(54);
        b.extend_from_slice(b"BM");
        b.extend_from_slice(&54u32.to_le_bytes()); // file size (a lie, like the rest)
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
        b.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
        b.extend_from_slice(&w.to_le_bytes());
        b.extend_from_slice(&h.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes()); // planes
        b.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
        b.extend_from_slice(&[0; 24]); // compression, sizes, resolution, palette
        b
    }
}
