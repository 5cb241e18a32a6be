//! A loaded YOLO model ready to run on images: letterbox → network → decode → masks.
//!
//! The letterbox is rectangular by default (Ultralytics' `rect` shape, padded to the next
//! stride multiple with a [`RECT_MARGIN`] of grey, [`preprocess::Letterbox::rect_size`]):
//! candle's weights take any stride multiple, unlike the static 640×640 ONNX graph, and a
//! 4:3 frame then costs 20 % fewer pixels (640×512), a 16:9 one 35 % (640×416).
//! [`YoloDetector::square`] restores the square input the ONNX Runtime parity tests
//! compare against.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use crate::{
    ModelError,
    import::{INFO_FILE, ModelInfo, WEIGHTS_FILE},
    postprocess::{self, DetectParams, Detection, Mask},
    preprocess,
    yolo::Yolo,
};

/// Grey margin, network pixels, kept on each padded side of a rectangular letterbox.
/// Ultralytics pads to the stride multiple only; with no margin the vehicles model saw
/// bus.jpg's bus (which touches both side borders) at 0.394 instead of the square input's
/// 0.645, with 16 px at 0.622 (same box): objects cut by the border need some of the grey
/// context the models were trained with.
pub const RECT_MARGIN: usize = 16;

/// A YOLO detector loaded from a model directory.
pub struct YoloDetector {
    model: Yolo,
    info: ModelInfo,
    device: Device,
    rect: bool,
}

/// The network's raw answer for one image.
#[derive(Debug, Clone)]
pub struct RawOutput {
    /// Predictions `[4 + nc + nm, A]`, row-major.
    pub preds: Vec<f32>,
    /// Segment models: prototypes `[nm, mh, mw]` and their shape.
    pub protos: Option<(Vec<f32>, [usize; 3])>,
    /// How the image was letterboxed.
    pub letterbox: preprocess::Letterbox,
}

/// One detection with its mask (segment models).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The detection.
    pub detection: Detection,
    /// Segment models: the mask in source pixels.
    pub mask: Option<Mask>,
}

impl YoloDetector {
    /// Loads `dir/model.safetensors` and `dir/model.json`.
    ///
    /// # Errors
    /// [`ModelError::Io`] for missing files, [`ModelError::Candle`] for weights that do not
    /// fit the described structure.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ModelError> {
        let info_path = dir.join(INFO_FILE);
        let info: ModelInfo = serde_json::from_slice(
            &std::fs::read(&info_path)
                .map_err(|e| ModelError::Io(info_path.display().to_string(), e))?,
        )?;
        let weights = dir.join(WEIGHTS_FILE);
        if !weights.is_file() {
            return Err(ModelError::Io(
                weights.display().to_string(),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        // SAFETY-free path: read the file into memory instead of mmapping it.
        let tensors = candle_core::safetensors::load(&weights, device)?;
        let vb = VarBuilder::from_tensors(tensors, candle_core::DType::F32, device);
        let model = Yolo::load(vb, info.yolo.clone())?;
        Ok(Self {
            model,
            info,
            device: device.clone(),
            rect: true,
        })
    }

    /// The same detector with the square `imgsz` input (the exported ONNX graph's shape).
    #[must_use]
    pub fn square(mut self) -> Self {
        self.rect = false;
        self
    }

    /// The network input `(width, height)` for a `w × h` image: the rectangular letterbox
    /// of `imgsz` at the model's largest stride, or `imgsz` itself when square.
    pub fn input_size(&self, w: usize, h: usize) -> (usize, usize) {
        let [ih, iw] = self.info.imgsz;
        if self.rect {
            preprocess::Letterbox::rect_size(w, h, iw, ih, self.info.stride.max(32), RECT_MARGIN)
        } else {
            (iw, ih)
        }
    }

    /// The network.
    pub fn model(&self) -> &Yolo {
        &self.model
    }

    /// The model's description.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Runs the raw network on a letterboxed RGB8 image.
    ///
    /// # Errors
    /// Candle errors.
    pub fn forward_raw(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<RawOutput, ModelError> {
        self.forward_raw_opts(rgb, width, height, true)
    }

    /// [`Self::forward_raw`], without a segment model's mask branch unless `masks`.
    fn forward_raw_opts(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
        masks: bool,
    ) -> Result<RawOutput, ModelError> {
        let (iw, ih) = self.input_size(width, height);
        let (input, letterbox) = preprocess::letterbox(rgb, width, height, iw, ih);
        let x = Tensor::from_vec(input, (1, 3, ih, iw), &self.device)?;
        let out = self.model.forward_opts(&x, masks)?;
        let preds = out.preds.squeeze(0)?.flatten_all()?.to_vec1::<f32>()?;
        let protos = match out.protos {
            Some(p) => {
                let (_, nm, mh, mw) = p.dims4()?;
                Some((p.flatten_all()?.to_vec1::<f32>()?, [nm, mh, mw]))
            }
            None => None,
        };
        Ok(RawOutput {
            preds,
            protos,
            letterbox,
        })
    }

    /// Detects objects in several interleaved RGB8 images with one forward pass (a batch
    /// `[N, 3, H, W]` of letterboxed inputs at the model's `imgsz`); answers per image what
    /// [`Self::detect`] would.
    ///
    /// # Errors
    /// Candle errors.
    pub fn detect_batch(
        &self,
        images: &[(&[u8], usize, usize)],
        params: &DetectParams,
    ) -> Result<Vec<Vec<Instance>>, ModelError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        // One input size for the batch: the largest rectangle any image needs.
        let (iw, ih) = images.iter().fold((0, 0), |(aw, ah), (_, w, h)| {
            let (iw, ih) = self.input_size(*w, *h);
            (aw.max(iw), ah.max(ih))
        });
        let mut input = Vec::with_capacity(images.len() * 3 * ih * iw);
        let mut boxes = Vec::with_capacity(images.len());
        for (rgb, w, h) in images {
            let (x, lb) = preprocess::letterbox(rgb, *w, *h, iw, ih);
            input.extend_from_slice(&x);
            boxes.push(lb);
        }
        let x = Tensor::from_vec(input, (images.len(), 3, ih, iw), &self.device)?;
        let out = self.model.forward(&x)?;
        let mut all = Vec::with_capacity(images.len());
        for (i, letterbox) in boxes.into_iter().enumerate() {
            let preds = out.preds.get(i)?.flatten_all()?.to_vec1::<f32>()?;
            let protos = match &out.protos {
                Some(p) => {
                    let p = p.get(i)?;
                    let (nm, mh, mw) = p.dims3()?;
                    Some((p.flatten_all()?.to_vec1::<f32>()?, [nm, mh, mw]))
                }
                None => None,
            };
            all.push(self.instances(
                RawOutput {
                    preds,
                    protos,
                    letterbox,
                },
                params,
            ));
        }
        Ok(all)
    }

    /// NMS decode of a raw answer (source-pixel boxes, mask coefficients kept).
    fn decode(&self, raw: &RawOutput, params: &DetectParams) -> Vec<Detection> {
        let nm = raw.protos.as_ref().map_or(0, |(_, s)| s[0]);
        postprocess::decode(
            &raw.preds,
            self.info.yolo.num_classes,
            nm,
            params,
            &raw.letterbox,
        )
    }

    /// Decodes a raw answer into detections with their masks.
    fn instances(&self, raw: RawOutput, params: &DetectParams) -> Vec<Instance> {
        let dets = self.decode(&raw, params);
        dets.into_iter()
            .map(|d| {
                let mask = raw.protos.as_ref().map(|(p, [nm, mh, mw])| {
                    postprocess::mask(&d, p, *nm, *mh, *mw, &raw.letterbox)
                });
                Instance { detection: d, mask }
            })
            .collect()
    }

    /// Detects objects in an interleaved RGB8 image.
    ///
    /// # Errors
    /// Candle errors.
    pub fn detect(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
        params: &DetectParams,
    ) -> Result<Vec<Instance>, ModelError> {
        Ok(self.instances(self.forward_raw(rgb, width, height)?, params))
    }

    /// Detects objects without instance masks (live analysis and plate reading need only
    /// boxes): a segment model skips its mask branch and prototypes altogether.
    ///
    /// # Errors
    /// Candle errors.
    pub fn detect_boxes(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
        params: &DetectParams,
    ) -> Result<Vec<Detection>, ModelError> {
        Ok(self.decode(&self.forward_raw_opts(rgb, width, height, false)?, params))
    }
}
