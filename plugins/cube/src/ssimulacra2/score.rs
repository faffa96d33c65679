//! From the per-scale sums of the maps to the SSIMULACRA2 score (host, `f64`).

use super::maps::SUMS;

/// libjxl's 108 weights, indexed `((channel * scales + scale) * 2 + norm) * 3 + map` with
/// channel X, Y, B; norm L1, L4; map SSIM, artifact, detail lost.
const WEIGHT: [f64; 108] = [
    0.0,
    0.000_737_660_670_740_658_6,
    0.0,
    0.0,
    0.000_779_348_168_286_730_9,
    0.0,
    0.0,
    0.000_437_115_573_010_737_9,
    0.0,
    1.104_172_642_665_734_6,
    0.000_662_848_341_292_71,
    0.000_152_316_327_837_187_52,
    0.0,
    0.001_640_643_745_659_975_4,
    0.0,
    1.842_245_552_053_929_8,
    11.441_172_603_757_666,
    0.0,
    0.000_798_910_943_601_516_3,
    0.000_176_816_438_078_653,
    0.0,
    1.878_759_497_954_638_7,
    10.949_069_906_051_42,
    0.0,
    0.000_728_934_699_150_807_2,
    0.967_793_708_062_683_3,
    0.0,
    0.000_140_034_242_854_358_84,
    0.998_176_697_785_496_7,
    0.000_319_497_559_344_350_53,
    0.000_455_099_211_379_206_3,
    0.0,
    0.0,
    0.001_364_876_616_324_339_8,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    7.466_890_328_078_848,
    0.0,
    17.445_833_984_131_262,
    0.000_623_560_163_404_146_6,
    0.0,
    0.0,
    6.683_678_146_179_332,
    0.000_377_244_079_796_112_96,
    1.027_889_937_768_264,
    225.205_153_008_492_74,
    0.0,
    0.0,
    19.213_238_186_143_016,
    0.001_140_152_458_661_836_1,
    0.001_237_755_635_509_985,
    176.393_175_984_506_94,
    0.0,
    0.0,
    24.433_009_998_704_76,
    0.285_208_026_121_177_57,
    0.000_448_543_692_383_340_8,
    0.0,
    0.0,
    0.0,
    34.779_063_444_837_72,
    44.835_625_328_877_896,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_868_055_657_329_169_8,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_531_319_187_435_874_7,
    0.0,
    0.000_165_338_141_613_791_12,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.000_417_917_180_325_133_6,
    0.001_729_082_823_472_283_3,
    0.0,
    0.002_082_700_584_663_643_7,
    0.0,
    0.0,
    8.826_982_764_996_862,
    23.192_433_439_989_26,
    0.0,
    95.108_049_881_108_6,
    0.986_397_803_440_068_2,
    0.983_438_279_246_535_3,
    0.001_228_640_504_827_849_3,
    171.266_725_589_730_7,
    0.980_785_887_243_537_9,
    0.0,
    0.0,
    0.0,
    0.000_513_006_458_899_067_9,
    0.0,
    0.000_108_540_578_584_115_37,
];

/// The sums of one scale over all its pixels, laid out as the kernel's partials
/// (`(channel * 3 + map) * 2 + norm`, norm 0 = Σd, 1 = Σd⁴).
pub(crate) type ScaleSums = [f64; SUMS];

/// The score from the sums of the scales that ran, with each scale's pixel count.
///
/// With fewer than six scales (small images) libjxl walks the weights channel by channel
/// over the scales present, so channel Y starts at weight `scales · 6`, not 36: kept here.
pub(crate) fn score(scales: &[(ScaleSums, usize)]) -> f64 {
    let mut sum = 0.0f64;
    let mut i = 0usize;
    for c in 0..3 {
        for (sums, pixels) in scales {
            let inv = 1.0 / *pixels as f64;
            for norm in 0..2 {
                for map in 0..3 {
                    let total = sums[(c * 3 + map) * 2 + norm];
                    let value = if norm == 0 {
                        inv * total
                    } else {
                        (inv * total).sqrt().sqrt()
                    };
                    sum += WEIGHT[i] * value.abs();
                    i += 1;
                }
            }
        }
    }
    transform(sum)
}

/// libjxl's final mapping of the weighted sum onto the 0..100 scale.
fn transform(weighted: f64) -> f64 {
    let s = weighted * 0.956_238_261_683_484_4;
    let s = 2.326_765_642_916_932 * s - 0.020_884_521_182_843_837 * s * s
        + 6.248_496_625_763_138e-05 * s * s * s;
    if s > 0.0 {
        100.0 - 10.0 * s.powf(0.627_633_646_783_138_7)
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_images_score_100() {
        let zero = ([0.0; SUMS], 64);
        assert_eq!(score(&[zero; 6]), 100.0);
    }

    #[test]
    fn weights_have_libjxl_zero_pattern() {
        assert_eq!(WEIGHT.iter().filter(|&&w| w == 0.0).count(), 56);
    }
}
