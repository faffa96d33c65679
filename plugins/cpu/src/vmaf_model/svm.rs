//! The ν-SVR of a VMAF model: libsvm's model text, parsed into dense arrays, and its
//! decision function with an RBF kernel.

/// A regression SVM with an RBF kernel over `n` inputs.
#[derive(Debug, Clone)]
pub(super) struct Svm {
    /// Inputs per support vector.
    n: usize,
    /// `-gamma`: the kernel is `exp(-gamma * ‖x − sv‖²)`.
    neg_gamma: f64,
    rho: f64,
    /// One coefficient per support vector.
    coefs: Vec<f64>,
    /// The support vectors, `n` values each, in file order (inputs they omit are 0).
    vectors: Vec<f64>,
}

/// A problem in the model text, at a 1-based line of it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SvmError {
    pub(super) line: usize,
    pub(super) problem: String,
}

fn error<T>(line: usize, problem: impl Into<String>) -> Result<T, SvmError> {
    Err(SvmError {
        line,
        problem: problem.into(),
    })
}

/// A finite number as libsvm writes them.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The header's words, across lines, up to the word `SV`.
struct Words<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    line: usize,
    words: std::str::SplitAsciiWhitespace<'a>,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<(usize, &'a str)> {
        loop {
            if let Some(word) = self.words.next() {
                return Some((self.line, word));
            }
            let (i, line) = self.lines.next()?;
            self.line = i + 1;
            self.words = line.split_ascii_whitespace();
        }
    }

    /// The value after `key`, parsed.
    fn value<T: std::str::FromStr>(&mut self, key: &str, line: usize) -> Result<T, SvmError> {
        match self.next() {
            Some((l, word)) => word.parse().map_err(|_| SvmError {
                line: l,
                problem: format!("bad value {word:?} for {key}"),
            }),
            None => error(line, format!("no value after {key}")),
        }
    }

    fn number(&mut self, key: &str, line: usize) -> Result<f64, SvmError> {
        let v: f64 = self.value(key, line)?;
        if v.is_finite() {
            Ok(v)
        } else {
            error(line, format!("{key} is not finite"))
        }
    }
}

impl Svm {
    /// Parses libsvm's model text for a model of `n` inputs: the header, then `total_sv`
    /// lines `coef idx:val ...` with 1-based input indices in increasing order.
    ///
    /// # Panics
    /// If `n` is 0 (a model has at least one input).
    pub(super) fn parse(text: &str, n: usize) -> Result<Self, SvmError> {
        assert!(n > 0, "an SVM needs inputs");
        let mut words = Words {
            lines: text.lines().enumerate(),
            line: 0,
            words: "".split_ascii_whitespace(),
        };
        let mut svm_type = None;
        let mut kernel = None;
        let mut gamma = None;
        let mut nr_class = None;
        let mut total_sv = None;
        let mut rho = None;
        let sv_line = loop {
            let Some((line, word)) = words.next() else {
                return error(words.line.max(1), "no `SV` line before the support vectors");
            };
            match word {
                "SV" => break line,
                "svm_type" => svm_type = Some((line, words.value::<String>(word, line)?)),
                "kernel_type" => kernel = Some((line, words.value::<String>(word, line)?)),
                "gamma" => gamma = Some(words.number(word, line)?),
                "degree" => {
                    words.value::<i32>(word, line)?;
                }
                "coef0" => {
                    words.number(word, line)?;
                }
                "nr_class" => nr_class = Some((line, words.value::<usize>(word, line)?)),
                "total_sv" => total_sv = Some(words.value::<usize>(word, line)?),
                // One value for a regression model (nr_class 2).
                "rho" => rho = Some(words.number(word, line)?),
                // Classification and probability data: parsed, unused by a regression.
                "label" | "nr_sv" => {
                    for _ in 0..2 {
                        words.value::<i64>(word, line)?;
                    }
                }
                "probA" | "probB" => {
                    words.number(word, line)?;
                }
                _ => return error(line, format!("unknown header word {word:?}")),
            }
        };
        match svm_type {
            None => return error(sv_line, "no svm_type in the header"),
            // libsvm evaluates ε-SVR exactly like ν-SVR.
            Some((_, t)) if t == "nu_svr" || t == "epsilon_svr" => {}
            Some((line, t)) => {
                return error(
                    line,
                    format!("svm_type {t:?} is not supported (only nu_svr)"),
                );
            }
        }
        match kernel {
            None => return error(sv_line, "no kernel_type in the header"),
            Some((_, k)) if k == "rbf" => {}
            Some((line, k)) => {
                return error(
                    line,
                    format!("kernel_type {k:?} is not supported (only rbf)"),
                );
            }
        }
        match nr_class {
            None | Some((_, 2)) => {}
            Some((line, c)) => {
                return error(line, format!("nr_class {c}: a regression model has 2"));
            }
        }
        let Some(gamma) = gamma else {
            return error(sv_line, "no gamma in the header");
        };
        let Some(rho) = rho else {
            return error(sv_line, "no rho in the header");
        };
        let Some(total_sv) = total_sv else {
            return error(sv_line, "no total_sv in the header");
        };
        if words.words.next().is_some() {
            return error(sv_line, "text after `SV` on its line");
        }

        let mut coefs = Vec::with_capacity(total_sv);
        let mut vectors = vec![0.0; total_sv * n];
        let mut lines = words.lines;
        for (k, sv) in vectors.chunks_exact_mut(n).take(total_sv).enumerate() {
            let Some((i, text)) = lines.next() else {
                return error(
                    sv_line + k,
                    format!("the text ends after {k} of total_sv {total_sv} support vectors"),
                );
            };
            let line = i + 1;
            let mut items = text.split_ascii_whitespace();
            let Some(coef) = items.next().and_then(number) else {
                return error(line, format!("expected a support vector, found {text:?}"));
            };
            coefs.push(coef);
            let mut last = 0;
            for item in items {
                let parsed = item.split_once(':').and_then(|(index, value)| {
                    Some((index.parse::<usize>().ok()?, number(value)?))
                });
                let Some((index, value)) = parsed else {
                    return error(line, format!("bad support vector entry {item:?}"));
                };
                if index == 0 || index > n {
                    return error(
                        line,
                        format!("input index {index} out of range (the model has {n} features)"),
                    );
                }
                if index <= last {
                    return error(line, format!("input index {index} after index {last}"));
                }
                last = index;
                sv[index - 1] = value;
            }
        }
        if let Some((i, _)) = lines.find(|(_, l)| !l.trim().is_empty()) {
            return error(
                i + 1,
                format!("more support vectors than total_sv {total_sv}"),
            );
        }
        Ok(Self {
            n,
            neg_gamma: -gamma,
            rho,
            coefs,
            vectors,
        })
    }

    /// libsvm's decision value for regression, `Σ coef_k · exp(-gamma · ‖x − sv_k‖²) − rho`,
    /// with the same operations in the same order as libsvm's `svm_predict_values` and RBF
    /// `k_function` (the distance as a sum of squared differences over the inputs in order).
    pub(super) fn predict(&self, x: &[f64]) -> f64 {
        debug_assert_eq!(x.len(), self.n);
        let mut sum = 0.0;
        for (&coef, sv) in self.coefs.iter().zip(self.vectors.chunks_exact(self.n)) {
            let mut distance = 0.0;
            for (&a, &b) in x.iter().zip(sv) {
                let d = a - b;
                distance += d * d;
            }
            sum += coef * (self.neg_gamma * distance).exp();
        }
        sum - self.rho
    }

    #[cfg(test)]
    pub(super) fn support_vectors(&self) -> usize {
        self.coefs.len()
    }
}
