//! GraphQL types of the inspection group.

use async_graphql::{Object, SimpleObject};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use chrono::{DateTime, Utc};

use crate::{
    db::entities::inspection_record,
    domain::{
        channels::stored_types,
        inspection::{
            ai::Analysis,
            inspect::Inspected,
            records::{DayStat, local_date_time},
        },
    },
};

/// A stored inspection record (the data service's entity).
pub struct InspectionRecord {
    row: inspection_record::Model,
    date: String,
    time: String,
}

impl InspectionRecord {
    /// A record with its local date and time in `tz`.
    pub fn new(row: inspection_record::Model, tz: chrono_tz::Tz) -> Self {
        let (date, time) = local_date_time(row.created_at, tz);
        Self { date, time, row }
    }
}

#[Object]
impl InspectionRecord {
    /// Record id (the document's `figId`).
    async fn fig_id(&self) -> i32 {
        self.row.id
    }
    /// Uploaded file name.
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Local date (`inspection.timezone`), `YYYY-MM-DD`.
    async fn date(&self) -> &str {
        &self.date
    }
    /// Local time, `HH:MM:SS`.
    async fn time(&self) -> &str {
        &self.time
    }
    /// The best instance's class (`""` when none).
    async fn label(&self) -> &str {
        &self.row.label
    }
    /// Distinct classes found, best first.
    async fn labels(&self) -> Vec<String> {
        stored_types(&self.row.labels)
    }
    /// Defects (instances) found.
    async fn num(&self) -> i32 {
        self.row.num
    }
    /// Best confidence, 0–1 (0 when none).
    async fn dice(&self) -> f64 {
        self.row.dice
    }
    /// Inference time of this image, seconds.
    async fn processing_time(&self) -> f64 {
        self.row.processing_time
    }
    /// The model that inspected it.
    async fn model(&self) -> &str {
        &self.row.model
    }
    /// Image width × height, pixels.
    async fn image_size(&self) -> Vec<i32> {
        vec![self.row.width, self.row.height]
    }
    /// URL of the result image (`/outputs/inspection/…`, credentials needed).
    async fn result_url(&self) -> Option<String> {
        self.row.result_path.as_deref().map(|p| format!("/{p}"))
    }
    /// When it was inspected (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

/// One inspected image of a batch (the document's answer of `POST /api/detect`).
pub struct InspectionResult {
    inner: Inspected,
    record: InspectionRecord,
}

impl InspectionResult {
    /// A result with its record's local times.
    pub fn new(inner: Inspected, tz: chrono_tz::Tz) -> Self {
        Self {
            record: InspectionRecord::new(inner.record.clone(), tz),
            inner,
        }
    }
}

#[Object]
impl InspectionResult {
    /// Defects (instances) found.
    async fn defect_count(&self) -> i32 {
        self.inner.record.num
    }
    /// The best instance's confidence, 0–1 (the document's "classification confidence"; 0
    /// when none).
    async fn dice(&self) -> f64 {
        self.inner.record.dice
    }
    /// Distinct classes found, best first.
    async fn labels(&self) -> &[String] {
        &self.inner.labels
    }
    /// Uploaded file name.
    async fn name(&self) -> &str {
        &self.inner.record.name
    }
    /// Inference time of this image, seconds.
    async fn processing_time(&self) -> f64 {
        self.inner.record.processing_time
    }
    /// The image with masks and boxes drawn: base64 of a JPEG.
    async fn result_image(&self) -> String {
        B64.encode(&self.inner.result_jpeg)
    }
    /// The stored record.
    async fn record(&self) -> &InspectionRecord {
        &self.record
    }
}

/// One local day of `inspectionStats`.
#[derive(SimpleObject)]
pub struct InspectionDay {
    /// `YYYY-MM-DD`.
    pub stat_date: String,
    /// Records inspected that day.
    pub record_count: u64,
    /// Defects found that day.
    pub total_num: u64,
}

impl From<DayStat> for InspectionDay {
    fn from(d: DayStat) -> Self {
        Self {
            stat_date: d.date.to_string(),
            record_count: d.record_count,
            total_num: d.total_num,
        }
    }
}

/// The chat model's analysis of recent records.
#[derive(SimpleObject)]
pub struct InspectionAnalysis {
    /// The model's text.
    pub analysis: String,
    /// The model that answered.
    pub model: String,
    /// Records analysed.
    pub records: u64,
}

impl From<Analysis> for InspectionAnalysis {
    fn from(a: Analysis) -> Self {
        Self {
            analysis: a.text,
            model: a.model,
            records: a.records as u64,
        }
    }
}
