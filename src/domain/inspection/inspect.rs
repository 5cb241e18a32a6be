//! `POST /api/detect` (inspection-api.zh-CN.md "图片检测"): every file of the batch is decoded
//! and checked before any is processed (a bad one answers 400 `Invalid image data for
//! <name>` and nothing is stored); the images then run through the segmentation model as
//! one inference job, `inspection.batch_size` images per forward pass; each answer holds its
//! instance count (`defect_count`), best confidence (`dice`), labels and a result JPEG with
//! the masks and boxes drawn. Records and result images are stored together (files removed
//! again when the transaction fails), and `inspectionCompleted` is published after commit.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, TransactionTrait as _};
use uuid::Uuid;
use visionflow_models::{detector::Instance, postprocess::DetectParams};

use super::InspectionService;
use crate::{
    db::entities::inspection_record,
    draw,
    error::{AppError, AppResult},
    events::Event,
    vision::images::{self, RgbImage},
};

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Its file name (`uploaded_image.jpg` when the client sent none).
    pub filename: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// One inspected image.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// The stored record.
    pub record: inspection_record::Model,
    /// The result image (JPEG).
    pub result_jpeg: Vec<u8>,
    /// Distinct labels, best first.
    pub labels: Vec<String>,
}

/// Colours of the instances, by class index.
const PALETTE: [[u8; 3]; 8] = [
    [255, 56, 56],
    [255, 157, 151],
    [255, 112, 31],
    [255, 178, 29],
    [207, 210, 49],
    [72, 249, 10],
    [26, 147, 52],
    [0, 212, 187],
];

/// The image with each instance's mask blended in (50 %) and its box and label drawn.
pub fn render(img: &RgbImage, found: &[Instance], names: &[String]) -> RgbImage {
    let mut out = img.clone();
    for inst in found {
        let color = PALETTE[inst.detection.class_id % PALETTE.len()];
        if let Some(m) = &inst.mask
            && m.width == out.width
            && m.height == out.height
        {
            for (px, &inside) in out.data.chunks_exact_mut(3).zip(&m.data) {
                if inside != 0 {
                    for c in 0..3 {
                        px[c] = ((u16::from(px[c]) + u16::from(color[c])) / 2) as u8;
                    }
                }
            }
        }
    }
    for inst in found {
        let d = &inst.detection;
        let color = PALETTE[d.class_id % PALETTE.len()];
        let b = d.bbox.map(f64::from);
        draw::draw_box(&mut out, b, 2, color);
        let name = names.get(d.class_id).map_or("?", String::as_str);
        let text = format!("{name} {:.2}", d.confidence);
        draw::draw_label(
            &mut out,
            b[0] as i64,
            (b[1] as i64 - 18).max(0),
            &text,
            2,
            [255, 255, 255],
            color,
        );
    }
    out
}

impl InspectionService {
    /// Inspects a batch; answers one result per file, in upload order.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` `No images provided` / `Invalid image data for <name>` (nothing
    /// stored); `PAYLOAD_TOO_LARGE` above `inspection.max_images`; `UNAVAILABLE` when the
    /// model is not installed or the inference queue is full; `INTERNAL`.
    pub async fn inspect(&self, account_id: Uuid, files: Vec<Upload>) -> AppResult<Vec<Inspected>> {
        if files.is_empty() {
            return Err(AppError::BadUserInput {
                message: "No images provided".into(),
                fields: BTreeMap::new(),
            });
        }
        if files.len() > self.max_images {
            return Err(AppError::PayloadTooLarge(format!(
                "At most {} images per request (got {})",
                self.max_images,
                files.len()
            )));
        }
        // Every file is checked before any is processed.
        let decoded = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(files.len());
            for (i, f) in files.into_iter().enumerate() {
                match images::decode(&f.bytes) {
                    Ok(img) => out.push((f.filename, img)),
                    Err(e) => {
                        let mut fields = BTreeMap::new();
                        fields.insert(format!("images[{i}]"), vec![e.to_string()]);
                        return Err(AppError::BadUserInput {
                            message: format!("Invalid image data for {}", f.filename),
                            fields,
                        });
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(AppError::internal)??;

        let model = self.model.clone();
        let batch = self.batch_size;
        let imgs: Vec<RgbImage> = decoded.iter().map(|(_, i)| i.clone()).collect();
        let (found, _) = self
            .inference
            .run(move |m| {
                let det = m.detector(&model)?;
                let names = det.info().names.clone();
                let params = DetectParams::default();
                let mut out = Vec::with_capacity(imgs.len());
                for chunk in imgs.chunks(batch) {
                    let t0 = std::time::Instant::now();
                    let inputs: Vec<(&[u8], usize, usize)> = chunk
                        .iter()
                        .map(|i| (i.data.as_slice(), i.width, i.height))
                        .collect();
                    let r = det.detect_batch(&inputs, &params);
                    let per = t0.elapsed().as_secs_f64() / chunk.len() as f64;
                    match r {
                        Ok(v) => out.extend(v.into_iter().map(|f| (f, per))),
                        Err(e) => return Some(Err(e.to_string())),
                    }
                }
                Some(Ok((out, names)))
            })
            .await?;
        let (found, names) = match found {
            Some(Ok(x)) => x,
            Some(Err(e)) => return Err(AppError::internal(anyhow::anyhow!("inference: {e}"))),
            None => {
                return Err(AppError::Unavailable {
                    message: format!(
                        "The inspection model {:?} is not installed (inspection.model)",
                        self.model
                    ),
                    retry_after: 60,
                });
            }
        };

        let at = Utc::now();
        let store = self.store.clone();
        let model = self.model.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(decoded.len());
            let mut written: Vec<String> = Vec::new();
            for ((name, img), (inst, secs)) in decoded.into_iter().zip(found) {
                let stem = name
                    .rsplit_once('.')
                    .map_or(name.as_str(), |(s, _)| s)
                    .to_owned();
                let rel = store.name("inspection", at, &stem, "jpg");
                let (w, h) = (img.width, img.height);
                let jpeg = match draw::jpeg(&render(&img, &inst, &names))
                    .map_err(anyhow::Error::from)
                    .and_then(|j| {
                        store
                            .write(&rel, &j)
                            .map(|()| j)
                            .map_err(anyhow::Error::from)
                    }) {
                    Ok(j) => j,
                    Err(e) => {
                        store.remove_all(&written);
                        return Err(e);
                    }
                };
                written.push(rel.clone());
                let mut order: Vec<&Instance> = inst.iter().collect();
                order.sort_by(|a, b| b.detection.confidence.total_cmp(&a.detection.confidence));
                let mut labels: Vec<String> = Vec::new();
                for i in &order {
                    let l = names.get(i.detection.class_id).cloned().unwrap_or_default();
                    if !labels.contains(&l) {
                        labels.push(l);
                    }
                }
                let dice = order
                    .first()
                    .map_or(0.0, |i| f64::from(i.detection.confidence));
                let row = inspection_record::ActiveModel {
                    name: Set(name.chars().take(255).collect()),
                    labels: Set(serde_json::json!(labels)),
                    label: Set(labels.first().cloned().unwrap_or_default()),
                    num: Set(inst.len() as i32),
                    dice: Set(dice),
                    processing_time: Set(secs),
                    model: Set(model.clone()),
                    width: Set(w as i32),
                    height: Set(h as i32),
                    result_path: Set(Some(rel.clone())),
                    created_at: Set(at),
                    ..Default::default()
                };
                out.push((row, jpeg, labels, rel));
            }
            Ok(out)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        let files: Vec<String> = prepared.iter().map(|p| p.3.clone()).collect();
        let db = self.db.clone();
        let stored = self
            .store
            .commit_or_remove(&files, async move {
                let txn = db.begin().await?;
                let mut out = Vec::with_capacity(prepared.len());
                for (mut row, jpeg, labels, _) in prepared {
                    row.account_id = Set(account_id);
                    out.push(Inspected {
                        record: row.insert(&txn).await?,
                        result_jpeg: jpeg,
                        labels,
                    });
                }
                txn.commit().await?;
                Ok::<_, sea_orm::DbErr>(out)
            })
            .await?;
        self.bus.publish(Event::InspectionCompleted {
            account_id,
            record_ids: stored.iter().map(|s| s.record.id).collect(),
        });
        Ok(stored)
    }
}
