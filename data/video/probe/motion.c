/* Prints libvmaf's integer motion and motion2 of a raw planar YUV clip per frame, at full
 * precision: the source of ../motion_libvmaf_v2.3.1.json and ../motion_libvmaf_v3.2.0.json.
 *
 * Build libvmaf (v2.3.1 or v3.2.0) from source with meson, static:
 *   git -C <vmaf.git> archive v3.2.0 libvmaf model | tar -x -C /tmp/vmaf32
 *   meson setup /tmp/vmaf32-build /tmp/vmaf32/libvmaf --buildtype release \
 *     -Ddefault_library=static -Denable_tests=false -Denable_docs=false
 *   ninja -C /tmp/vmaf32-build
 * then: cc -O1 motion.c -I<libvmaf>/include -I<build>/include <build>/src/libvmaf.a \
 *    -lm -lpthread -lstdc++
 * and run it on a clip (the reference of each scored pair):
 *   ./motion CLIP [CPUMASK [WIDTH HEIGHT BITS FRAMES [CHROMA]]]
 * The defaults are those of the clips in ../: 576x324, 10 bits, 3 frames, 4:2:0. CHROMA is 420,
 * 422 or 444 (odd sizes round the chroma planes up, as ffmpeg writes them); samples of more
 * than 8 bits are 16-bit little-endian words. CPUMASK is libvmaf's
 * cpumask (0 lets it use AVX2 and AVX-512, 16 turns off AVX-512, 255 turns off both; the
 * values are the same). Only the reference clip is read: motion does not look at the distorted
 * one. The extractor's `debug` option is set so that libvmaf v3.2.0, where it defaults to off,
 * still writes VMAF_integer_feature_motion_score (v2.3.1's default is on; it changes no value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvmaf/libvmaf.h>

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    const char *path = argv[1];
    int cpumask = argc > 2 ? atoi(argv[2]) : 0;
    unsigned w = 576, h = 324, bits = 10, frames = 3, chroma = 420;
    if (argc > 6) {
        w = atoi(argv[3]);
        h = atoi(argv[4]);
        bits = atoi(argv[5]);
        frames = atoi(argv[6]);
    }
    if (argc > 7) chroma = atoi(argv[7]);
    enum VmafPixelFormat fmt = chroma == 444 ? VMAF_PIX_FMT_YUV444P
                             : chroma == 422 ? VMAF_PIX_FMT_YUV422P
                             : VMAF_PIX_FMT_YUV420P;
    unsigned bytes = bits > 8 ? 2 : 1;
    unsigned chroma_w = chroma == 444 ? w : (w + 1) / 2;
    unsigned chroma_h = chroma == 420 ? (h + 1) / 2 : h;
    VmafConfiguration cfg = { .log_level = VMAF_LOG_LEVEL_NONE, .n_threads = 0, .n_subsample = 1, .cpumask = cpumask };
    VmafContext *vmaf;
    if (vmaf_init(&vmaf, cfg)) return 1;
    VmafFeatureDictionary *opts = NULL;
    if (vmaf_feature_dictionary_set(&opts, "debug", "true")) return 2;
    if (vmaf_use_feature(vmaf, "motion", opts)) return 2;
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    for (unsigned i = 0; i < frames; i++) {
        /* Motion reads only the reference; the distorted picture is a copy of it. */
        VmafPicture ref, dist;
        vmaf_picture_alloc(&ref, fmt, bits, w, h);
        vmaf_picture_alloc(&dist, fmt, bits, w, h);
        for (unsigned y = 0; y < h; y++) {
            if (fread((char *)ref.data[0] + y * ref.stride[0], bytes, w, f) != w) return 3;
            memcpy((char *)dist.data[0] + y * dist.stride[0], (char *)ref.data[0] + y * ref.stride[0], w * bytes);
        }
        /* Motion reads only luma: skip the file's chroma planes, whose sizes round up as
         * ffmpeg's do (libvmaf's pictures round odd sizes down), and leave libvmaf's blank. */
        for (int p = 1; p < 3; p++)
            for (unsigned y = 0; y < ref.h[p]; y++) {
                memset((char *)ref.data[p] + y * ref.stride[p], 0, ref.w[p] * bytes);
                memset((char *)dist.data[p] + y * dist.stride[p], 0, dist.w[p] * bytes);
            }
        if (fseek(f, (long)(2 * chroma_w * chroma_h * bytes), SEEK_CUR)) return 3;
        if (vmaf_read_pictures(vmaf, &ref, &dist, i)) return 4;
    }
    if (vmaf_read_pictures(vmaf, NULL, NULL, 0)) return 5;
    for (unsigned i = 0; i < frames; i++) {
        double m = -1, m2 = -1;
        vmaf_feature_score_at_index(vmaf, "VMAF_integer_feature_motion_score", &m, i);
        vmaf_feature_score_at_index(vmaf, "VMAF_integer_feature_motion2_score", &m2, i);
        printf("%u %.17g %.17g\n", i, m, m2);
    }
    vmaf_close(vmaf);
    return 0;
}
