#!/usr/bin/env python3
"""Regenerates oracle_frames.json: per-frame VMAF scores printed by libvmaf 2.3.1.

libvmaf 2.3.1 is the external reference the Rust model code must match; this script only
records its output. Usage (see README.md beside it):

    make_oracle_frames.py ORACLE CLIP_DIR SHARED_VIDEO_DIR OUT_JSON

ORACLE is a small program linked against libvmaf 2.3.1 that, for a reference and a distorted
raw YUV clip, prints "frame<TAB>name<TAB>value" with every value at %.17g; "-m MODEL" loads a
built-in model by name (or a JSON model by path) with VMAF_MODEL_FLAGS_DEFAULT, and the name
"vmaf" prints vmaf_score_at_index() for that model. Test clips are made with ffmpeg in
CLIP_DIR. Besides the three built-in models, three variants of vmaf_v0.6.1 (score transform
enabled, piecewise-linear knots with out_lte_in, no normalisation) are written to CLIP_DIR
and loaded by path; the Rust test rebuilds the same variants in memory (see VARIANTS).
"""
import json
import os
import subprocess
import sys

ORACLE, CLIP_DIR, SHARED, OUT = sys.argv[1:5]
os.makedirs(CLIP_DIR, exist_ok=True)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def clip(name, *args):
    path = os.path.join(CLIP_DIR, name)
    if not os.path.exists(path):
        ffmpeg(*args, "-f", "rawvideo", path)
    return path


def encoded(name, src, w, h, pix, crf):
    """src encoded by x264 at crf, decoded back to raw."""
    mp4 = os.path.join(CLIP_DIR, name + ".mp4")
    if not os.path.exists(mp4):
        ffmpeg("-f", "rawvideo", "-pix_fmt", pix, "-s", f"{w}x{h}", "-i", src,
               "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), mp4)
    return clip(name + ".yuv", "-i", mp4, "-pix_fmt", pix)


def filtered(name, src, w, h, pix, vf):
    return clip(name, "-f", "rawvideo", "-pix_fmt", pix, "-s", f"{w}x{h}", "-i", src,
                "-vf", vf, "-pix_fmt", pix)


# (label, ref, dist, w, h, subsampling, bits)
CLIPS = []

# The shared 10-bit clip, against its distorted version and against itself.
s_ref = os.path.join(SHARED, "src01_hrc00_576x324.yuv420p10le.yuv")
s_dis = os.path.join(SHARED, "src01_hrc01_576x324.yuv420p10le.yuv")
CLIPS.append(("src01_hrc01", s_ref, s_dis, 576, 324, 420, 10))
CLIPS.append(("src01_identical", s_ref, s_ref, 576, 324, 420, 10))
s_crf51 = encoded("src01_crf51", s_ref, 576, 324, "yuv420p10le", 51)
CLIPS.append(("src01_x264_crf51", s_ref, s_crf51, 576, 324, 420, 10))

# testsrc2, 8-bit 4:2:0, x264 at three CRFs.
t_ref = clip("testsrc2_320x180.yuv", "-f", "lavfi", "-i",
             "testsrc2=size=320x180:rate=25", "-frames:v", "6", "-pix_fmt", "yuv420p")
for crf in (20, 35, 51):
    CLIPS.append((f"testsrc2_x264_crf{crf}", t_ref,
                  encoded(f"testsrc2_crf{crf}", t_ref, 320, 180, "yuv420p", crf),
                  320, 180, 420, 8))

# Odd size (4:4:4 so chroma planes need no rounding): blur, strong noise, negated.
o_ref = clip("testsrc2_331x197.yuv", "-f", "lavfi", "-i",
             "testsrc2=size=332x198:rate=25,format=yuv444p,scale=331:197", "-frames:v", "5", "-pix_fmt", "yuv444p")
CLIPS.append(("odd_blur", o_ref, filtered("odd_blur.yuv", o_ref, 331, 197, "yuv444p",
                                          "gblur=sigma=2.5"), 331, 197, 444, 8))
CLIPS.append(("odd_noise", o_ref, filtered("odd_noise.yuv", o_ref, 331, 197, "yuv444p",
                                           "noise=alls=80:allf=t"), 331, 197, 444, 8))
CLIPS.append(("odd_negate", o_ref, filtered("odd_negate.yuv", o_ref, 331, 197, "yuv444p",
                                            "negate"), 331, 197, 444, 8))

# A fast zoom (large motion), 10-bit, against a sharpened-contrast version.
m_ref = clip("mandelbrot_256x144.yuv", "-f", "lavfi", "-i",
             "mandelbrot=size=256x144:rate=25:end_scale=0.001", "-frames:v", "5",
             "-pix_fmt", "yuv420p10le")
CLIPS.append(("mandelbrot_contrast", m_ref,
              filtered("mandelbrot_contrast.yuv", m_ref, 256, 144, "yuv420p10le",
                       "lutyuv=y=val*1.3-60"), 256, 144, 420, 10))

# Flat colour frames: identical, and one flat grey against another.
f_ref = clip("flat_grey_128x96.yuv", "-f", "lavfi", "-i", "color=c=0x808080:size=128x96",
             "-frames:v", "3", "-pix_fmt", "yuv420p")
f_dis = clip("flat_dark_128x96.yuv", "-f", "lavfi", "-i", "color=c=0x303030:size=128x96",
             "-frames:v", "3", "-pix_fmt", "yuv420p")
CLIPS.append(("flat_identical", f_ref, f_ref, 128, 96, 420, 8))
CLIPS.append(("flat_vs_darker", f_ref, f_dis, 128, 96, 420, 8))
# Pattern against a flat frame.
fl_dis = clip("flat_320x180.yuv", "-f", "lavfi", "-i", "color=c=0x606060:size=320x180",
              "-frames:v", "6", "-pix_fmt", "yuv420p")
CLIPS.append(("testsrc2_vs_flat", t_ref, fl_dis, 320, 180, 420, 8))

DEFAULT_NAMES = ["VMAF_integer_feature_adm2_score", "VMAF_integer_feature_motion2_score",
                 "VMAF_integer_feature_vif_scale0_score", "VMAF_integer_feature_vif_scale1_score",
                 "VMAF_integer_feature_vif_scale2_score", "VMAF_integer_feature_vif_scale3_score"]
# vmaf_v0.6.1neg asks for gain limit 1.0: libvmaf stores those features under these names.
NEG_NAMES = ["integer_adm2_egl_1", "VMAF_integer_feature_motion2_score",
             "integer_vif_scale0_egl_1", "integer_vif_scale1_egl_1",
             "integer_vif_scale2_egl_1", "integer_vif_scale3_egl_1"]

MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def variant(name, edit):
    with open(os.path.join(MODEL_DIR, "vmaf_v0.6.1.json")) as f:
        model = json.load(f)
    edit(model["model_dict"])
    path = os.path.join(CLIP_DIR, name + ".json")
    with open(path, "w") as f:
        json.dump(model, f)
    return path


def transform_on(d):
    d["score_transform"]["enabled"] = True


def knots(d):
    # No "p0": null here: libvmaf 2.3.1 fails to load a model with a null p0/p1/p2.
    d["score_transform"] = {"enabled": True,
                            "knots": [[0.0, 0.0], [20.0, 10.0], [60.0, 70.0], [90.0, 90.0],
                                      [100.0, 100.0]],
                            "out_lte_in": "true"}


def norm_none(d):
    d["norm_type"] = "none"
    d["score_clip"] = [-1.0e9, 1.0e9]


# Keep in step with VARIANTS in plugins/cpu/src/vmaf_model/tests.rs.
VARIANTS = {"variant:transform": transform_on, "variant:knots": knots,
            "variant:norm_none": norm_none}

MODELS = [("vmaf_v0.6.1", "vmaf_v0.6.1", DEFAULT_NAMES),
          ("vmaf_v0.6.1neg", "vmaf_v0.6.1neg", NEG_NAMES),
          ("vmaf_4k_v0.6.1", "vmaf_4k_v0.6.1", DEFAULT_NAMES)]
MODELS += [(label, variant(label.split(":")[1], edit), DEFAULT_NAMES)
           for label, edit in VARIANTS.items()]

cases = []
for label, ref, dis, w, h, sub, bits in CLIPS:
    for model, arg, names in MODELS:
        out = subprocess.run([ORACLE, ref, dis, str(w), str(h), str(sub), str(bits),
                              "-m", arg, "--", "vmaf", *names],
                             check=True, capture_output=True, text=True).stdout
        frames = {}
        for line in out.splitlines():
            frame, name, value = line.split("\t")
            if value.startswith("ERR"):
                sys.exit(f"{label} {model}: {line}")
            frames.setdefault(int(frame), {})[name] = float(value)
        for frame in sorted(frames):
            v = frames[frame]
            cases.append({"clip": label, "model": model, "frame": frame,
                          "features": [v[n] for n in names], "vmaf": v["vmaf"]})

with open(OUT, "w") as f:
    f.write('{"oracle": "libvmaf 2.3.1, vmaf_score_at_index, VMAF_MODEL_FLAGS_DEFAULT",\n')
    f.write(' "cases": [\n')
    f.write(",\n".join("  " + json.dumps(c) for c in cases))
    f.write("\n]}\n")
print(f"{len(cases)} cases -> {OUT}", file=sys.stderr)
