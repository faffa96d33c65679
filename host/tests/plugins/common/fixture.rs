//! A small, real plugin shared by the loader-test fixtures: one CPU device and one
//! metric, `sum_abs_diff` (sum of |reference − distorted| over every 8-bit sample).

use qscore_core::{
    BackendFamily, DeviceInfo, DeviceKind, DeviceList, Error, FormatInfo, ImageView, MemoryMode,
    MetricCaps, NamedValue, PixelFormat, TaskSpec,
    sdk::{self, AnySession, Identity, Plugin, Session, Values},
};

pub struct Fixture {
    pub name: &'static str,
    pub panic_in_compare: bool,
}

impl Plugin for Fixture {
    fn identity(&self) -> Identity {
        Identity {
            name: self.name.into(),
            version: "0.0.1".into(),
            vendor: "qscore tests".into(),
            family: BackendFamily::OTHER,
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        if std::env::var("QSCORE_FIXTURE_PANIC").as_deref() == Ok("devices") {
            panic!("fixture told to panic in devices()");
        }
        Ok(DeviceList {
            devices: vec![DeviceInfo {
                id: 0,
                kind: DeviceKind::CPU,
                vendor: "test".into(),
                model: "fixture device".into(),
                driver_version: "".into(),
                total_memory: 1 << 30,
            }]
            .into(),
            note: "".into(),
        })
    }

    fn free_memory(&self, _device: u32) -> Result<u64, Error> {
        Ok(1 << 29)
    }

    fn capabilities(&self, _device: u32) -> Result<Vec<MetricCaps>, Error> {
        Ok(vec![MetricCaps {
            metric: "sum_abs_diff".into(),
            outputs: vec!["sum_abs_diff".into()].into(),
            formats: vec![PixelFormat::GRAY8, PixelFormat::RGB8].into(),
            modes: vec![MemoryMode::FULL].into(),
            reusable_reference: true,
            temporal_depth: 0,
            max_width: 1 << 14,
            max_height: 1 << 14,
        }])
    }

    fn predict_memory(&self, _device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        let info =
            FormatInfo::of(spec.format).ok_or_else(|| Error::Unsupported("format".into()))?;
        Ok(info.packed_size(spec.width, spec.height))
    }

    fn open_session(&self, _device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        if spec.metric.as_str() != "sum_abs_diff" {
            return Err(Error::Unsupported(format!("metric {}", spec.metric)));
        }
        Ok(sdk::boxed(SumAbsDiff {
            panic_in_compare: self.panic_in_compare,
        }))
    }
}

struct SumAbsDiff {
    panic_in_compare: bool,
}

fn bytes(image: &ImageView<'_>) -> Vec<u8> {
    let info = FormatInfo::of(image.format).expect("validated by the kit");
    let g = info.plane(0, image.width, image.height);
    (0..g.height)
        .flat_map(|y| image.planes[0].row(y, g.row_bytes()).iter().copied())
        .collect()
}

impl Session for SumAbsDiff {
    type Prepared = Vec<u8>;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Vec<u8>, Error> {
        Ok(bytes(reference))
    }

    fn compare(&mut self, prepared: &Vec<u8>, distorted: &ImageView<'_>) -> Result<Values, Error> {
        if self.panic_in_compare {
            panic!("fixture told to panic in compare()");
        }
        let sum: u64 = prepared
            .iter()
            .zip(bytes(distorted))
            .map(|(&a, b)| u64::from(a.abs_diff(b)))
            .sum();
        Ok(vec![NamedValue::new("sum_abs_diff", sum as f64)])
    }
}
