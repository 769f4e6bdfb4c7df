//! Auxiliary heads: binary classifiers on the same embedding as the sentiment head, for
//! signals that change what Earshot does with a mention (see [`earshot_domain::Signals`]).
//!
//! `scripts/build-model.sh` puts them in the model directory as `aux/hate.json` and
//! `aux/mixed.json`, taken unchanged from sentimentai-py 2.0.0's
//! `scoring/auxiliary/{hate,mixed}_e5-small.json` (MIT). Their format is a logistic
//! regression: `{"type": "logistic_binary", "dim", "coef": [dim], "intercept",
//! "recommended_threshold"}`; P = sigmoid(coef · embedding + intercept), flagged at the
//! recommended threshold. QUALITY.md has what they catch on Earshot's probe set.
//!
//! Both are optional: a model directory without them (a custom model, or one built before
//! they were added) classifies as before, with no signals.

use crate::SentimentError;
use earshot_domain::{Signal, Signals};
use serde::Deserialize;
use std::path::Path;

/// The hate head's file, relative to the model directory.
pub const HATE_FILE: &str = "aux/hate.json";
/// The mixed head's file, relative to the model directory.
pub const MIXED_FILE: &str = "aux/mixed.json";

/// One binary head as its file gives it.
#[derive(Debug, Deserialize)]
struct AuxFile {
    #[serde(rename = "type")]
    kind: String,
    dim: usize,
    coef: Vec<f32>,
    intercept: f32,
    recommended_threshold: f32,
}

/// A loaded binary head: a logistic regression on the embedding and its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct AuxHead {
    coef: Vec<f32>,
    intercept: f32,
    threshold: f32,
}

impl AuxHead {
    /// Parses a head file's text; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: AuxFile =
            serde_json::from_str(text).map_err(|e| format!("is not a head file ({e})"))?;
        if file.kind != "logistic_binary" {
            return Err(format!(
                "has type {:?}; only logistic_binary heads are supported",
                file.kind
            ));
        }
        if file.coef.len() != file.dim || file.dim == 0 {
            return Err(format!(
                "declares dim {} but has {} coefficients",
                file.dim,
                file.coef.len()
            ));
        }
        let finite = file.coef.iter().all(|c| c.is_finite()) && file.intercept.is_finite();
        if !finite || !(0.0..=1.0).contains(&file.recommended_threshold) {
            return Err("has a non-finite weight or a threshold outside 0..1".to_owned());
        }
        Ok(Self {
            coef: file.coef,
            intercept: file.intercept,
            threshold: file.recommended_threshold,
        })
    }

    /// The embedding size the head takes.
    pub fn dim(&self) -> usize {
        self.coef.len()
    }

    /// The head's verdict on one embedding; `None` when the embedding is not the size the
    /// head takes (a model without an embedding output gives an empty one).
    pub fn signal(&self, embedding: &[f32]) -> Option<Signal> {
        if embedding.len() != self.coef.len() {
            return None;
        }
        let z: f32 = self
            .coef
            .iter()
            .zip(embedding)
            .map(|(c, x)| c * x)
            .sum::<f32>()
            + self.intercept;
        let probability = 1.0 / (1.0 + (-z).exp());
        Some(Signal {
            probability,
            flagged: probability >= self.threshold,
        })
    }
}

/// The auxiliary heads found in a model directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuxHeads {
    /// Hateful or abusive language.
    pub hate: Option<AuxHead>,
    /// Mixed praise and complaint.
    pub mixed: Option<AuxHead>,
}

impl AuxHeads {
    /// Reads the heads in `model_dir`. A missing file means no such head; a file that is
    /// there but broken is an error naming it.
    pub fn load(model_dir: &Path) -> Result<Self, SentimentError> {
        Ok(Self {
            hate: load_one(&model_dir.join(HATE_FILE))?,
            mixed: load_one(&model_dir.join(MIXED_FILE))?,
        })
    }

    /// The heads' verdicts on one embedding.
    pub fn signals(&self, embedding: &[f32]) -> Signals {
        Signals {
            hate: self.hate.as_ref().and_then(|h| h.signal(embedding)),
            mixed: self.mixed.as_ref().and_then(|h| h.signal(embedding)),
        }
    }

    /// The names of the heads present, for the load log line.
    pub fn names(&self) -> Vec<&'static str> {
        [("hate", &self.hate), ("mixed", &self.mixed)]
            .into_iter()
            .filter(|(_, head)| head.is_some())
            .map(|(name, _)| name)
            .collect()
    }
}

fn load_one(path: &Path) -> Result<Option<AuxHead>, SentimentError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SentimentError::model_file(
                path,
                format!("cannot be read ({e})"),
            ))
        }
    };
    AuxHead::parse(&text)
        .map(Some)
        .map_err(|problem| SentimentError::model_file(path, problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(coef: &[f32], intercept: f32, threshold: f32) -> String {
        serde_json::json!({
            "type": "logistic_binary", "dim": coef.len(), "classes": ["no", "yes"],
            "coef": coef, "intercept": intercept, "recommended_threshold": threshold,
        })
        .to_string()
    }

    #[test]
    fn a_head_flags_at_its_recommended_threshold() {
        let h = AuxHead::parse(&head(&[2.0, 0.0], 0.0, 0.5)).unwrap();
        let yes = h.signal(&[1.0, 0.0]).unwrap();
        assert!((yes.probability - 0.880_797).abs() < 1e-5);
        assert!(yes.flagged);
        let no = h.signal(&[-1.0, 0.0]).unwrap();
        assert!(!no.flagged);
        assert_eq!(h.signal(&[1.0]), None, "wrong-sized embedding");
        assert_eq!(h.signal(&[]), None, "no embedding");
    }

    #[test]
    fn broken_head_files_say_what_is_wrong() {
        let err = AuxHead::parse(&head(&[1.0], 0.0, 1.5)).unwrap_err();
        assert!(err.contains("threshold"), "{err}");
        let err = AuxHead::parse(
            r#"{"type":"mlp","dim":1,"coef":[1],"intercept":0,"recommended_threshold":0.5}"#,
        )
        .unwrap_err();
        assert!(err.contains("logistic_binary"), "{err}");
        let err = AuxHead::parse(r#"{"type":"logistic_binary","dim":3,"coef":[1],"intercept":0,"recommended_threshold":0.5}"#)
            .unwrap_err();
        assert!(err.contains("dim 3"), "{err}");
        assert!(AuxHead::parse("not json").is_err());
    }

    #[test]
    fn a_model_directory_without_heads_has_no_signals() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("aux")).unwrap();
        let heads = AuxHeads::load(dir).unwrap();
        assert_eq!(heads.signals(&[0.5; 4]), Signals::default());
        std::fs::write(dir.join(HATE_FILE), head(&[1.0; 4], -1.0, 0.5)).unwrap();
        let heads = AuxHeads::load(dir).unwrap();
        assert_eq!(heads.names(), ["hate"]);
        assert!(heads.signals(&[0.5; 4]).hate.unwrap().flagged);
        std::fs::write(dir.join(MIXED_FILE), "{").unwrap();
        let err = AuxHeads::load(dir).unwrap_err().to_string();
        assert!(err.contains("mixed.json"), "{err}");
    }
}
